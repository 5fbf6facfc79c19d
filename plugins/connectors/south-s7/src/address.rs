//! Item addresses in Siemens notation, and where an item's bytes are.
//!
//! ```
//! use oibus_south_s7::address::{Address, Area};
//! let a: Address = "DB1.DBX0.3".parse().unwrap();
//! assert_eq!((a.area, a.db, a.start, a.bit), (Area::DataBlock, 1, 0, Some(3)));
//! let t: Address = "T5".parse().unwrap();
//! assert_eq!((t.area, t.start), (Area::Timer, 5));
//! assert!("DB0.4".parse::<Address>().is_err());
//! ```

use crate::settings::{DataType, ItemSettings};
use std::{fmt, str::FromStr};

/// The memory areas of an S7 CPU that can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// Process inputs (I, E).
    Input,
    /// Process outputs (Q, A).
    Output,
    /// Merkers (M).
    Merker,
    /// Data blocks (DB).
    DataBlock,
    /// Timers (T).
    Timer,
    /// Counters (C, Z).
    Counter,
}

impl Area {
    /// Its code on the wire (S7comm's area byte).
    pub fn code(self) -> u8 {
        match self {
            Self::Input => 0x81,
            Self::Output => 0x82,
            Self::Merker => 0x83,
            Self::DataBlock => 0x84,
            Self::Counter => 0x1C,
            Self::Timer => 0x1D,
        }
    }

    /// Whether it is addressed by element (2 bytes each: timers, counters) rather than by byte.
    pub fn by_element(self) -> bool {
        matches!(self, Self::Timer | Self::Counter)
    }
}

/// The size letter of an address (`DBX`, `DBB`, `MW`, `ID`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// X: a bit.
    Bit,
    /// B: a byte.
    Byte,
    /// W: a word (2 bytes).
    Word,
    /// D: a double word (4 bytes).
    Dword,
}

impl Size {
    fn bytes(self) -> u32 {
        match self {
            Self::Bit | Self::Byte => 1,
            Self::Word => 2,
            Self::Dword => 4,
        }
    }
}

/// A parsed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    /// The area.
    pub area: Area,
    /// The data block's number (0 outside data blocks).
    pub db: u16,
    /// The byte offset, or the timer's or counter's number.
    pub start: u32,
    /// The bit, for a bit address.
    pub bit: Option<u8>,
    /// The size letter, when the address has one.
    pub size: Option<Size>,
}

/// The highest byte an address can name: S7comm carries bit addresses in 3 bytes.
pub const MAX_BYTE: u32 = (1 << 21) - 1;

impl FromStr for Address {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let s = text.trim().to_ascii_uppercase();
        let bad = |why: &str| format!("address {text:?}: {why}");
        let number = |digits: &str, what: &str| -> Result<u32, String> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 7
            {
                return Err(bad(&format!("{what} {digits:?} is not a number")));
            }
            digits
                .parse::<u32>()
                .map_err(|_| bad(&format!("{what} {digits:?} is not a number")))
        };
        // Byte offset and optional bit: "12" or "12.3".
        let byte_and_bit = |rest: &str| -> Result<(u32, Option<u8>), String> {
            let (byte, bit) = match rest.split_once('.') {
                Some((b, bit)) => (b, Some(bit)),
                None => (rest, None),
            };
            let byte = number(byte, "byte")?;
            if byte > MAX_BYTE {
                return Err(bad(&format!(
                    "byte {byte} is past {MAX_BYTE}, the last S7 address"
                )));
            }
            let bit = match bit {
                None => None,
                Some(b) => match number(b, "bit")? {
                    n @ 0..=7 => Some(n as u8),
                    n => return Err(bad(&format!("bit {n} is not 0 to 7"))),
                },
            };
            Ok((byte, bit))
        };
        let size_letter = |c: u8| match c {
            b'X' => Some(Size::Bit),
            b'B' => Some(Size::Byte),
            b'W' => Some(Size::Word),
            b'D' => Some(Size::Dword),
            _ => None,
        };
        if let Some(rest) = s.strip_prefix("DB") {
            let (db, rest) = rest
                .split_once('.')
                .ok_or_else(|| bad("a data block address is DB<n>.<byte>, e.g. DB1.DBW4"))?;
            let db = number(db, "data block")?;
            if !(1..=65535).contains(&db) {
                return Err(bad(&format!("data block {db} is not 1 to 65535")));
            }
            let (size, rest) = match rest.strip_prefix("DB") {
                Some(r) => {
                    let letter = r.bytes().next().and_then(size_letter).ok_or_else(|| {
                        bad("after DB<n>.DB comes X, B, W or D (DBX0.1, DBB0, DBW0, DBD0)")
                    })?;
                    (Some(letter), &r[1..])
                }
                None => (None, rest),
            };
            let (start, bit) = byte_and_bit(rest)?;
            return checked(Address {
                area: Area::DataBlock,
                db: db as u16,
                start,
                bit,
                size,
            })
            .map_err(|e| bad(&e));
        }
        let first = s.bytes().next().ok_or_else(|| bad("empty"))?;
        let area = match first {
            b'M' => Area::Merker,
            b'I' | b'E' => Area::Input,
            b'Q' | b'A' => Area::Output,
            b'T' => Area::Timer,
            b'C' | b'Z' => Area::Counter,
            _ => {
                return Err(bad(
                    "the area is DB, M, I (E), Q (A), T or C (Z): DB1.DBW4, MW10, I0.1, T5",
                ));
            }
        };
        let rest = &s[1..];
        if area.by_element() {
            let n = number(
                rest,
                if area == Area::Timer {
                    "timer"
                } else {
                    "counter"
                },
            )?;
            if n > 65535 {
                return Err(bad(&format!("number {n} is past 65535")));
            }
            return Ok(Address {
                area,
                db: 0,
                start: n,
                bit: None,
                size: None,
            });
        }
        let (size, rest) = match rest.bytes().next().and_then(size_letter) {
            Some(letter) => (Some(letter), &rest[1..]),
            None => (None, rest),
        };
        let (start, bit) = byte_and_bit(rest)?;
        checked(Address {
            area,
            db: 0,
            start,
            bit,
            size,
        })
        .map_err(|e| bad(&e))
    }
}

