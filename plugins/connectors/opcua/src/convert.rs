//! From an OPC UA data value to the gateway's value: the built-in types that carry a
//! measurement, the status code as a quality, the timestamp chosen by the item.

use crate::settings::TimestampOrigin;
use oibus_plugin_api::prelude::*;
use opcua::types::{DataValue as UaValue, DateTime, StatusCode, Variant};

/// The types a value can have, for error messages.
pub const SUPPORTED: &str = "Boolean, SByte, Byte, Int16, UInt16, Int32, UInt32, Int64, UInt64, \
     Float, Double, String, DateTime (as RFC 3339 text) and one-dimensional arrays of them (as JSON text)";

/// The value of one read, or why the item has none.
pub fn value(
    point: &str,
    read: &UaValue,
    origin: TimestampOrigin,
    read_at: Timestamp,
) -> std::result::Result<OibusValue, String> {
    let status = read.status.unwrap_or(StatusCode::Good);
    let timestamp = timestamp(read, origin).unwrap_or(read_at);
    if status.is_bad() {
        return match &read.value {
            // A bad status with a value (a sensor failure, say): kept, with quality bad.
            Some(v) if !matches!(v, Variant::Empty) => {
                Ok(
                    OibusValue::new(point, timestamp, data(v).unwrap_or(DataValue::Null))
                        .with_quality(Quality::Bad),
                )
            }
            _ => Err(status_text(status)),
        };
    }
    let quality = if status.is_uncertain() {
        Quality::Uncertain
    } else {
        Quality::Good
    };
    let v = match &read.value {
        None => DataValue::Null,
        Some(v) => data(v)?,
    };
    Ok(OibusValue::new(point, timestamp, v).with_quality(quality))
}

/// A status code as an operator reads it: `BadNodeIdUnknown (The node id refers to a node that
/// does not exist in the server address space.)`.
pub fn status_text(status: StatusCode) -> String {
    let sub = status.sub_code();
    format!("{} ({})", sub.name(), sub.description())
}

fn timestamp(read: &UaValue, origin: TimestampOrigin) -> Option<Timestamp> {
    let source = || read.source_timestamp.as_ref().and_then(instant);
    let server = || read.server_timestamp.as_ref().and_then(instant);
    match origin {
        TimestampOrigin::Source => source().or_else(server),
        TimestampOrigin::Server => server(),
        TimestampOrigin::Gateway => None,
    }
}

/// An OPC UA instant; `None` for the null instant (1601-01-01) some servers send for "none".
pub fn instant(t: &DateTime) -> Option<Timestamp> {
    if t.is_null() {
        return None;
    }
    t.as_chrono()
        .timestamp_nanos_opt()
        .map(Timestamp::from_nanos)
}

/// A variant as a value, or why it is not a measurement.
pub fn data(v: &Variant) -> std::result::Result<DataValue, String> {
    Ok(match v {
        Variant::Empty => DataValue::Null,
        Variant::Boolean(b) => DataValue::Bool(*b),
        Variant::SByte(n) => DataValue::Int((*n).into()),
        Variant::Byte(n) => DataValue::Int((*n).into()),
        Variant::Int16(n) => DataValue::Int((*n).into()),
        Variant::UInt16(n) => DataValue::Int((*n).into()),
        Variant::Int32(n) => DataValue::Int((*n).into()),
        Variant::UInt32(n) => DataValue::Int((*n).into()),
        Variant::Int64(n) => DataValue::Int(*n),
        // Above i64::MAX a UInt64 cannot stay an exact integer.
        Variant::UInt64(n) => i64::try_from(*n).map_or(DataValue::Float(*n as f64), DataValue::Int),
        Variant::Float(f) => DataValue::from_f32(*f),
        Variant::Double(f) => DataValue::Float(*f),
        Variant::String(s) => DataValue::Text(s.as_ref().into()),
        Variant::DateTime(t) => {
            instant(t).map_or(DataValue::Null, |t| DataValue::Text(t.to_iso().into()))
        }
        Variant::Array(a) => {
            if a.dimensions.as_ref().is_some_and(|d| d.len() > 1) {
                return Err(
                    "a multi-dimensional array (only one-dimensional arrays are read)".into(),
                );
            }
            let items: std::result::Result<Vec<_>, String> = a.values.iter().map(json).collect();
            DataValue::Text(
                oibus_plugin_api::serde_json::Value::Array(items?)
                    .to_string()
                    .into(),
            )
        }
        other => {
            return Err(format!(
                "a {} value, which is not a measurement (the types read are {SUPPORTED})",
                type_name(other)
            ));
        }
    })
}

