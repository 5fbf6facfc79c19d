//! From an MQTT message to a value.

use crate::settings::{ItemSettings, PayloadFormat};
use oibus_mqtt_common::rumqttc::{self, Publish};
use oibus_plugin_api::{prelude::*, serde_json};

/// Why a message gives no value. Every case is counted and acknowledged by the connector.
#[derive(Debug, PartialEq)]
pub enum Unusable {
    /// No item's filter matches the topic.
    NoItem,
    /// The item's payload cannot be read.
    Bad(String),
}

/// The value of a message for the first item whose filter matches its topic.
pub fn to_value(
    items: &[SouthItem<ItemSettings>],
    message: &Publish,
) -> Result<OibusValue, Unusable> {
    let item = items
        .iter()
        .find(|i| rumqttc::matches(&message.topic, &i.settings.topic))
        .ok_or(Unusable::NoItem)?;
    parse(item, &message.topic, &message.payload).map_err(Unusable::Bad)
}

/// The point id of a message on `topic` for `item`: its `point_id` template with `{name}` (the
/// item's name), `{topic}` (the whole topic) and `{1}`, `{2}`… (the topic's levels, from 1).
pub fn point_id(item: &SouthItem<ItemSettings>, topic: &str) -> Result<String, String> {
    let Some(template) = &item.settings.point_id else {
        return Ok(item.name.clone());
    };
    let mut out = String::with_capacity(template.len() + topic.len());
    let mut rest = template.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
            format!(
                "item {:?}: point_id {template:?}: '{{' without '}}'",
                item.name
            )
        })?;
        let key = &rest[open + 1..close];
        match key {
            "name" => out.push_str(&item.name),
            "topic" => out.push_str(topic),
            n => {
                let level: usize = n.parse().map_err(|_| {
                    format!(
                        "item {:?}: point_id {template:?}: {{{n}}} is not {{name}}, {{topic}} or a level number",
                        item.name
                    )
                })?;
                let part = level
                    .checked_sub(1)
                    .and_then(|i| topic.split('/').nth(i))
                    .ok_or_else(|| {
                        format!(
                            "item {:?}: point_id {template:?}: topic {topic} has no level {level}",
                            item.name
                        )
                    })?;
                out.push_str(part);
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A number as text: an integer when it is one, else a float (`nan`, `inf` included: the engine
/// gives those quality `bad`).
fn number(text: &str) -> Option<DataValue> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(DataValue::Int(i));
    }
    t.parse::<f64>().ok().map(DataValue::Float)
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
            let n = number(text).ok_or_else(|| {
                format!(
                    "item {:?}: message on {topic} is not a number: {:?}",
                    item.name,
                    shortened(text)
                )
            })?;
            (n, Timestamp::now(), point_id(item, topic)?)
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
                    .and_then(|t| match t {
                        serde_json::Value::String(s) => Timestamp::parse(s).ok(),
                        serde_json::Value::Number(n) => n.as_i64().map(Timestamp::from_millis),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        format!(
                            "item {:?}: no RFC 3339 timestamp (or epoch milliseconds) at {path:?} on {topic}",
                            item.name
                        )
                    })?,
            };
            let point = match &p.point_id_path {
                None => point_id(item, topic)?,
                Some(path) => match doc.pointer(path) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(format!(
                            "item {:?}: no point id (string or number) at {path:?} on {topic}",
                            item.name
                        ));
                    }
                },
            };
            (value, timestamp, point)
        }
    };
    Ok(OibusValue::new(point, timestamp, value))
}

/// At most 80 characters of a payload, for messages.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PayloadSettings;

    fn item(topic: &str, payload: PayloadSettings) -> SouthItem<ItemSettings> {
        SouthItem {
            name: "t".into(),
            enabled: true,
            scan_mode: "subscription".into(),
            settings: ItemSettings {
                topic: topic.into(),
                payload,
                point_id: None,
            },
        }
    }

    #[test]
    fn numbers_keep_integers_and_json_reads_paths() {
        let n = item("plant/+/temp", PayloadSettings::default());
        assert_eq!(
            parse(&n, "plant/a/temp", b" 21.5 ").unwrap().value,
            DataValue::Float(21.5)
        );
        assert_eq!(
            parse(&n, "plant/a/temp", b"0").unwrap().value,
            DataValue::Int(0)
        );
        assert!(matches!(
            parse(&n, "plant/a/temp", b"NaN").unwrap().value,
            DataValue::Float(f) if f.is_nan()
        ));
        assert!(
            parse(&n, "plant/a/temp", b"hot")
                .unwrap_err()
                .contains("not a number: \"hot\"")
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
        // A numeric id and epoch milliseconds.
        let v = parse(
            &j,
            "x",
            br#"{"id": 17, "ts": 1000, "data": {"value": 1.5}}"#,
        )
        .unwrap();
        assert_eq!(v.point_id.as_str(), "17");
        assert_eq!(v.timestamp, Timestamp::from_millis(1000));
        assert!(
            parse(&j, "x", br#"{"data": {}}"#)
                .unwrap_err()
                .contains("/data/value")
        );
    }

    #[test]
    fn point_ids_come_from_topic_levels() {
        let mut i = item("peer/plain/+", PayloadSettings::default());
        assert_eq!(point_id(&i, "peer/plain/s1").unwrap(), "t");
        i.settings.point_id = Some("{topic}".into());
        assert_eq!(point_id(&i, "peer/plain/s1").unwrap(), "peer/plain/s1");
        i.settings.point_id = Some("{name}.{3}".into());
        assert_eq!(point_id(&i, "peer/plain/s1").unwrap(), "t.s1");
        i.settings.point_id = Some("{4}".into());
        assert!(
            point_id(&i, "peer/plain/s1")
                .unwrap_err()
                .contains("no level 4")
        );
        i.settings.point_id = Some("{x}".into());
        assert!(point_id(&i, "a").unwrap_err().contains("{x}"));
    }
}
