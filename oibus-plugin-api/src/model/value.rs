//! A measured value: point id, UTC timestamp, typed value, quality.

use super::timestamp::Timestamp;
use abi_stable::{StableAbi, std_types::RString};
use serde::{Deserialize, Serialize};

/// The typed payload of a value.
#[repr(C, u8)]
#[derive(StableAbi, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DataValue {
    /// No value (for example a read that returned nothing).
    Null,
    /// A boolean (coils, digital inputs).
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text, or any payload kept as a string.
    Text(RString),
}

impl DataValue {
    /// A float read as `f32` (a float32 register, a `real` column, an OPC UA `Float`), as the
    /// shortest decimal that reads back as the same `f32`: `12.34f32` gives `12.34`, not the
    /// `12.34000015258789` that widening to `f64` shows.
    ///
    /// ```
    /// use oibus_plugin_api::DataValue;
    /// assert_eq!(DataValue::from_f32(12.34), DataValue::Float(12.34));
    /// ```
    pub fn from_f32(f: f32) -> Self {
        Self::Float(f32_as_decimal(f))
    }
}

/// `f` as the `f64` of its shortest round-trip decimal form (see [`DataValue::from_f32`]);
/// NaN and infinities stay what they are.
pub fn f32_as_decimal(f: f32) -> f64 {
    if !f.is_finite() {
        return f64::from(f);
    }
    // `Display` of an f32 is the shortest text that parses back to the same f32.
    f.to_string().parse().unwrap_or(f64::from(f))
}

impl From<f64> for DataValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<i64> for DataValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<bool> for DataValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<&str> for DataValue {
    fn from(v: &str) -> Self {
        Self::Text(v.into())
    }
}
impl From<String> for DataValue {
    fn from(v: String) -> Self {
        Self::Text(v.into())
    }
}

/// The quality of a value, as OPC defines it.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// The value is trustworthy.
    #[default]
    Good,
    /// The value may be inaccurate.
    Uncertain,
    /// The value is not usable.
    Bad,
}

/// The `data` part of a value, in OIBus's JSON shape.
#[derive(Serialize, Deserialize)]
struct Data {
    value: DataValue,
    #[serde(default)]
    quality: Quality,
}

/// One measured value. JSON shape (OIBus's): `{"pointId", "timestamp", "data": {"value", "quality"}}`.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct OibusValue {
    /// The point (tag) this value belongs to.
    pub point_id: RString,
    /// When the value was measured (UTC).
    pub timestamp: Timestamp,
    /// The value itself.
    pub value: DataValue,
    /// Its quality.
    pub quality: Quality,
}

impl OibusValue {
    /// A value of good quality.
    pub fn new(
        point_id: impl Into<RString>,
        timestamp: Timestamp,
        value: impl Into<DataValue>,
    ) -> Self {
        Self {
            point_id: point_id.into(),
            timestamp,
            value: value.into(),
            quality: Quality::Good,
        }
    }
    /// The same value with another quality.
    pub fn with_quality(mut self, quality: Quality) -> Self {
        self.quality = quality;
        self
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OibusValueJson {
    point_id: String,
    timestamp: Timestamp,
    data: Data,
}

impl Serialize for OibusValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        OibusValueJson {
            point_id: self.point_id.to_string(),
            timestamp: self.timestamp,
            data: Data {
                value: self.value.clone(),
                quality: self.quality,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for OibusValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = OibusValueJson::deserialize(d)?;
        Ok(Self {
            point_id: j.point_id.into(),
            timestamp: j.timestamp,
            value: j.data.value,
            quality: j.data.quality,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_oibus_shape() {
        let v = OibusValue::new(
            "pump.rpm",
            Timestamp::parse("2024-01-01T00:00:00.5Z").unwrap(),
            1450.5,
        );
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"pointId": "pump.rpm", "timestamp": "2024-01-01T00:00:00.500Z",
                "data": {"value": 1450.5, "quality": "good"}})
        );
        let back: OibusValue = serde_json::from_value(j).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn typed_values_round_trip() {
        for value in [
            DataValue::Null,
            true.into(),
            42i64.into(),
            1.5.into(),
            "open".into(),
        ] {
            let v =
                OibusValue::new("p", Timestamp::from_millis(0), value).with_quality(Quality::Bad);
            let s = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<OibusValue>(&s).unwrap(), v, "{s}");
        }
    }

    #[test]
    fn missing_quality_defaults_to_good() {
        let v: OibusValue = serde_json::from_str(
            r#"{"pointId":"a","timestamp":"2024-01-01T00:00:00Z","data":{"value":"12"}}"#,
        )
        .unwrap();
        assert_eq!(v.quality, Quality::Good);
        assert_eq!(v.value, DataValue::Text("12".into()));
    }
}
