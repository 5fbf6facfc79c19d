//! What tells one version of a file from another without reading it.
//!
//! Linux: device, inode, size and change time (which no one can set back), and the mode (a
//! `chmod` that makes a refused file readable changes it). Windows: no identity that cannot be
//! forged without reading unstable APIs, so none (the file is hashed instead); attributes and
//! times as the change marks.

use std::fs::Metadata;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// An identity of this version of the file, for an index of work already done on it; `None`
/// where the platform gives none to trust.
pub fn identity(meta: &Metadata) -> Option<String> {
    imp::identity(meta)
}

/// Marks that change when the file's permissions or metadata change, beyond its size and
/// modification time.
pub fn change_marks(meta: &Metadata) -> (u32, i64, i64) {
    imp::change_marks(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_file_has_other_marks_or_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let before = std::fs::metadata(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"second").unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(identity(&before).is_some(), cfg!(unix));
        if cfg!(unix) {
            assert_ne!(identity(&before), identity(&after));
        }
        assert_eq!(
            change_marks(&after),
            change_marks(&std::fs::metadata(&path).unwrap())
        );
    }
}
