//! The data folder and where each thing lives in it.

use std::path::PathBuf;

/// Where the engine keeps its state.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// The cache store file.
    pub fn store(&self) -> PathBuf {
        self.0.join("cache.redb")
    }
    /// The versions forced by the operator (`oibus plugins force`), kept across restarts.
    pub fn plugin_choices(&self) -> PathBuf {
        self.0.join("plugin-choices.json")
    }
    /// Trusted public keys of plugin signers (`*.pub`, minisign's format).
    pub fn trusted_keys(&self) -> PathBuf {
        self.0.join("trusted-keys")
    }
    /// Shadow copies of plugins.
    pub fn plugin_cache(&self) -> PathBuf {
        self.0.join("plugin-cache")
    }
    /// The default plugins folder.
    pub fn plugins(&self) -> PathBuf {
        self.0.join("plugins")
    }
    /// A connector's private folder.
    pub fn connector_state(&self, id: &str) -> PathBuf {
        self.0.join("connectors").join(id)
    }
    /// The folders plugins share between their connectors (`ctx.plugin_dir()`), one per plugin.
    pub fn plugins_data(&self) -> PathBuf {
        self.0.join("plugin-data")
    }
    /// A North's cached files.
    pub fn north_files(&self, id: &str) -> PathBuf {
        self.0.join("cache").join(id)
    }
    /// The status document.
    pub fn status(&self) -> PathBuf {
        self.0.join("status.json")
    }
}
