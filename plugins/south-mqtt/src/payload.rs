//! From an MQTT message to a value.

use crate::ItemSettings;
use oibus_mqtt_common::rumqttc::{self, Publish};
use oibus_plugin_api::{prelude::*, serde_json};

/// How a message's payload holds the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum PayloadFormat {
    /// The payload is a number (as text).
    #[default]
    Number,
    /// The payload is JSON; the value (and optionally the timestamp) are found by JSON pointers.
    Json,
}

/// Payload settings of an item.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct PayloadSettings {
    /// `number` or `json`.
    #[serde(default)]
    pub format: PayloadFormat,
    /// JSON: pointer to the value (`/value`, `/data/value`…; empty: the whole document).
    #[serde(default)]
    pub value_path: String,
    /// JSON: pointer to an RFC 3339 timestamp; without it, the time of arrival.
    #[serde(default)]
    pub timestamp_path: Option<String>,
    /// JSON: pointer to the point id; without it, the item name.
    #[serde(default)]
    pub point_id_path: Option<String>,
}

/// The value of a message for the first item whose filter matches its topic (`None`: no item).
pub fn to_value(
    items: &[SouthItem<ItemSettings>],
    message: &Publish,
) -> Option<Result<OibusValue, String>> {
    let item = items
        .iter()
        .find(|i| rumqttc::matches(&message.topic, &i.settings.topic))?;
    Some(parse(item, &message.topic, &message.payload))
}

fn parse(
    item: &SouthItem<ItemSettings>,
    topic: &str,
    payload: &[u8],
) -> Result<OibusValue, String> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| format!("item {:?}: message on {topic} is not UTF-8", item.name))?;
    let p = &item.settings.payload;
    let (value, timestamp, point) = match p.format {
        PayloadFormat::Number => {
            let n: f64 = text.trim().parse().map_err(|_| {
                format!(
                    "item {:?}: message on {topic} is not a number: {text:?}",
                    item.name
                )
            })?;
            (DataValue::Float(n), Timestamp::now(), item.name.clone())
        }
        PayloadFormat::Json => {
            let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                format!("item {:?}: message on {topic} is not JSON: {e}", item.name)
            })?;
            let v = doc.pointer(&p.value_path).ok_or_else(|| {
                format!(
                    "item {:?}: no {:?} in the message on {topic}",
                    item.name, p.value_path
                )
            })?;
            let value = match v {
                serde_json::Value::Bool(b) => DataValue::Bool(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => DataValue::Int(i),
                    None => DataValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => DataValue::Text(s.as_str().into()),
                serde_json::Value::Null => DataValue::Null,
                other => DataValue::Text(other.to_string().into()),
            };
            let timestamp = match &p.timestamp_path {
                None => Timestamp::now(),
                Some(path) => doc
                    .pointer(path)
                    .and_then(|t| t.as_str())
                    .and_then(|t| Timestamp::parse(t).ok())
                    .ok_or_else(|| {
                        format!(
                            "item {:?}: no RFC 3339 timestamp at {path:?} on {topic}",
                            item.name
                        )
                    })?,
            };
            let point = match &p.point_id_path {
                None => item.name.clone(),
                Some(path) => doc
                    .pointer(path)
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!("item {:?}: no point id at {path:?} on {topic}", item.name)
                    })?,
            };
            (value, timestamp, point)
        }
    };
    Ok(OibusValue::new(point, timestamp, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(topic: &str, payload: PayloadSettings) -> SouthItem<ItemSettings> {
        SouthItem {
            name: "t".into(),
            enabled: true,
            scan_mode: "subscription".into(),
            settings: ItemSettings {
                topic: topic.into(),
                payload,
            },
        }
    }

    #[test]
    fn numbers_and_json_with_paths() {
        let n = item("plant/+/temp", PayloadSettings::default());
        assert_eq!(
            parse(&n, "plant/a/temp", b" 21.5 ").unwrap().value,
            DataValue::Float(21.5)
        );
        assert!(
            parse(&n, "plant/a/temp", b"hot")
                .unwrap_err()
                .contains("not a number")
        );
        let j = item(
            "#",
            PayloadSettings {
                format: PayloadFormat::Json,
                value_path: "/data/value".into(),
                timestamp_path: Some("/ts".into()),
                point_id_path: Some("/id".into()),
            },
        );
        let v = parse(
            &j,
            "x",
            br#"{"id": "p1", "ts": "2024-01-01T00:00:00Z", "data": {"value": 3}}"#,
        )
        .unwrap();
        assert_eq!(v.value, DataValue::Int(3));
        assert_eq!(v.point_id.as_str(), "p1");
        assert_eq!(
            v.timestamp,
            Timestamp::parse("2024-01-01T00:00:00Z").unwrap()
        );
        assert!(
            parse(&j, "x", br#"{"data": {}}"#)
                .unwrap_err()
                .contains("/data/value")
        );
    }
}
