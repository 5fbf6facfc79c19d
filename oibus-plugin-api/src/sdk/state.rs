//! Files a connector keeps in its state folder ([`Context::state_dir`](super::Context::state_dir)):
//! cursors, records of what was sent, remembered keys.

use crate::{PluginError, Result};
use std::{fs, io::Write, path::Path};

/// Replaces the file `path` with `bytes` so that, whenever the process or the machine stops,
/// the file holds either its old content or the new one, never a mix: the bytes go to a
/// temporary file beside it (`<path>.tmp`), which is flushed to disk and renamed over `path`.
/// Missing folders are created. The error names the file.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let state_dir = dir.path();
/// use oibus_plugin_api::sdk::state;
/// let cursor = state_dir.join("cursor.json");
/// state::save(&cursor, br#"{"newest": "2026-12-05T10:00:00Z"}"#)?;
/// assert_eq!(std::fs::read(&cursor).unwrap(), br#"{"newest": "2026-12-05T10:00:00Z"}"#);
/// # Ok::<(), oibus_plugin_api::PluginError>(())
/// ```
pub fn save(path: &Path, bytes: &[u8]) -> Result<()> {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = Path::new(&tmp_name);
        let mut f = fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(tmp, path)
    };
    write().map_err(|e| PluginError::transient(format!("cannot save {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_is_replaced_whole_and_its_folder_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/state.json");
        save(&path, b"one").unwrap();
        save(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!dir.path().join("a/b/state.json.tmp").exists());
        let blocked = dir.path().join("a/b/state.json/inside");
        let e = save(&blocked, b"x").unwrap_err();
        assert!(e.message().contains("cannot save"), "{e}");
    }
}
