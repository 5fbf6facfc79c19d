//! Connector and item settings.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct S7Settings {
    /// Host name or IP address of the PLC (of the CPU, or of the CP the CPU is reached through).
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// TCP port (ISO-on-TCP).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Rack of the CPU: 0 on S7-300, S7-1200 and S7-1500. Not with `remote_tsap`.
    #[schemars(range(max = 7))]
    pub rack: Option<u8>,
    /// Slot of the CPU: 1 on S7-1200 and S7-1500 (the default), 2 on S7-300; on S7-400, where
    /// the CPU sits in its rack. Not with `remote_tsap`.
    #[schemars(range(max = 31))]
    pub slot: Option<u8>,
    /// The kind of connection asked for with rack and slot. A CPU keeps a few connections of
    /// each kind.
    #[serde(default)]
    pub connection_type: ConnectionType,
    /// The PLC's TSAP, instead of rack and slot, as two hex bytes (`"03.01"`, `"0301"`): for a
    /// LOGO! (`"02.00"`), an S7-200, or a CP configured with its own TSAP.
    #[schemars(regex(pattern = r"^[0-9A-Fa-f]{2}\.?[0-9A-Fa-f]{2}$"))]
    pub remote_tsap: Option<String>,
    /// This gateway's TSAP, as two hex bytes (default `"01.00"`; a LOGO! may want `"01.00"` or
    /// `"02.00"` as configured in its connection).
    #[schemars(regex(pattern = r"^[0-9A-Fa-f]{2}\.?[0-9A-Fa-f]{2}$"))]
    pub local_tsap: Option<String>,
    /// The PDU size asked for, in bytes; the PLC answers with the size it accepts (240 on an
    /// S7-300 or S7-1200, 480 on an S7-400, 960 on an S7-1500) and reads are planned within it.
    #[serde(default = "default_pdu_size")]
    #[schemars(range(min = 240, max = 960))]
    pub pdu_size: u16,
    /// Time-out of the connection and of each request, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600000))]
    pub timeout_ms: u64,
    /// Bytes two items of the same area may be apart and still be read together (the bytes
    /// between are read and ignored).
    #[serde(default = "default_max_gap")]
    pub max_gap: u16,
}

fn default_port() -> u16 {
    102
}
fn default_pdu_size() -> u16 {
    960
}
fn default_timeout() -> u64 {
    3000
}
fn default_max_gap() -> u16 {
    16
}

/// The kind of connection (the high byte of the PLC's TSAP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum ConnectionType {
    /// Programming device (PG).
    #[default]
    Pg,
    /// Operator panel (OP).
    Op,
    /// S7 basic communication.
    S7Basic,
}

impl ConnectionType {
    /// The TSAP's high byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Pg => 1,
            Self::Op => 2,
            Self::S7Basic => 3,
        }
    }
}

/// How a value is stored in the PLC (the S7 data types; big-endian, as the PLC keeps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "snake_case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum DataType {
    /// BOOL: one bit (the address names the bit: `DB1.DBX0.3`, `M10.2`).
    Bool,
    /// BYTE: 8 bits, unsigned.
    Byte,
    /// WORD: 16 bits, unsigned.
    Word,
    /// DWORD: 32 bits, unsigned.
    Dword,
    /// LWORD: 64 bits, unsigned (S7-1500).
    Lword,
    /// SINT: 8-bit signed integer.
    Sint,
    /// USINT: 8-bit unsigned integer.
    Usint,
    /// INT: 16-bit signed integer.
    Int,
    /// UINT: 16-bit unsigned integer.
    Uint,
    /// DINT: 32-bit signed integer.
    Dint,
    /// UDINT: 32-bit unsigned integer.
    Udint,
    /// LINT: 64-bit signed integer (S7-1500).
    Lint,
    /// ULINT: 64-bit unsigned integer (S7-1500); above 9223372036854775807, sent as its exact
    /// decimal text.
    Ulint,
    /// REAL: 32-bit IEEE 754.
    Real,
    /// LREAL: 64-bit IEEE 754.
    Lreal,
    /// CHAR: one character (Latin-1).
    Char,
    /// STRING[length]: up to 254 characters (Latin-1), `length + 2` bytes.
    String,
    /// WSTRING[length]: up to 16382 UTF-16 characters, `2 * length + 4` bytes.
    Wstring,
    /// TIME: 32-bit signed milliseconds.
    Time,
    /// DATE: days since 1990-01-01, sent as `YYYY-MM-DD`.
    Date,
    /// TIME_OF_DAY: milliseconds since midnight, sent as `HH:MM:SS.mmm`.
    TimeOfDay,
    /// DATE_AND_TIME (DT): 8 BCD bytes, sent as `YYYY-MM-DDTHH:MM:SS.mmm` (the PLC's clock).
    DateAndTime,
    /// DTL: 12 bytes, sent as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` (the PLC's clock).
    Dtl,
    /// S5TIME in a data block: time base and 3 BCD digits, sent in milliseconds.
    S5time,
    /// A timer of area T (`T5`): its S5TIME, in milliseconds.
    Timer,
    /// A counter of area C (`C3`, `Z3`): its BCD value, 0 to 999.
    Counter,
}

