//! The first thing the engine reads from a library: is it an oibus plugin, and for which API?

/// Magic bytes that identify an oibus plugin declaration.
pub const PLUGIN_MAGIC: [u8; 16] = *b"oibus-rs-plugin\0";

/// Name of the exported static holding the [`PluginDeclaration`].
pub const DECLARATION_SYMBOL: &str = "oibus_plugin_declaration";

/// A plain `#[repr(C)]` declaration, readable without abi_stable, so that a plugin built for an
/// incompatible API is refused by the engine's own rule with a clear message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginDeclaration {
    /// Always [`PLUGIN_MAGIC`].
    pub magic: [u8; 16],
    /// Layout version of this struct (1).
    pub declaration_version: u32,
    /// API major version the plugin was built against.
    pub api_major: u32,
    /// API minor version the plugin was built against.
    pub api_minor: u32,
    /// API patch version the plugin was built against.
    pub api_patch: u32,
}

impl PluginDeclaration {
    /// The declaration of a plugin built against `api_version` (`"MAJOR.MINOR.PATCH"`).
    pub const fn for_api(api_version: &str) -> Self {
        let v = parse_version(api_version.as_bytes());
        Self {
            magic: PLUGIN_MAGIC,
            declaration_version: 1,
            api_major: v[0],
            api_minor: v[1],
            api_patch: v[2],
        }
    }

    /// The declared API version as semver.
    pub fn api_version(&self) -> semver::Version {
        semver::Version::new(
            self.api_major.into(),
            self.api_minor.into(),
            self.api_patch.into(),
        )
    }
}

/// Parses `MAJOR.MINOR.PATCH[-pre]` at compile time; stops at the first non-digit after PATCH.
const fn parse_version(b: &[u8]) -> [u32; 3] {
    let mut out = [0u32; 3];
    let mut part = 0;
    let mut i = 0;
    while i < b.len() && part < 3 {
        let c = b[i];
        if c == b'.' {
            part += 1;
        } else if c.is_ascii_digit() {
            out[part] = out[part] * 10 + (c - b'0') as u32;
        } else {
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_at_compile_time() {
        const D: PluginDeclaration = PluginDeclaration::for_api("12.3.45-beta.1");
        assert_eq!((D.api_major, D.api_minor, D.api_patch), (12, 3, 45));
        assert_eq!(D.magic, PLUGIN_MAGIC);
        let d = PluginDeclaration::for_api(crate::API_VERSION);
        assert_eq!(d.api_version(), crate::version::host_api_version());
    }
}
