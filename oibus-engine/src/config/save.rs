//! Saving a changed configuration: the items files of the Souths whose items changed first, then
//! the configuration file, each written whole (temporary file, fsync, rename), keeping the text
//! and comments of everything that did not change.

use super::{edit::rewrite, items_file, load::items_file_path, types::Config};
use std::path::{Path, PathBuf};

/// A configuration that could not be saved, with the file at fault.
#[derive(Debug, thiserror::Error)]
#[error("cannot save {}: {message}", file.display())]
pub struct SaveError {
    /// The file that could not be written.
    pub file: PathBuf,
    /// Why.
    pub message: String,
}

/// Saves `new`, read from `file` as `old`: its changed items files, then `file` itself.
/// `variables` are those expanded in `new` (`${data_dir}`…), so that the text that uses them is
/// kept.
pub fn save(
    file: &Path,
    old: &Config,
    new: &Config,
    variables: &[(&str, String)],
) -> Result<(), SaveError> {
    save_items_files(file, old, new)?;
    let failed = |message: String| SaveError {
        file: file.to_path_buf(),
        message,
    };
    let old_text = std::fs::read_to_string(file).unwrap_or_default();
    let text = rewrite(&old_text, new, variables).map_err(|e| failed(e.to_string()))?;
    crate::whole_file::write(file, text.as_bytes(), "toml.tmp").map_err(|e| failed(e.to_string()))
}

/// Writes the items files of the Souths whose items changed (before the configuration that
/// names them).
fn save_items_files(file: &Path, old: &Config, new: &Config) -> Result<(), SaveError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    for s in &new.south {
        let Some(items_file) = &s.items_file else {
            continue;
        };
        let before = old.south.iter().find(|o| o.id == s.id);
        if before.is_some_and(|o| o.items_file == s.items_file && o.items == s.items) {
            continue;
        }
        let path = items_file_path(dir, items_file);
        items_file::write(&path, &s.items).map_err(|e| SaveError {
            file: path.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}
