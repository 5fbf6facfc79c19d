//! A log entry's bytes: `u8 version (1)`, `i64` instant it was appended (ms since the Unix
//! epoch, little-endian), then the batch in the cache's [`codec`](crate::cache::codec) form.

/// The header's length.
pub const HEADER: usize = 9;
const VERSION: u8 = 1;

/// An entry appended at `at_ms` holding `batch` (already encoded).
pub fn encode(at_ms: i64, batch: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + batch.len());
    out.push(VERSION);
    out.extend_from_slice(&at_ms.to_le_bytes());
    out.extend_from_slice(batch);
    out
}

/// Changes the instant of an entry made by [`encode`].
pub fn set_at(entry: &mut [u8], at_ms: i64) {
    if let Some(at) = entry.get_mut(1..HEADER) {
        at.copy_from_slice(&at_ms.to_le_bytes());
    }
}

/// The instant and the encoded batch of an entry.
pub fn split(entry: &[u8]) -> Result<(i64, &[u8]), String> {
    match entry.split_first() {
        Some((&VERSION, rest)) if rest.len() >= HEADER - 1 => {
            let (at, batch) = rest.split_at(HEADER - 1);
            let mut ms = [0u8; 8];
            ms.copy_from_slice(at);
            Ok((i64::from_le_bytes(ms), batch))
        }
        Some((&VERSION, _)) => Err("log entry ends in its header".into()),
        Some((v, _)) => Err(format!(
            "log entry of version {v}, this engine reads version {VERSION}"
        )),
        None => Err("empty log entry".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_its_instant_and_batch_and_bad_ones_are_named() {
        let e = encode(-5, b"abc");
        assert_eq!(split(&e).unwrap(), (-5, &b"abc"[..]));
        assert_eq!(split(&encode(7, b"")).unwrap(), (7, &b""[..]));
        let mut e = encode(1, b"x");
        set_at(&mut e, 42);
        assert_eq!(split(&e).unwrap(), (42, &b"x"[..]));
        assert!(split(&[]).unwrap_err().contains("empty"));
        assert!(split(&[1, 2]).unwrap_err().contains("header"));
        assert!(split(&[9; 20]).unwrap_err().contains("version 9"));
    }
}