/// Checks the size letter against the bit: X names a bit, B/W/D do not.
fn checked(a: Address) -> Result<Address, String> {
    match (a.size, a.bit) {
        (Some(Size::Bit), None) => Err("X names a bit: write the bit too (DBX0.3, MX10.2)".into()),
        (Some(s), Some(_)) if s != Size::Bit => {
            Err("B, W and D name bytes, not bits: write X for a bit (DBX0.3)".into())
        }
        _ => Ok(a),
    }
}

impl fmt::Display for Address {
    /// The short form: `DB1.4`, `DB1.0.3`, `M10`, `I0.1`, `T5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let area = match self.area {
            Area::DataBlock => return self.fmt_db(f),
            Area::Merker => "M",
            Area::Input => "I",
            Area::Output => "Q",
            Area::Timer => "T",
            Area::Counter => "C",
        };
        write!(f, "{area}{}", self.start)?;
        if let Some(bit) = self.bit {
            write!(f, ".{bit}")?;
        }
        Ok(())
    }
}

impl Address {
    fn fmt_db(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DB{}.{}", self.db, self.start)?;
        if let Some(bit) = self.bit {
            write!(f, ".{bit}")?;
        }
        Ok(())
    }
}

/// Where an item's bytes are: its address checked against its data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The address.
    pub address: Address,
    /// Bytes it spans (timers and counters: elements, 1).
    pub width: u32,
}

