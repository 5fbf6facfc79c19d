//! The first thing the engine reads from a library: is it an oibus plugin, which one, and for
//! which API?

/// Magic bytes that identify an oibus plugin declaration.
pub const PLUGIN_MAGIC: [u8; 16] = *b"oibus-rs-plugin\0";

/// Name of the exported static holding the [`PluginDeclaration`].
pub const DECLARATION_SYMBOL: &str = "oibus_plugin_declaration";

/// Room for the plugin id and version in a declaration (NUL-padded; longer text is cut).
pub const DECLARATION_TEXT_LEN: usize = 64;

/// A plain `#[repr(C)]` declaration, readable without abi_stable and without running any plugin
/// code, so that a plugin built for an incompatible API is refused by the engine's own rule with
/// a message naming the plugin and both versions.
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
    /// The plugin id (the plugin crate's package name), NUL-padded.
    pub plugin_id: [u8; DECLARATION_TEXT_LEN],
    /// The plugin version (the plugin crate's version), NUL-padded.
    pub plugin_version: [u8; DECLARATION_TEXT_LEN],
}

impl PluginDeclaration {
    /// The declaration of plugin `plugin_id` at `plugin_version`, built against `api_version`
    /// (`"MAJOR.MINOR.PATCH"`). Evaluated at compile time by
    /// [`export_plugin!`](crate::export_plugin).
    pub const fn new(api_version: &str, plugin_id: &str, plugin_version: &str) -> Self {
        let v = parse_version(api_version.as_bytes());
        Self {
            magic: PLUGIN_MAGIC,
            declaration_version: 1,
            api_major: v[0],
            api_minor: v[1],
            api_patch: v[2],
            plugin_id: padded(plugin_id.as_bytes()),
            plugin_version: padded(plugin_version.as_bytes()),
        }
    }

    /// The same declaration with the API minor raised by one and the patch reset: what a plugin
    /// built against the next API minor declares. For test fixtures.
    pub const fn next_minor(self) -> Self {
        Self {
            api_minor: self.api_minor + 1,
            api_patch: 0,
            ..self
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

    /// The plugin id.
    pub fn plugin_id(&self) -> String {
        unpadded(&self.plugin_id)
    }

    /// The plugin version.
    pub fn plugin_version(&self) -> String {
        unpadded(&self.plugin_version)
    }
}

const fn padded(text: &[u8]) -> [u8; DECLARATION_TEXT_LEN] {
    let mut out = [0u8; DECLARATION_TEXT_LEN];
    let mut i = 0;
    while i < text.len() && i < DECLARATION_TEXT_LEN {
        out[i] = text[i];
        i += 1;
    }
    out
}

fn unpadded(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
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
        const D: PluginDeclaration = PluginDeclaration::new("12.3.45-beta.1", "acme", "2.0.1");
        assert_eq!((D.api_major, D.api_minor, D.api_patch), (12, 3, 45));
        assert_eq!(D.magic, PLUGIN_MAGIC);
        assert_eq!(D.plugin_id(), "acme");
        assert_eq!(D.plugin_version(), "2.0.1");
        let d = PluginDeclaration::new(crate::version::API_VERSION, "x", "1.0.0");
        assert_eq!(d.api_version(), crate::version::host_api_version());
        assert_eq!(d.next_minor().api_minor, d.api_minor + 1);
    }

    #[test]
    fn long_ids_are_cut_not_overflowed() {
        let long = "a".repeat(100);
        let d = PluginDeclaration::new("1.0.0", &long, "1.0.0");
        assert_eq!(d.plugin_id().len(), DECLARATION_TEXT_LEN);
    }
}
