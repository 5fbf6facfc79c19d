//! What a plugin file looked like when it was last looked at: a changed stamp means look again.

use std::{path::Path, time::SystemTime};

#[derive(Clone, PartialEq)]
pub struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// Mode and change time: a `chmod` that makes a refused file readable changes them
    /// ([`oibus_platform::file_marks::change_marks`]).
    pub changed: (u32, i64, i64),
}

pub fn stamp(path: &Path) -> Option<Stamp> {
    // A link to nothing is stamped by the link itself, so that it is reported once.
    let meta = std::fs::metadata(path)
        .or_else(|_| std::fs::symlink_metadata(path))
        .ok()?;
    let changed = oibus_platform::file_marks::change_marks(&meta);
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        changed,
    })
}
