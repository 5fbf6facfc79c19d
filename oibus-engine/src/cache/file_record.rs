//! A file in a North's cache, and how its row is stored in the [`Store`](super::store::Store).
//!
//! A file copied beside the store has a row of plain JSON (the form since the first release).
//! A small file is kept inside the store itself, so that it is made durable by the store's
//! group commit, with no file of its own to create, fsync and delete: its row is [`INLINE`],
//! the length of a JSON header, the header, then the file's bytes.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A file waiting in a North's cache.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    /// The original file name.
    pub name: String,
    /// The engine's own copy (empty for a file kept inside the store).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The South that produced it.
    pub south: String,
    /// Kept inside the store rather than beside it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
}

/// The start of the row of a file kept inside the store (a JSON row starts with `{`).
const INLINE: &[u8; 6] = b"OIBF1\n";

/// The row of a file copied beside the store.
pub fn encode(record: &FileRecord) -> Vec<u8> {
    serde_json::to_vec(record).expect("a FileRecord always serializes")
}

/// The row of a file kept inside the store, with its bytes.
pub fn encode_inline(record: &FileRecord, content: &[u8]) -> Vec<u8> {
    let header = encode(record);
    let mut row = Vec::with_capacity(INLINE.len() + 4 + header.len() + content.len());
    row.extend_from_slice(INLINE);
    row.extend_from_slice(&(header.len() as u32).to_le_bytes());
    row.extend_from_slice(&header);
    row.extend_from_slice(content);
    row
}

/// The header of a row and, for a file kept inside the store, where its bytes start.
fn split(row: &[u8]) -> Result<(&[u8], Option<usize>), String> {
    let Some(rest) = row.strip_prefix(INLINE) else {
        return Ok((row, None));
    };
    let len = rest
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("the row is cut short")?;
    let start = INLINE.len() + 4;
    let header = row
        .get(start..start + len)
        .ok_or("the row is cut short in its header")?;
    Ok((header, Some(start + len)))
}

/// The record of a row (either form).
pub fn decode(row: &[u8]) -> Result<FileRecord, String> {
    let (header, _) = split(row)?;
    serde_json::from_slice(header).map_err(|e| format!("the row is not a file record: {e}"))
}

/// The bytes of a file kept inside the store; `None` for a row of a file beside it.
pub fn content(row: &[u8]) -> Result<Option<&[u8]>, String> {
    let (_, start) = split(row)?;
    Ok(start.map(|s| &row[s..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(inline: bool) -> FileRecord {
        FileRecord {
            name: "report.csv".into(),
            path: if inline {
                PathBuf::new()
            } else {
                "/cache/0/report.csv".into()
            },
            size: 4,
            south: "scanner".into(),
            inline,
        }
    }

    #[test]
    fn both_forms_read_back() {
        let beside = encode(&record(false));
        assert!(beside.starts_with(b"{"), "the form of earlier releases");
        assert_eq!(decode(&beside).unwrap(), record(false));
        assert_eq!(content(&beside).unwrap(), None);
        let inside = encode_inline(&record(true), b"a,b\n");
        assert_eq!(decode(&inside).unwrap(), record(true));
        assert_eq!(content(&inside).unwrap(), Some(&b"a,b\n"[..]));
    }

    #[test]
    fn a_row_of_an_earlier_release_reads_as_beside_the_store() {
        let old = br#"{"name":"a.bin","path":"/c/0/a.bin","size":1,"south":"s"}"#;
        let r = decode(old).unwrap();
        assert!(!r.inline);
        assert_eq!(r.path, PathBuf::from("/c/0/a.bin"));
    }

    #[test]
    fn a_cut_row_is_an_error_not_a_panic() {
        let inside = encode_inline(&record(true), b"abcd");
        for len in [7, 9, 12] {
            assert!(decode(&inside[..len]).is_err(), "cut at {len}");
        }
        assert!(decode(b"garbage").is_err());
    }
}
