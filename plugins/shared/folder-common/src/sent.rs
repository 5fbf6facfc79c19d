//! The record of preserved files already sent, kept in the connector's state folder.

use crate::listing::FileStamp;
use oibus_plugin_api::{PluginError, Result, serde_json};
use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

/// File name → stamp of the version sent. Saved as JSON, atomically.
pub struct SentFiles {
    path: PathBuf,
    sent: HashMap<String, (i64, u64)>,
    dirty: bool,
}

impl SentFiles {
    /// Loads the record from `state_dir` (empty if there is none yet).
    pub fn load(state_dir: &Path) -> Result<Self> {
        let path = state_dir.join("sent-files.json");
        let sent = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                PluginError::permanent(format!("{} is corrupt: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                return Err(PluginError::transient(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Self {
            path,
            sent,
            dirty: false,
        })
    }

    /// Whether this version of `name` was already sent.
    pub fn already_sent(&self, name: &str, stamp: FileStamp, ignore_modified_date: bool) -> bool {
        match self.sent.get(name) {
            None => false,
            Some(_) if ignore_modified_date => true,
            Some(&(modified, size)) => modified == stamp.modified && size == stamp.size,
        }
    }

    /// Remembers that this version of `name` was sent.
    pub fn record(&mut self, name: &str, stamp: FileStamp) {
        self.sent
            .insert(name.to_string(), (stamp.modified, stamp.size));
        self.dirty = true;
    }

    /// Writes the record if it changed, replacing the file whole.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.sent)?;
        oibus_plugin_api::sdk::state::save(&self.path, &bytes)?;
        self.dirty = false;
        Ok(())
    }
}
