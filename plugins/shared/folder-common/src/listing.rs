//! A file as a folder lists it, and the stamp that tells one version of it from another.

use oibus_plugin_api::{PluginError, Result};
use std::{fs::Metadata, time::UNIX_EPOCH};

/// The longest file name taken (bytes): the limit of common file systems.
pub const MAX_NAME_LEN: usize = 255;

/// What identifies one version of a file: modification time and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    /// Modification time, nanoseconds since the epoch (0 when the folder does not tell).
    pub modified: i64,
    /// Size in bytes.
    pub size: u64,
}

impl FileStamp {
    /// The stamp of a local file.
    pub fn of(meta: &Metadata) -> Self {
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Self {
            modified,
            size: meta.len(),
        }
    }
}

/// A regular file of a folder's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The file's name in its folder.
    pub name: String,
    /// Size and modification time.
    pub stamp: FileStamp,
    /// How coarse the modification time is, in nanoseconds: 0 for a local file, a second for
    /// SFTP, a minute for the `Mon dd hh:mm` of an FTP listing. The file may have been modified
    /// up to this long after `stamp.modified`.
    pub precision: i64,
}

impl Listed {
    /// A listed file. Its name is as the folder gives it: [`crate::Selector`] checks it.
    pub fn new(name: String, stamp: FileStamp, precision: i64) -> Self {
        Self {
            name,
            stamp,
            precision,
        }
    }

    /// The latest instant the file may have been modified, in nanoseconds since the epoch.
    pub fn latest_modification(&self) -> i64 {
        self.stamp.modified.saturating_add(self.precision)
    }
}

/// Checks that `name` is one plain file name, safe to create in a local folder: a server
/// controls it, and a name such as `../x` or `a/b` would write the download outside its folder.
pub fn check_name(name: &str) -> Result<()> {
    let refuse = |why: &str| {
        let shown: String = name.chars().take(80).collect();
        Err(PluginError::permanent(format!(
            "file name {shown:?} refused: {why}"
        )))
    };
    if name.is_empty() || name == "." || name == ".." {
        return refuse("not a file name");
    }
    if name.len() > MAX_NAME_LEN {
        return refuse("longer than 255 bytes");
    }
    if name.contains(['/', '\\', '\0']) {
        return refuse("it holds a path separator or a NUL");
    }
    if name.chars().any(char::is_control) {
        return refuse("it holds a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_the_folder_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
        ] {
            let e = check_name(bad).unwrap_err().to_string();
            assert!(e.contains("refused"), "{bad:?}: {e}");
        }
        assert!(check_name(&"x".repeat(256)).is_err());
        for good in ["a.csv", "..a", "a..b", "é t.txt", &"x".repeat(255)] {
            check_name(good).unwrap();
        }
    }

    #[test]
    fn the_latest_modification_allows_for_the_precision() {
        let f = Listed::new(
            "a".into(),
            FileStamp {
                modified: 60_000_000_000,
                size: 1,
            },
            60_000_000_000,
        );
        assert_eq!(f.latest_modification(), 120_000_000_000);
    }
}
