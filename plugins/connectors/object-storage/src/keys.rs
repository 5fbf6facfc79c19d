//! Object names: a file keeps its own name; a batch of values is named after its first instant
//! and a hash of its content, so that sending the same batch again writes the same object.

use oibus_plugin_api::prelude::*;
use sha2::{Digest, Sha256};

/// S3 and Azure both take names of at most 1,024 bytes.
pub const MAX_NAME_BYTES: usize = 1024;

fn checked(name: String, what: &str) -> Result<String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(PluginError::permanent(format!(
            "{what}: the object name would be {} bytes, more than the {MAX_NAME_BYTES} object stores take",
            name.len()
        )));
    }
    Ok(name)
}

/// The object of file `file_name`.
pub fn file_object(prefix: &str, file_name: &str) -> Result<String> {
    checked(format!("{prefix}{file_name}"), &format!("file {file_name}"))
}

/// The object of a batch of values whose encoding is `content`, the first of them measured at
/// `first`; `extension` is `json` or `csv`.
pub fn values_object(
    prefix: &str,
    first: Timestamp,
    content: &[u8],
    extension: &str,
) -> Result<String> {
    let at = first.to_datetime();
    let hash = hex::encode(&Sha256::digest(content)[..8]);
    checked(
        format!(
            "{prefix}values/{}/{}-{hash}.{extension}",
            at.format("%Y/%m/%d"),
            at.format("%Y%m%dT%H%M%S%.3fZ")
        ),
        "values",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_has_one_name_whatever_the_number_of_sends() {
        let t = Timestamp::parse("2026-12-05T10:11:12.345Z").unwrap();
        let a = values_object("plant1/", t, b"[1]", "json").unwrap();
        assert_eq!(a, values_object("plant1/", t, b"[1]", "json").unwrap());
        assert!(
            a.starts_with("plant1/values/2026/12/05/20261205T101112.345Z-"),
            "{a}"
        );
        assert_ne!(a, values_object("plant1/", t, b"[2]", "json").unwrap());
    }

    #[test]
    fn names_over_1024_bytes_are_refused_for_good() {
        let e = file_object(&"p/".repeat(600), "a.csv").unwrap_err();
        assert_eq!(e.kind, oibus_plugin_api::ErrorKind::PERMANENT);
        assert!(e.message.contains("file a.csv"), "{}", e.message);
    }
}
