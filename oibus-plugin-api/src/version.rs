//! The plugin-API version and the rule that decides whether a plugin loads in a host.
//!
//! A plugin built against API version `P` loads in a host providing `H` when
//! `H.major == P.major` and `H.minor >= P.minor`; while the API is `0.x`, the minors must be equal.
//! The patch level never matters. abi_stable's own layout check runs on top of this rule.

use semver::Version;

/// The version of this API crate, captured at compile time. A plugin records the value it was
/// built against (through [`export_plugin!`](crate::export_plugin)); the host compares it with its own.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The rule, in words, for error messages and documentation.
pub const COMPATIBILITY_RULE: &str = "a plugin built for API P loads in host H when H.major == P.major and H.minor >= P.minor (for 0.x: equal minor)";

/// Why a plugin's declared API version is refused by a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatibility {
    /// The two major versions differ (or, for 0.x, the minors differ).
    #[error("plugin was built for API {plugin}, host provides API {host}: {COMPATIBILITY_RULE}")]
    Breaking {
        /// The host's API version.
        host: Version,
        /// The plugin's API version.
        plugin: Version,
    },
    /// The plugin needs a newer API minor than the host provides.
    #[error(
        "plugin needs API {plugin}, newer than the host's API {host}: upgrade the engine ({COMPATIBILITY_RULE})"
    )]
    TooNew {
        /// The host's API version.
        host: Version,
        /// The plugin's API version.
        plugin: Version,
    },
}

/// Checks the compatibility rule of this module.
pub fn check_compatibility(host: &Version, plugin: &Version) -> Result<(), Incompatibility> {
    let breaking = || Incompatibility::Breaking {
        host: host.clone(),
        plugin: plugin.clone(),
    };
    if host.major != plugin.major {
        return Err(breaking());
    }
    if host.major == 0 {
        if host.minor != plugin.minor {
            return Err(if plugin.minor > host.minor {
                Incompatibility::TooNew {
                    host: host.clone(),
                    plugin: plugin.clone(),
                }
            } else {
                breaking()
            });
        }
        return Ok(());
    }
    if plugin.minor > host.minor {
        return Err(Incompatibility::TooNew {
            host: host.clone(),
            plugin: plugin.clone(),
        });
    }
    Ok(())
}

/// The host's own API version, parsed.
pub fn host_api_version() -> Version {
    // API_VERSION comes from Cargo, which only accepts valid semver.
    Version::parse(API_VERSION).unwrap_or_else(|_| Version::new(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn ok(h: &str, p: &str) -> bool {
        check_compatibility(&v(h), &v(p)).is_ok()
    }

    #[test]
    fn same_version_loads() {
        assert!(ok("1.2.3", "1.2.3"));
        assert!(ok("0.1.0", "0.1.0"));
    }

    #[test]
    fn patch_never_matters() {
        assert!(ok("1.2.0", "1.2.9"));
        assert!(ok("1.2.9", "1.2.0"));
        assert!(ok("0.3.0", "0.3.7"));
        assert!(ok("0.3.7", "0.3.0"));
    }

    #[test]
    fn older_minor_loads_in_newer_host_after_1_0() {
        assert!(ok("1.5.0", "1.4.99"));
        assert!(ok("1.5.0", "1.0.0"));
    }

    #[test]
    fn newer_minor_is_refused_as_too_new() {
        let e = check_compatibility(&v("1.4.0"), &v("1.5.0")).unwrap_err();
        assert!(matches!(e, Incompatibility::TooNew { .. }));
        assert!(e.to_string().contains("1.5.0") && e.to_string().contains("1.4.0"));
    }

    #[test]
    fn zero_x_needs_equal_minor() {
        assert!(!ok("0.2.0", "0.1.0"));
        let e = check_compatibility(&v("0.1.0"), &v("0.2.0")).unwrap_err();
        assert!(matches!(e, Incompatibility::TooNew { .. }));
        let e = check_compatibility(&v("0.2.0"), &v("0.1.0")).unwrap_err();
        assert!(matches!(e, Incompatibility::Breaking { .. }));
    }

    #[test]
    fn major_mismatch_is_breaking() {
        assert!(matches!(
            check_compatibility(&v("2.0.0"), &v("1.9.0")),
            Err(Incompatibility::Breaking { .. })
        ));
        assert!(matches!(
            check_compatibility(&v("1.9.0"), &v("2.0.0")),
            Err(Incompatibility::Breaking { .. })
        ));
        assert!(!ok("1.0.0", "0.9.0"));
        assert!(!ok("0.9.0", "1.0.0"));
    }

    #[test]
    fn host_version_is_this_crate() {
        assert_eq!(host_api_version().to_string(), API_VERSION);
    }
}
