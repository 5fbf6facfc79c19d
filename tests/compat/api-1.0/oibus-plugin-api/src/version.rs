//! The plugin-API version and the rule that decides whether a plugin loads in a host.
//!
//! A plugin built against API version `P` loads in a host providing `H` when
//! `H.major == P.major` and `H.minor >= P.minor`. The patch level never matters. abi_stable's own
//! layout check runs on top of this rule.
//!
//! What makes the rule true: within a major version, a minor only appends. New connector
//! capabilities are appended to [`FfiConnector`](crate::ffi::FfiConnector) with a default body
//! that answers `not-supported`, new host context functions to [`FfiHost`](crate::ffi::FfiHost),
//! new library functions to [`PluginModule`](crate::ffi::PluginModule) as optional fields, and
//! new manifest entries are optional JSON. A host calls a newer capability only on a connector type
//! whose manifest lists it; a plugin built for an older minor never sees the newer functions.
//! Nothing is removed, reordered or retyped before the next major version.

use semver::Version;

/// The version of this API crate, captured at compile time. A plugin records the value it was
/// built against (through [`export_plugin!`](crate::export_plugin)); the host compares it with its own.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The rule, in words, for error messages and documentation.
pub const COMPATIBILITY_RULE: &str =
    "a plugin built for API P loads in host H when H.major == P.major and H.minor >= P.minor";

/// Why a plugin's declared API version is refused by a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatibility {
    /// The two major versions differ.
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
    if host.major != plugin.major {
        return Err(Incompatibility::Breaking {
            host: host.clone(),
            plugin: plugin.clone(),
        });
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
    }

    #[test]
    fn patch_never_matters() {
        assert!(ok("1.2.0", "1.2.9"));
        assert!(ok("1.2.9", "1.2.0"));
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
    fn plugins_of_the_0_x_previews_never_load() {
        assert!(matches!(
            check_compatibility(&v("1.1.0"), &v("0.1.0")),
            Err(Incompatibility::Breaking { .. })
        ));
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
