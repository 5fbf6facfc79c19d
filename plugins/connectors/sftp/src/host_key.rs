//! Which host key the server must show: the fingerprint of the settings, or the one remembered
//! from the first connection (trust on first use, as OpenSSH's `known_hosts`).

use oibus_plugin_api::{PluginError, Result, tracing};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// The expected host key of one server.
pub struct HostKeys {
    /// The fingerprint the settings give, if any.
    configured: Option<String>,
    /// `<state>/known-host`: `host:port fingerprint`, one line.
    file: PathBuf,
    server: String,
}

/// Where the expected key came from, for the message of a refusal.
pub enum Expected {
    /// Nothing known yet: the first key shown is trusted and remembered.
    Anything,
    /// This fingerprint, from the settings or remembered.
    Fingerprint(String, &'static str),
}

impl HostKeys {
    /// The host keys of `server` (`host:port`), remembered in `state_dir`.
    pub fn new(configured: Option<String>, state_dir: &Path, server: String) -> Self {
        Self {
            configured: configured.map(|f| f.trim_end_matches('=').to_string()),
            file: state_dir.join("known-host"),
            server,
        }
    }

    /// The key the server must show now.
    pub fn expected(&self) -> Result<Expected> {
        if let Some(f) = &self.configured {
            return Ok(Expected::Fingerprint(f.clone(), "host_key_fingerprint"));
        }
        let text = match fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Expected::Anything),
            Err(e) => {
                return Err(PluginError::transient(format!(
                    "cannot read {}: {e}",
                    self.file.display()
                )));
            }
        };
        // A record of another server (the settings changed) does not apply.
        Ok(text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(server, _)| *server == self.server)
            .map_or(Expected::Anything, |(_, f)| {
                Expected::Fingerprint(f.trim().to_string(), "the key remembered")
            }))
    }

    /// Remembers `fingerprint` as the server's key, when the settings give none.
    pub fn remember(&self, fingerprint: &str) -> Result<()> {
        if self.configured.is_some() {
            return Ok(());
        }
        let line = format!("{} {fingerprint}\n", self.server);
        oibus_plugin_api::sdk::state::save(&self.file, line.as_bytes())?;
        tracing::info!(
            "host key of {} ({fingerprint}) trusted on first use and remembered in {}",
            self.server,
            self.file.display()
        );
        Ok(())
    }

    /// The file the key is remembered in.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_remembered_per_server_and_the_settings_win() {
        let dir = tempfile::tempdir().unwrap();
        let keys = HostKeys::new(None, dir.path(), "h:22".into());
        assert!(matches!(keys.expected().unwrap(), Expected::Anything));
        keys.remember("SHA256:abc").unwrap();
        assert!(
            matches!(keys.expected().unwrap(), Expected::Fingerprint(f, _) if f == "SHA256:abc")
        );
        let other = HostKeys::new(None, dir.path(), "h:2222".into());
        assert!(matches!(other.expected().unwrap(), Expected::Anything));
        let set = HostKeys::new(Some("SHA256:xyz=".into()), dir.path(), "h:22".into());
        assert!(matches!(set.expected().unwrap(),
            Expected::Fingerprint(f, "host_key_fingerprint") if f == "SHA256:xyz"));
    }
}
