//! From the PLC's bytes (big-endian) to values.
//!
//! ```
//! use oibus_south_s7::{DataType, decode::{DataValue, value}};
//! assert_eq!(value(DataType::Int, &[0xFF, 0xF9], None, 254), Ok(DataValue::Int(-7)));
//! assert_eq!(value(DataType::Bool, &[0b1000], Some(3), 254), Ok(DataValue::Bool(true)));
//! ```

use crate::settings::DataType;
use chrono::{Days, NaiveDate, NaiveTime};
/// The values decoding gives (the plugin API's).
pub use oibus_plugin_api::DataValue;

/// Decodes `bytes` (exactly the type's width) as `data_type`; `bit` is the bit of a `bool`,
/// `length` the declared length of a STRING or WSTRING.
pub fn value(
    data_type: DataType,
    bytes: &[u8],
    bit: Option<u8>,
    length: u16,
) -> Result<DataValue, String> {
    let width = data_type.width(length) as usize;
    if bytes.len() != width {
        return Err(format!(
            "{width} bytes expected for {data_type:?}, {} read",
            bytes.len()
        ));
    }
    let b = bytes;
    let be2 = || [b[0], b[1]];
    let be4 = || [b[0], b[1], b[2], b[3]];
    let be8 = || [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
    Ok(match data_type {
        DataType::Bool => DataValue::Bool((b[0] >> bit.unwrap_or(0)) & 1 == 1),
        DataType::Byte | DataType::Usint => DataValue::Int(i64::from(b[0])),
        DataType::Sint => DataValue::Int(i64::from(b[0] as i8)),
        DataType::Word | DataType::Uint => DataValue::Int(i64::from(u16::from_be_bytes(be2()))),
        DataType::Int => DataValue::Int(i64::from(i16::from_be_bytes(be2()))),
        DataType::Dword | DataType::Udint => DataValue::Int(i64::from(u32::from_be_bytes(be4()))),
        DataType::Dint | DataType::Time => DataValue::Int(i64::from(i32::from_be_bytes(be4()))),
        DataType::Lint => DataValue::Int(i64::from_be_bytes(be8())),
        DataType::Lword | DataType::Ulint => {
            let v = u64::from_be_bytes(be8());
            match i64::try_from(v) {
                Ok(v) => DataValue::Int(v),
                // Past i64: exact as text rather than rounded as a float.
                Err(_) => DataValue::Text(v.to_string().into()),
            }
        }
        DataType::Real => DataValue::from_f32(f32::from_be_bytes(be4())),
        DataType::Lreal => DataValue::Float(f64::from_be_bytes(be8())),
        DataType::Char => DataValue::Text(latin1(&b[..1]).into()),
        DataType::String => string(b, length)?,
        DataType::Wstring => wstring(b, length)?,
        DataType::Date => DataValue::Text(date(u16::from_be_bytes(be2()))?.into()),
        DataType::TimeOfDay => DataValue::Text(time_of_day(u32::from_be_bytes(be4()))?.into()),
        DataType::DateAndTime => DataValue::Text(date_and_time(b)?.into()),
        DataType::Dtl => DataValue::Text(dtl(b)?.into()),
        DataType::S5time | DataType::Timer => DataValue::Int(s5time(be2())?),
        DataType::Counter => DataValue::Int(i64::from(bcd_digits(&be2(), 3)?)),
    })
}

/// Applies `scale` then `offset` to a number (an integer stays one when both are neutral).
pub fn scaled(value: DataValue, scale: f64, offset: f64) -> DataValue {
    if scale == 1.0 && offset == 0.0 {
        return value;
    }
    match value {
        DataValue::Int(i) => DataValue::Float(i as f64 * scale + offset),
        DataValue::Float(f) => DataValue::Float(f * scale + offset),
        // An exact ULINT past i64: scaled, it is a measurement like the others.
        DataValue::Text(t) => match t.parse::<u64>() {
            Ok(u) => DataValue::Float(u as f64 * scale + offset),
            Err(_) => DataValue::Text(t),
        },
        other => other,
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&c| char::from(c)).collect()
}

/// STRING[n]: maximum length, current length, then n Latin-1 characters.
fn string(b: &[u8], length: u16) -> Result<DataValue, String> {
    let (max, current) = (usize::from(b[0]), usize::from(b[1]));
    if current > max || current > usize::from(length) {
        return Err(format!(
            "a STRING of {current} characters in one of {max} (declared {length}): not a STRING \
             at this address, or `length` differs from the PLC's declaration"
        ));
    }
    Ok(DataValue::Text(latin1(&b[2..2 + current]).into()))
}

/// WSTRING[n]: maximum and current length (16 bits each), then n UTF-16 characters.
fn wstring(b: &[u8], length: u16) -> Result<DataValue, String> {
    let max = usize::from(u16::from_be_bytes([b[0], b[1]]));
    let current = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if current > max || current > usize::from(length) {
        return Err(format!(
            "a WSTRING of {current} characters in one of {max} (declared {length}): not a \
             WSTRING at this address, or `length` differs from the PLC's declaration"
        ));
    }
    let units: Vec<u16> = b[4..4 + 2 * current]
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units)
        .map(|s| DataValue::Text(s.into()))
        .map_err(|_| "a WSTRING that is not valid UTF-16 (a lone surrogate)".to_string())
}