/// One element of an array, as JSON.
fn json(v: &Variant) -> std::result::Result<oibus_plugin_api::serde_json::Value, String> {
    use oibus_plugin_api::serde_json::{Number, Value};
    Ok(match data(v)? {
        DataValue::Null => Value::Null,
        DataValue::Bool(b) => Value::Bool(b),
        DataValue::Int(n) => Value::Number(n.into()),
        DataValue::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        DataValue::Text(s) => Value::String(s.into_string()),
    })
}

fn type_name(v: &Variant) -> &'static str {
    match v {
        Variant::Guid(_) => "Guid",
        Variant::StatusCode(_) => "StatusCode",
        Variant::ByteString(_) => "ByteString",
        Variant::XmlElement(_) => "XmlElement",
        Variant::QualifiedName(_) => "QualifiedName",
        Variant::LocalizedText(_) => "LocalizedText",
        Variant::NodeId(_) => "NodeId",
        Variant::ExpandedNodeId(_) => "ExpandedNodeId",
        Variant::ExtensionObject(_) => "ExtensionObject (structure)",
        Variant::Variant(_) => "Variant",
        Variant::DataValue(_) => "DataValue",
        Variant::DiagnosticInfo(_) => "DiagnosticInfo",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::{Array, LocalizedText, VariantScalarTypeId};

    fn read(v: Variant, status: StatusCode) -> UaValue {
        UaValue {
            value: Some(v),
            status: Some(status),
            source_timestamp: None,
            source_picoseconds: None,
            server_timestamp: None,
            server_picoseconds: None,
        }
    }

    fn of(v: Variant) -> std::result::Result<OibusValue, String> {
        value(
            "p",
            &read(v, StatusCode::Good),
            TimestampOrigin::Source,
            Timestamp::from_nanos(7),
        )
    }

    #[test]
    fn measurements_keep_their_kind_and_a_float32_its_shortest_decimal() {
        assert_eq!(
            of(Variant::UInt64(u64::MAX)).unwrap().value,
            DataValue::Float(u64::MAX as f64)
        );
        assert_eq!(of(Variant::UInt64(7)).unwrap().value, DataValue::Int(7));
        assert_eq!(
            of(Variant::Float(1.1)).unwrap().value,
            DataValue::Float(1.1)
        );
        assert_eq!(of(Variant::Empty).unwrap().value, DataValue::Null);
        let array = Array::new(
            VariantScalarTypeId::Double,
            vec![Variant::Double(1.0), Variant::Double(f64::NAN)],
        )
        .unwrap();
        assert_eq!(
            of(Variant::Array(Box::new(array))).unwrap().value,
            DataValue::Text("[1.0,null]".into())
        );
    }

    #[test]
    fn what_is_not_a_measurement_is_named_and_a_bad_status_without_value_fails() {
        let e = of(Variant::LocalizedText(Box::new(LocalizedText::new(
            "en", "x",
        ))))
        .unwrap_err();
        assert!(e.contains("LocalizedText") && e.contains("Boolean"), "{e}");
        let missing = UaValue {
            value: None,
            ..read(Variant::Empty, StatusCode::BadNodeIdUnknown)
        };
        let e = value(
            "p",
            &missing,
            TimestampOrigin::Source,
            Timestamp::from_nanos(7),
        )
        .unwrap_err();
        assert!(e.starts_with("BadNodeIdUnknown ("), "{e}");
    }

    #[test]
    fn statuses_become_qualities_and_the_read_time_stands_in_for_a_missing_timestamp() {
        let v = value(
            "p",
            &read(Variant::Double(1.0), StatusCode::UncertainLastUsableValue),
            TimestampOrigin::Source,
            Timestamp::from_nanos(7),
        )
        .unwrap();
        assert_eq!(
            (v.quality, v.timestamp),
            (Quality::Uncertain, Timestamp::from_nanos(7))
        );
        let v = value(
            "p",
            &read(Variant::Double(1.0), StatusCode::BadSensorFailure),
            TimestampOrigin::Gateway,
            Timestamp::from_nanos(7),
        )
        .unwrap();
        assert_eq!(v.quality, Quality::Bad);
    }
}
