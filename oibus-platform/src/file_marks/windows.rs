//! Windows: attributes and creation time as marks; no identity.

use std::{fs::Metadata, os::windows::fs::MetadataExt as _};

pub fn identity(_meta: &Metadata) -> Option<String> {
    None
}

pub fn change_marks(meta: &Metadata) -> (u32, i64, i64) {
    (
        meta.file_attributes(),
        meta.creation_time() as i64,
        meta.last_write_time() as i64,
    )
}