/// The number of `digits` BCD digits (most significant first) in `bytes`, ignoring the bits
/// before them.
fn bcd_digits(bytes: &[u8], digits: usize) -> Result<u32, String> {
    let nibbles: Vec<u8> = bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let mut n = 0u32;
    for &d in &nibbles[nibbles.len() - digits..] {
        if d > 9 {
            return Err(format!("{bytes:02X?} is not BCD (a digit of {d:#x})"));
        }
        n = n * 10 + u32::from(d);
    }
    Ok(n)
}

fn bcd(byte: u8) -> Result<u32, String> {
    bcd_digits(&[byte], 2)
}

/// S5TIME: 2 bits of time base (10 ms, 100 ms, 1 s, 10 s) and 3 BCD digits, in milliseconds.
fn s5time(b: [u8; 2]) -> Result<i64, String> {
    let base = match (b[0] >> 4) & 0x03 {
        0 => 10,
        1 => 100,
        2 => 1_000,
        _ => 10_000,
    };
    Ok(i64::from(bcd_digits(&b, 3)?) * base)
}

fn date(days: u16) -> Result<String, String> {
    NaiveDate::from_ymd_opt(1990, 1, 1)
        .and_then(|d| d.checked_add_days(Days::new(u64::from(days))))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| format!("DATE {days} is out of range"))
}

fn time_of_day(ms: u32) -> Result<String, String> {
    NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
        .map(|t| t.format("%H:%M:%S%.3f").to_string())
        .ok_or_else(|| format!("TIME_OF_DAY {ms} ms is past midnight"))
}

/// DATE_AND_TIME: year (90–99: 19xx, 00–89: 20xx), month, day, hour, minute, second, then
/// milliseconds in 3 BCD digits and the weekday in the last nibble; all BCD.
fn date_and_time(b: &[u8]) -> Result<String, String> {
    let bad = |why: String| format!("not a DATE_AND_TIME ({b:02X?}): {why}");
    let year = bcd(b[0]).map_err(bad)?;
    let year = if year >= 90 { 1900 + year } else { 2000 + year };
    let [month, day, hour, minute, second] =
        [b[1], b[2], b[3], b[4], b[5]].map(|x| bcd(x).unwrap_or(99));
    let ms = bcd_digits(&[b[6], b[7] >> 4 << 4], 4).map_err(bad)? / 10;
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .and_then(|d| d.and_hms_milli_opt(hour, minute, second, ms))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        .ok_or_else(|| bad("a field out of range or not BCD".into()))
}