impl Location {
    /// The location of an item, or why its address and data type do not go together.
    pub fn of(item: &ItemSettings) -> Result<Self, String> {
        let address: Address = item.address.parse()?;
        let ty = item.data_type;
        let what = |why: String| format!("address {:?} with data_type {ty:?}: {why}", item.address);
        match (address.area, ty) {
            (Area::Timer, DataType::Timer) | (Area::Counter, DataType::Counter) => {
                return Ok(Self { address, width: 1 });
            }
            (Area::Timer, _) => return Err(what("a timer is read with data_type `timer`".into())),
            (Area::Counter, _) => {
                return Err(what("a counter is read with data_type `counter`".into()));
            }
            (_, DataType::Timer | DataType::Counter) => {
                return Err(what(
                    "`timer` and `counter` read areas T and C (T5, C3); an S5TIME in a data \
                     block is `s5time`"
                        .into(),
                ));
            }
            _ => {}
        }
        if (ty == DataType::Bool) != address.bit.is_some() {
            return Err(what(if ty == DataType::Bool {
                "a `bool` names its bit (DB1.DBX0.3, M10.2)".into()
            } else {
                "only a `bool` names a bit".into()
            }));
        }
        if let Some(max) = ty.max_length()
            && item.length() > max
        {
            return Err(what(format!(
                "length {} is past {max}, the longest {ty:?}",
                item.length()
            )));
        }
        if item.length.is_some() && ty.max_length().is_none() {
            return Err(what("`length` is for `string` and `wstring` only".into()));
        }
        let width = ty.width(item.length());
        if let Some(size) = address.size
            && size != Size::Bit
            && matches!(width, 1 | 2 | 4)
            && size.bytes() != width
        {
            return Err(what(format!(
                "the address names {} byte(s) and the type is {width}",
                size.bytes()
            )));
        }
        if address.start + width - 1 > MAX_BYTE {
            return Err(what(format!("its {width} bytes go past byte {MAX_BYTE}")));
        }
        if !ty.is_number() && (item.scale != 1.0 || item.offset != 0.0) {
            return Err(what("`scale` and `offset` are for numbers".into()));
        }
        if !item.scale.is_finite() || !item.offset.is_finite() {
            return Err(what("`scale` and `offset` must be finite".into()));
        }
        Ok(Self { address, width })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Address {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn siemens_and_short_notations() {
        let a = parse("DB1.DBX0.3");
        assert_eq!(
            (a.area, a.db, a.start, a.bit, a.size),
            (Area::DataBlock, 1, 0, Some(3), Some(Size::Bit))
        );
        assert_eq!(parse("db10.dbw4"), parse("DB10.DBW4"));
        assert_eq!(parse(" DB10.4 ").start, 4);
        assert_eq!(parse("DB65535.2097151").start, MAX_BYTE);
        assert_eq!(parse("MW10").size, Some(Size::Word));
        assert_eq!(parse("M10.2").bit, Some(2));
        assert_eq!(parse("E0.1"), parse("I0.1"));
        assert_eq!(parse("A0.1"), parse("Q0.1"));
        assert_eq!(parse("Z3"), parse("C3"));
        assert_eq!(parse("QD8").area, Area::Output);
        assert_eq!(parse("T5").to_string(), "T5");
        assert_eq!(parse("DB1.DBX0.3").to_string(), "DB1.0.3");
        assert_eq!(parse("IB4").to_string(), "I4");
    }

    #[test]
    fn wrong_addresses_say_what_is_wrong() {
        for (text, says) in [
            ("", "empty"),
            ("DB0.4", "data block 0 is not 1 to 65535"),
            ("DB70000.4", "not 1 to 65535"),
            ("DB1", "DB<n>.<byte>"),
            ("DB1.DBQ4", "X, B, W or D"),
            ("DB1.DBX4", "X names a bit"),
            ("DB1.DBW4.1", "B, W and D name bytes"),
            ("M10.8", "bit 8 is not 0 to 7"),
            ("MW", "byte \"\" is not a number"),
            ("X10", "the area is DB"),
            ("M2097152", "past 2097151"),
            ("T70000", "past 65535"),
            ("DB1.-4", "not a number"),
            ("DB1.4.", "bit \"\" is not a number"),
        ] {
            let e = text.parse::<Address>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    fn item(address: &str, data_type: DataType) -> ItemSettings {
        ItemSettings {
            address: address.into(),
            data_type,
            length: None,
            scale: 1.0,
            offset: 0.0,
        }
    }

    #[test]
    fn an_address_and_its_type_go_together() {
        use DataType::*;
        assert_eq!(Location::of(&item("DB1.DBD4", Real)).unwrap().width, 4);
        assert_eq!(Location::of(&item("DB1.4", Lreal)).unwrap().width, 8);
        assert_eq!(Location::of(&item("DB1.4", String)).unwrap().width, 256);
        assert_eq!(Location::of(&item("T5", Timer)).unwrap().width, 1);
        let mut s = item("DB1.4", Wstring);
        s.length = Some(10);
        assert_eq!(Location::of(&s).unwrap().width, 24);
        for (it, says) in [
            (item("DB1.DBW4", Real), "names 2 byte(s) and the type is 4"),
            (item("DB1.4", Bool), "names its bit"),
            (item("DB1.4.1", Int), "only a `bool`"),
            (item("T5", Int), "`timer`"),
            (item("C5", Timer), "`counter`"),
            (item("DB1.4", Timer), "areas T and C"),
            (item("DB1.2097150", Real), "go past byte"),
            (item("DB1.4", Date), ""),
        ] {
            match Location::of(&it) {
                Err(e) => assert!(!says.is_empty() && e.contains(says), "{it:?}: {e}"),
                Ok(_) => assert!(says.is_empty(), "{it:?} was accepted"),
            }
        }
        let mut scaled = item("DB1.4", String);
        scaled.scale = 2.0;
        assert!(Location::of(&scaled).unwrap_err().contains("numbers"));
        let mut long = item("DB1.4", String);
        long.length = Some(255);
        assert!(Location::of(&long).unwrap_err().contains("past 254"));
        let mut not_text = item("DB1.4", Int);
        not_text.length = Some(2);
        assert!(Location::of(&not_text).unwrap_err().contains("`length`"));
    }
}
