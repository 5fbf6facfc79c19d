//! What a plugin file looked like when it was last looked at: a changed stamp means look again.

use std::{path::Path, time::SystemTime};

#[derive(Clone, PartialEq)]
pub struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// Mode and change time: a `chmod` that makes a refused file readable changes them.
    pub changed: (u32, i64, i64),
}

pub fn stamp(path: &Path) -> Option<Stamp> {
    // A link to nothing is stamped by the link itself, so that it is reported once.
    let meta = std::fs::metadata(path)
        .or_else(|_| std::fs::symlink_metadata(path))
        .ok()?;
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt as _;
        (meta.mode(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = (0, 0, 0);
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        changed,
    })
}
