//! Unix: inode numbers and change times.

use std::{fs::Metadata, os::unix::fs::MetadataExt as _};

pub fn identity(meta: &Metadata) -> Option<String> {
    Some(format!(
        "{:x}-{:x}-{:x}-{:x}.{:x}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

pub fn change_marks(meta: &Metadata) -> (u32, i64, i64) {
    (meta.mode(), meta.ctime(), meta.ctime_nsec())
}
