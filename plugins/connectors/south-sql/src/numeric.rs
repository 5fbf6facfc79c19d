//! PostgreSQL's `numeric` in its binary form, read whatever its size: up to 131,072 digits before
//! the point, far beyond a float (about 1.8e308) and beyond `rust_decimal` (about 7.9e28). A
//! number is data, never an error: it becomes the closest double; one a double cannot hold at
//! all (beyond its range, or so small it would read as 0) is kept as decimal text, with quality
//! `uncertain`.

/// A `numeric` as the connector hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum Numeric {
    /// The closest double (NaN and the infinities included: the engine gives those quality `bad`).
    Float(f64),
    /// A number no double holds, in scientific notation with every significant digit kept up
    /// to [`MAX_TEXT_DIGITS`].
    OutOfRange(String),
}

/// Significant digits kept in the text of a number out of a double's range.
pub const MAX_TEXT_DIGITS: usize = 40;

/// Reads the binary form: four big-endian 16-bit words (number of digits, weight of the first
/// digit in powers of 10,000, sign, display scale), then the digits, each 0 to 9999.
pub fn decode(raw: &[u8]) -> Result<Numeric, String> {
    let word = |i: usize| -> Result<u16, String> {
        raw.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("a numeric of {} bytes is truncated", raw.len()))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    match word(2)? {
        0xC000 => return Ok(Numeric::Float(f64::NAN)),
        0xD000 => return Ok(Numeric::Float(f64::INFINITY)),
        0xF000 => return Ok(Numeric::Float(f64::NEG_INFINITY)),
        0x0000 | 0x4000 => {}
        other => return Err(format!("a numeric has an unknown sign word {other:#06x}")),
    }
    let negative = word(2)? == 0x4000;
    if raw.len() != 8 + 2 * ndigits {
        return Err(format!(
            "a numeric of {ndigits} digit groups takes {} bytes, not {}",
            8 + 2 * ndigits,
            raw.len()
        ));
    }
    let mut digits = String::with_capacity(4 * ndigits);
    for i in 0..ndigits {
        let d = word(4 + i)?;
        if d > 9999 {
            return Err(format!("a numeric has a digit group {d} over 9999"));
        }
        digits.push_str(&format!("{d:04}"));
    }
    // value = 0.d1d2d3... × 10^(4 × (weight + 1))
    let significant = digits.trim_start_matches('0');
    let leading_zeros = (digits.len() - significant.len()) as i64;
    let significant = significant.trim_end_matches('0');
    if significant.is_empty() {
        return Ok(Numeric::Float(if negative { -0.0 } else { 0.0 }));
    }
    // The exponent of the first significant digit: d.ddd × 10^exp.
    let exp = 4 * (weight + 1) - leading_zeros - 1;
    let sign = if negative { "-" } else { "" };
    let float: f64 = format!("{sign}0.{significant}e{}", exp + 1)
        .parse()
        .map_err(|e| format!("a numeric cannot be read: {e}"))?;
    if float.is_finite() && float != 0.0 {
        return Ok(Numeric::Float(float));
    }
    let (head, tail) = significant.split_at(1);
    let tail = &tail[..tail.len().min(MAX_TEXT_DIGITS - 1)];
    let point = if tail.is_empty() { "" } else { "." };
    Ok(Numeric::OutOfRange(format!(
        "{sign}{head}{point}{tail}e{exp}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary form of a numeric written as groups of four digits.
    fn raw(negative: bool, weight: i16, groups: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [
            groups.len() as u16,
            weight as u16,
            if negative { 0x4000 } else { 0 },
            0,
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for g in groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
        out
    }

    #[test]
    fn ordinary_numbers_are_the_closest_double() {
        assert_eq!(
            decode(&raw(false, 0, &[12, 3400])),
            Ok(Numeric::Float(12.34))
        );
        assert_eq!(decode(&raw(true, -1, &[5])), Ok(Numeric::Float(-0.0005)));
        assert_eq!(decode(&raw(false, 0, &[])), Ok(Numeric::Float(0.0)));
        // 1e30, above what rust_decimal reads (about 7.9e28).
        let mut groups = vec![100];
        groups.extend([0; 7]);
        assert_eq!(decode(&raw(false, 7, &groups)), Ok(Numeric::Float(1e30)));
        // More digits than a double holds: rounded to the closest double, as a decimal parse
        // does.
        assert_eq!(
            decode(&raw(false, 4, &[1, 2345, 6789, 123, 4567, 8900])),
            Ok(Numeric::Float(12_345_678_901_234_567.89))
        );
    }

    #[test]
    fn numbers_no_double_holds_are_kept_as_text() {
        // 1.5e400 and -1e-400.
        let mut big = vec![1, 5000];
        big.extend([0; 3]);
        let big = raw(false, 100, &big);
        assert_eq!(decode(&big), Ok(Numeric::OutOfRange("1.5e400".into())));
        assert_eq!(
            decode(&raw(true, -101, &[1000])),
            Ok(Numeric::OutOfRange("-1e-401".into()))
        );
        let long: Vec<u16> = std::iter::repeat_n(1234, 30).collect();
        let Ok(Numeric::OutOfRange(text)) = decode(&raw(false, 200, &long)) else {
            panic!()
        };
        assert_eq!(text.len(), "1.".len() + MAX_TEXT_DIGITS - 1 + "e803".len());
    }

    #[test]
    fn special_values_and_damaged_forms() {
        let special = |sign: u16| {
            let mut r = raw(false, 0, &[]);
            r[4..6].copy_from_slice(&sign.to_be_bytes());
            decode(&r)
        };
        assert!(matches!(special(0xC000), Ok(Numeric::Float(f)) if f.is_nan()));
        assert_eq!(special(0xD000), Ok(Numeric::Float(f64::INFINITY)));
        assert_eq!(special(0xF000), Ok(Numeric::Float(f64::NEG_INFINITY)));
        assert!(special(0x1234).unwrap_err().contains("sign"));
        assert!(decode(&[0, 1]).unwrap_err().contains("truncated"));
        assert!(
            decode(&raw(false, 0, &[10000]))
                .unwrap_err()
                .contains("9999")
        );
        let mut short = raw(false, 0, &[1, 2]);
        short.pop();
        assert!(decode(&short).is_err());
    }
}