/// DTL: year (16 bits), month, day, weekday, hour, minute, second, nanoseconds (32 bits).
fn dtl(b: &[u8]) -> Result<String, String> {
    let year = i32::from(u16::from_be_bytes([b[0], b[1]]));
    let nanos = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    NaiveDate::from_ymd_opt(year, u32::from(b[2]), u32::from(b[3]))
        .and_then(|d| d.and_hms_nano_opt(u32::from(b[5]), u32::from(b[6]), u32::from(b[7]), nanos))
        .filter(|_| nanos < 1_000_000_000)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string())
        .ok_or_else(|| format!("not a DTL ({b:02X?}): a field out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataType::*;

    fn v(t: DataType, b: &[u8]) -> DataValue {
        value(t, b, None, 254).unwrap_or_else(|e| panic!("{t:?}: {e}"))
    }

    fn text(s: &str) -> DataValue {
        DataValue::Text(s.into())
    }

    #[test]
    fn numbers() {
        assert_eq!(v(Byte, &[0xFF]), DataValue::Int(255));
        assert_eq!(v(Sint, &[0xFF]), DataValue::Int(-1));
        assert_eq!(v(Word, &[0xFF, 0xF9]), DataValue::Int(65529));
        assert_eq!(v(Int, &[0xFF, 0xF9]), DataValue::Int(-7));
        assert_eq!(
            v(Dint, &(-100_000i32).to_be_bytes()),
            DataValue::Int(-100_000)
        );
        assert_eq!(
            v(Udint, &u32::MAX.to_be_bytes()),
            DataValue::Int(4_294_967_295)
        );
        assert_eq!(v(Lint, &i64::MIN.to_be_bytes()), DataValue::Int(i64::MIN));
        assert_eq!(v(Ulint, &42u64.to_be_bytes()), DataValue::Int(42));
        assert_eq!(
            v(Ulint, &u64::MAX.to_be_bytes()),
            text("18446744073709551615")
        );
        assert_eq!(v(Real, &12.34f32.to_be_bytes()), DataValue::Float(12.34));
        assert_eq!(v(Lreal, &(-0.1f64).to_be_bytes()), DataValue::Float(-0.1));
        assert_eq!(v(Time, &(-1500i32).to_be_bytes()), DataValue::Int(-1500));
        for bit in 0..8 {
            assert_eq!(
                value(Bool, &[1 << bit], Some(bit), 254),
                Ok(DataValue::Bool(true))
            );
            assert_eq!(
                value(Bool, &[!(1 << bit)], Some(bit), 254),
                Ok(DataValue::Bool(false))
            );
        }
    }

    #[test]
    fn texts() {
        assert_eq!(v(Char, b"A"), text("A"));
        assert_eq!(v(Char, &[0xE9]), text("é"));
        let mut s = vec![10, 3, b'a', 0xE9, b'c'];
        s.resize(12, 0);
        assert_eq!(value(String, &s, None, 10), Ok(text("aéc")));
        let mut w = vec![0, 4, 0, 2, 0x00, 0x41, 0x20, 0xAC];
        w.resize(12, 0);
        assert_eq!(value(Wstring, &w, None, 4), Ok(text("A€")));
        // A current length past the maximum, or past the declared length: named.
        let e = value(String, &[2, 3, 0, 0], None, 2).unwrap_err();
        assert!(e.contains("3 characters in one of 2"), "{e}");
        let mut lone = vec![0, 1, 0, 1, 0xD8, 0x00];
        lone.resize(6, 0);
        assert!(
            value(Wstring, &lone, None, 1)
                .unwrap_err()
                .contains("UTF-16")
        );
        assert!(
            value(Int, &[1], None, 254)
                .unwrap_err()
                .contains("2 bytes expected")
        );
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(v(Date, &[0, 0]), text("1990-01-01"));
        assert_eq!(v(Date, &13_162u16.to_be_bytes()), text("2026-01-14"));
        assert_eq!(
            v(TimeOfDay, &45_296_789u32.to_be_bytes()),
            text("12:34:56.789")
        );
        assert!(value(TimeOfDay, &86_400_000u32.to_be_bytes(), None, 254).is_err());
        assert_eq!(
            v(
                DateAndTime,
                &[0x26, 0x12, 0x05, 0x10, 0x20, 0x30, 0x12, 0x37]
            ),
            text("2026-12-05T10:20:30.123")
        );
        assert_eq!(
            v(
                DateAndTime,
                &[0x95, 0x02, 0x28, 0x23, 0x59, 0x59, 0x99, 0x91]
            ),
            text("1995-02-28T23:59:59.999")
        );
        for bad in [
            [0x26, 0x13, 0x05, 0x10, 0x20, 0x30, 0x12, 0x37], // month 13
            [0x26, 0x12, 0x05, 0x1A, 0x20, 0x30, 0x12, 0x37], // not BCD
            [0x26, 0x02, 0x30, 0x10, 0x20, 0x30, 0x12, 0x37], // 30 February
        ] {
            assert!(value(DateAndTime, &bad, None, 254).is_err(), "{bad:02X?}");
        }
        let mut d = vec![0x07, 0xEA, 12, 5, 6, 10, 20, 30];
        d.extend_from_slice(&123_456_789u32.to_be_bytes());
        assert_eq!(v(Dtl, &d), text("2026-12-05T10:20:30.123456789"));
        d[11] = 0xFF;
        d[8] = 0xFF;
        assert!(value(Dtl, &d, None, 254).is_err());
        // S5TIME: base 10 s × 999, base 10 ms × 123.
        assert_eq!(v(S5time, &[0x39, 0x99]), DataValue::Int(9_990_000));
        assert_eq!(v(Timer, &[0x01, 0x23]), DataValue::Int(1_230));
        assert_eq!(v(Counter, &[0x09, 0x99]), DataValue::Int(999));
        assert!(value(Counter, &[0x00, 0x9A], None, 254).is_err());
    }

    #[test]
    fn scale_and_offset_make_a_float() {
        assert_eq!(
            scaled(DataValue::Int(321), 0.1, -1.0),
            DataValue::Float(321.0 * 0.1 - 1.0)
        );
        assert_eq!(scaled(DataValue::Int(3), 1.0, 0.0), DataValue::Int(3));
        assert_eq!(
            scaled(text("18446744073709551615"), 0.5, 0.0),
            DataValue::Float(u64::MAX as f64 * 0.5)
        );
    }
}
