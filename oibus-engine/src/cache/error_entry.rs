//! An error-store entry: what was set aside (a batch of values in the codec's form, or a file's
//! row) with when and why, in one record, so that the error store says why each entry is there.
//! Entries written by earlier versions have no header: they read with no reason.

use super::file_record::FileRecord;
use oibus_plugin_api::Timestamp;

/// A batch of values in the error store.
#[derive(Debug, Clone)]
pub struct ErrorBatch {
    /// Its key.
    pub key: u64,
    /// Values in it.
    pub count: usize,
    /// Bytes it takes in the store.
    pub bytes: u64,
    /// Its first distinct point ids (at most five).
    pub points: Vec<String>,
    /// When and why it was set aside (`None` for an entry of an earlier version).
    pub why: Option<SetAside>,
}

/// A file in the error store.
#[derive(Debug, Clone)]
pub struct ErrorFile {
    /// Its key.
    pub key: u64,
    /// Its row.
    pub record: FileRecord,
    /// When and why it was set aside.
    pub why: Option<SetAside>,
}

/// What is in the error stores.
pub type ErrorEntries = (Vec<ErrorBatch>, Vec<ErrorFile>);

/// The start of an entry with a header. An older entry cannot start so: a batch starts with its
/// count of values (never 2³² − 1), a file's row with `{` or its inline marker.
const MAGIC: &[u8; 16] = b"\xff\xff\xff\xffoibus-error\x01";

/// Longest reason kept (bytes of UTF-8); a longer one is cut at a character boundary.
pub const MAX_REASON: usize = 2000;

/// When and why an entry was set aside.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    /// When.
    pub at: Timestamp,
    /// Why: the destination's refusal, or the last error of the retries.
    pub reason: String,
}

impl SetAside {
    /// Set aside now, for `reason` (bounded to [`MAX_REASON`]).
    pub fn now(reason: &str) -> Self {
        let mut end = reason.len().min(MAX_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            at: Timestamp::now(),
            reason: reason[..end].to_string(),
        }
    }
}

/// `record` with its header.
pub fn wrap(why: &SetAside, record: &[u8]) -> Vec<u8> {
    let reason = why.reason.as_bytes();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + reason.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&why.at.as_nanos().to_le_bytes());
    out.extend_from_slice(&(reason.len() as u32).to_le_bytes());
    out.extend_from_slice(reason);
    out.extend_from_slice(record);
    out
}

/// The header of an entry, if it has one, and the record it wraps.
pub fn unwrap(entry: &[u8]) -> (Option<SetAside>, &[u8]) {
    let Some(rest) = entry.strip_prefix(MAGIC.as_slice()) else {
        return (None, entry);
    };
    let header = (|| {
        let at = i64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(rest.get(8..12)?.try_into().ok()?) as usize;
        let reason = std::str::from_utf8(rest.get(12..12 + len)?).ok()?;
        Some((
            SetAside {
                at: Timestamp::from_nanos(at),
                reason: reason.to_string(),
            },
            12 + len,
        ))
    })();
    match header {
        Some((why, used)) => (Some(why), &rest[used..]),
        // A damaged header: the record is unreadable as such; given whole, its reader says so.
        None => (None, entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_its_reason_and_an_old_one_reads_without() {
        let why = SetAside::now("point \"a\": 1.5 is not a Boolean");
        let entry = wrap(&why, b"record");
        assert_eq!(unwrap(&entry), (Some(why), &b"record"[..]));
        assert_eq!(
            unwrap(b"\x02\x00\x00\x00old batch"),
            (None, &b"\x02\x00\x00\x00old batch"[..])
        );
        assert_eq!(unwrap(b"{\"name\":\"f\"}").0, None);
    }

    #[test]
    fn reasons_are_bounded_at_a_character_boundary() {
        let long = "é".repeat(MAX_REASON);
        let why = SetAside::now(&long);
        assert!(why.reason.len() <= MAX_REASON && why.reason.len() >= MAX_REASON - 1);
        assert!(why.reason.chars().all(|c| c == 'é'));
    }

    #[test]
    fn a_damaged_header_gives_the_entry_whole() {
        let mut entry = wrap(&SetAside::now("x"), b"r");
        entry.truncate(MAGIC.len() + 5);
        assert_eq!(unwrap(&entry).0, None);
    }
}
