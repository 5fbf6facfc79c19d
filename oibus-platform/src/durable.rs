//! Writes that survive a power cut: a file's bytes, its name in its folder, a rename.
//!
//! Linux needs the folder itself synced for a new or renamed entry to be durable. Windows has no
//! such call: NTFS journals its folder entries, and a rename is made durable by asking for it
//! (`MOVEFILE_WRITE_THROUGH`); syncing a file there needs a handle opened for writing.

use std::{fs::File, io, path::Path};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Makes the entries of folder `dir` (files created, renamed or removed in it) durable. A no-op
/// where the file system journals them itself (Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    imp::sync_dir(dir)
}

/// Makes the bytes and size of the file at `path` durable, opening it for writing (the one way
/// that works everywhere: Windows refuses to flush a read-only handle).
pub fn sync_file(path: &Path) -> io::Result<()> {
    File::options().write(true).open(path)?.sync_all()
}

/// Makes the bytes of every file of `files` durable at once, for files written in the file
/// system of folder `dir`: on Linux one `syncfs` of that file system, which flushes what every
/// process wrote there (a batch of small files costs one flush instead of one per file); on
/// other systems each file's own flush.
pub fn sync_files_in(dir: &Path, files: &[&File]) -> io::Result<()> {
    imp::sync_files_in(dir, files)
}

/// Renames `from` to `to` (replacing `to`), durably: once it returns, a crash leaves `to` with
/// the new content.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    imp::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_synced_and_renamed_durably_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, target) = (dir.path().join("a.tmp"), dir.path().join("a"));
        std::fs::write(&target, b"old").unwrap();
        std::fs::write(&tmp, b"new").unwrap();
        sync_file(&tmp).unwrap();
        rename(&tmp, &target).unwrap();
        sync_dir(dir.path()).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(!tmp.exists());
    }

    #[test]
    fn files_synced_together_keep_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<File> = (0..3)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                std::fs::write(&path, [i as u8; 10]).unwrap();
                File::options().write(true).open(path).unwrap()
            })
            .collect();
        let refs: Vec<&File> = files.iter().collect();
        sync_files_in(dir.path(), &refs).unwrap();
        assert!(sync_files_in(&dir.path().join("missing"), &refs).is_err());
        assert_eq!(std::fs::read(dir.path().join("f2")).unwrap(), [2u8; 10]);
    }

    #[test]
    fn a_missing_file_or_folder_is_an_error_naming_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sync_file(&dir.path().join("missing")).is_err());
        assert!(rename(&dir.path().join("missing"), &dir.path().join("b")).is_err());
    }
}
