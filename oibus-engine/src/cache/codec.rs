//! The binary form of a batch of values in the cache.
//!
//! `u32 count`, then per value: `u16 point-id length`, the point id (UTF-8), `i64` timestamp (ns),
//! `u8` tag and payload (0 null, 1 bool `u8`, 2 int `i64`, 3 float `f64`, 4 text `u32 len` +
//! UTF-8), `u8` quality. Little-endian. The serde form of a value is OIBus's JSON shape (ISO-8601
//! text timestamps), far too slow for a cache that takes a million values per second.

use oibus_plugin_api::{DataValue, OibusValue, Quality, Timestamp};

/// Encodes a batch.
pub fn encode(values: &[OibusValue]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + values.len() * 40);
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        let id = v.point_id.as_bytes();
        let id = &id[..id.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(id.len() as u16).to_le_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&v.timestamp.as_nanos().to_le_bytes());
        match &v.value {
            DataValue::Null => out.push(0),
            DataValue::Bool(b) => {
                out.push(1);
                out.push(u8::from(*b));
            }
            DataValue::Int(i) => {
                out.push(2);
                out.extend_from_slice(&i.to_le_bytes());
            }
            DataValue::Float(f) => {
                out.push(3);
                out.extend_from_slice(&f.to_le_bytes());
            }
            DataValue::Text(t) => {
                out.push(4);
                out.extend_from_slice(&(t.len() as u32).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
        }
        out.push(match v.quality {
            Quality::Good => 0,
            Quality::Uncertain => 1,
            Quality::Bad => 2,
        });
    }
    out
}

/// The number of values in an encoded batch (0 if it is too short to say).
pub fn count(bytes: &[u8]) -> usize {
    bytes
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("record ends early".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn text(&mut self, n: usize) -> Result<&'a str, String> {
        std::str::from_utf8(self.take(n)?).map_err(|e| e.to_string())
    }
}

/// Decodes a batch; an error says the record is corrupt.
pub fn decode(bytes: &[u8]) -> Result<Vec<OibusValue>, String> {
    let mut r = Reader(bytes);
    let n = u32::from_le_bytes(r.array()?) as usize;
    let mut values = Vec::with_capacity(n.min(bytes.len() / 12));
    for _ in 0..n {
        let id_len = u16::from_le_bytes(r.array()?) as usize;
        let point_id = r.text(id_len)?;
        let timestamp = Timestamp::from_nanos(i64::from_le_bytes(r.array()?));
        let value = match r.array::<1>()?[0] {
            0 => DataValue::Null,
            1 => DataValue::Bool(r.array::<1>()?[0] != 0),
            2 => DataValue::Int(i64::from_le_bytes(r.array()?)),
            3 => DataValue::Float(f64::from_le_bytes(r.array()?)),
            4 => {
                let len = u32::from_le_bytes(r.array()?) as usize;
                DataValue::Text(r.text(len)?.into())
            }
            t => return Err(format!("unknown value tag {t}")),
        };
        let quality = match r.array::<1>()?[0] {
            0 => Quality::Good,
            1 => Quality::Uncertain,
            _ => Quality::Bad,
        };
        values.push(OibusValue {
            point_id: point_id.into(),
            timestamp,
            value,
            quality,
        });
    }
    if !r.0.is_empty() {
        return Err(format!("{} bytes after the last value", r.0.len()));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_type() {
        let values = vec![
            OibusValue::new("a", Timestamp::from_nanos(-5), DataValue::Null),
            OibusValue::new("b", Timestamp::from_nanos(1), true).with_quality(Quality::Bad),
            OibusValue::new("c", Timestamp::from_millis(7), i64::MIN),
            OibusValue::new("d", Timestamp::from_millis(8), 1.5e300)
                .with_quality(Quality::Uncertain),
            OibusValue::new("é", Timestamp::now(), "texte"),
        ];
        let bytes = encode(&values);
        assert_eq!(count(&bytes), 5);
        assert_eq!(decode(&bytes).unwrap(), values);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corruption_is_an_error_not_a_panic() {
        let bytes = encode(&[OibusValue::new("a", Timestamp::now(), "xyz")]);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
    }
}