impl DataType {
    /// Bytes it spans (timers and counters: 2, one element); `length` is the declared length of a
    /// STRING or WSTRING.
    pub fn width(self, length: u16) -> u32 {
        let length = u32::from(length);
        match self {
            Self::Bool | Self::Byte | Self::Sint | Self::Usint | Self::Char => 1,
            Self::Word | Self::Int | Self::Uint | Self::Date | Self::S5time => 2,
            Self::Timer | Self::Counter => 2,
            Self::Dword | Self::Dint | Self::Udint | Self::Real | Self::Time | Self::TimeOfDay => 4,
            Self::Lword | Self::Lint | Self::Ulint | Self::Lreal | Self::DateAndTime => 8,
            Self::Dtl => 12,
            Self::String => length + 2,
            Self::Wstring => 2 * length + 4,
        }
    }

    /// Whether its value is a number that `scale` and `offset` apply to.
    pub fn is_number(self) -> bool {
        !matches!(
            self,
            Self::Bool
                | Self::Char
                | Self::String
                | Self::Wstring
                | Self::Date
                | Self::TimeOfDay
                | Self::DateAndTime
                | Self::Dtl
        )
    }

    /// The most characters its declared `length` may be (STRING and WSTRING only).
    pub fn max_length(self) -> Option<u16> {
        match self {
            Self::String => Some(254),
            Self::Wstring => Some(16382),
            _ => None,
        }
    }
}

/// Item settings: where the value is and how to read it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// Where the value is, in Siemens notation: `DB1.DBX0.3` or `DB1.0.3` (bit 3 of byte 0 of
    /// DB1), `DB1.DBB4`, `DB1.DBW4`, `DB1.DBD4` or `DB1.4` (from byte 4 of DB1); merkers `M10.2`,
    /// `MB10`, `MW10`, `MD10`; inputs `I0.1`, `IB0`, `IW0`, `ID0` (or `E…`); outputs `Q0.0`,
    /// `QB0`, `QW0`, `QD0` (or `A…`); timers `T5`; counters `C3` (or `Z3`).
    #[schemars(regex(
        pattern = r"^\s*(?:[Dd][Bb][0-9]{1,5}\.(?:[Dd][Bb][XxBbWwDd])?[0-9]{1,7}(?:\.[0-7])?|[MmIiEeQqAa][XxBbWwDd]?[0-9]{1,7}(?:\.[0-7])?|[TtCcZz][0-9]{1,5})\s*$"
    ))]
    pub address: String,
    /// How the value is stored.
    pub data_type: DataType,
    /// The declared length of a STRING or WSTRING, in characters (`STRING[20]`: 20). Default:
    /// 254 (the longest STRING).
    #[schemars(range(min = 1, max = 16382))]
    pub length: Option<u16>,
    /// The value is multiplied by this… (numbers only)
    #[serde(default = "one")]
    pub scale: f64,
    /// …then this is added.
    #[serde(default)]
    pub offset: f64,
}

fn one() -> f64 {
    1.0
}

impl ItemSettings {
    /// The declared length of a STRING or WSTRING (default 254).
    pub fn length(&self) -> u16 {
        self.length.unwrap_or(254)
    }
}
