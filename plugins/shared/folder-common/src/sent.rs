//! The record of preserved files already sent, kept in the connector's state folder.

use crate::listing::FileStamp;
use oibus_plugin_api::{PluginError, Result, serde_json};
use std::{
    collections::HashMap,
    fs,
    io::Write,
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

    /// Writes the record if it changed (temporary file, fsync, rename).
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let fail = |e: std::io::Error| {
            PluginError::transient(format!("cannot save {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut f = fs::File::create(&tmp).map_err(fail)?;
        f.write_all(&serde_json::to_vec(&self.sent)?)
            .map_err(fail)?;
        f.sync_all().map_err(fail)?;
        fs::rename(&tmp, &self.path).map_err(fail)?;
        self.dirty = false;
        Ok(())
    }
}
