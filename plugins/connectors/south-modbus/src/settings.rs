//! Connector and item settings.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ModbusSettings {
    /// Host name or IP address of the Modbus TCP server (device or gateway).
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Unit (slave) id.
    #[serde(default = "default_unit")]
    pub unit_id: u8,
    /// Time-out of the connection and of each request, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Registers two items may be apart and still be read in one request (the registers between
    /// are read and ignored).
    #[serde(default)]
    pub max_gap: u16,
}

fn default_port() -> u16 {
    502
}
fn default_unit() -> u8 {
    1
}
fn default_timeout() -> u64 {
    3000
}

/// The four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum RegisterType {
    /// Read/write bits (function 1).
    Coil,
    /// Read-only bits (function 2).
    DiscreteInput,
    /// Read/write 16-bit registers (function 3).
    HoldingRegister,
    /// Read-only 16-bit registers (function 4).
    InputRegister,
}

impl RegisterType {
    /// Whether the table holds bits.
    pub fn is_bits(self) -> bool {
        matches!(self, Self::Coil | Self::DiscreteInput)
    }
    /// The most addresses one request may read (Modbus application protocol, §6).
    pub fn max_per_request(self) -> u16 {
        if self.is_bits() { 2000 } else { 125 }
    }
}

/// How the value is stored in the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum DataType {
    /// One bit (coils and discrete inputs only).
    Bool,
    /// One register, signed.
    Int16,
    /// One register, unsigned.
    #[default]
    Uint16,
    /// Two registers, signed.
    Int32,
    /// Two registers, unsigned.
    Uint32,
    /// Two registers, IEEE 754.
    Float32,
    /// Four registers, IEEE 754.
    Float64,
}

impl DataType {
    /// Registers (or bits) it spans.
    pub fn width(self) -> u16 {
        match self {
            Self::Bool | Self::Int16 | Self::Uint16 => 1,
            Self::Int32 | Self::Uint32 | Self::Float32 => 2,
            Self::Float64 => 4,
        }
    }
}

/// Byte order inside a register, or register order inside a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Order {
    /// Most significant first (Modbus's own order).
    #[default]
    Big,
    /// Least significant first.
    Little,
}

/// Item settings: where the value is and how to decode it. A value of several registers must end
/// at 65535 at the latest.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
#[schemars(extend("allOf" = [
    {
        "if": {"properties": {"data_type": {"enum": ["int32", "uint32", "float32"]}}, "required": ["data_type"]},
        "then": {"properties": {"address": {"maximum": 65534}}}
    },
    {
        "if": {"properties": {"data_type": {"const": "float64"}}, "required": ["data_type"]},
        "then": {"properties": {"address": {"maximum": 65532}}}
    }
]))]
pub struct ItemSettings {
    /// The data table.
    pub register: RegisterType,
    /// Address of the (first) register or bit, from 0.
    pub address: u16,
    /// How the value is stored (bits: `bool`).
    #[serde(default)]
    pub data_type: DataType,
    /// Byte order inside each register.
    #[serde(default)]
    pub byte_order: Order,
    /// Register order for values of several registers.
    #[serde(default)]
    pub word_order: Order,
    /// The value is multiplied by this…
    #[serde(default = "one")]
    pub scale: f64,
    /// …then this is added.
    #[serde(default)]
    pub offset: f64,
}

fn one() -> f64 {
    1.0
}
