//! From a JSON answer to values: the records an item's JSONPath selects, and in each its value,
//! instant, quality and point id. A record that lacks what the item asks for is named and left
//! out; the others are kept.
//!
//! With `records = "$.data[*]"` and `value = "$.v"`, the answer `{"data": [{"v": 1.5}, {"t": 0}]}`
//! gives one value, 1.5, and names the second record: `record 2 of 2: value selects nothing`.

use crate::settings::TimeFormat;
use oibus_plugin_api::{DataValue, OibusValue, Quality, Timestamp};
use serde_json::Value;
use serde_json_path::JsonPath;

/// The longest point id taken from an answer, in bytes.
pub const MAX_POINT_ID: usize = 1024;

/// An item's JSONPaths, parsed.
#[derive(Debug, Clone)]
pub struct Paths {
    records: JsonPath,
    value: JsonPath,
    timestamp: Option<JsonPath>,
    quality: Option<JsonPath>,
    point_id: Option<JsonPath>,
}

fn parse(setting: &str, text: &str) -> Result<JsonPath, String> {
    JsonPath::parse(text).map_err(|e| format!("{setting} {text:?} is not a JSONPath: {e}"))
}

impl Paths {
    /// Parses the paths (records, value, then the optional ones); an error names the setting.
    pub fn new(
        records: &str,
        value: &str,
        timestamp: Option<&str>,
        quality: Option<&str>,
        point_id: Option<&str>,
    ) -> Result<Self, String> {
        Ok(Self {
            records: parse("records", records)?,
            value: parse("value", value)?,
            timestamp: timestamp.map(|t| parse("timestamp", t)).transpose()?,
            quality: quality.map(|q| parse("quality", q)).transpose()?,
            point_id: point_id.map(|p| parse("point_id", p)).transpose()?,
        })
    }

    /// Whether values carry the answer's own instants.
    pub fn has_timestamp(&self) -> bool {
        self.timestamp.is_some()
    }
}

/// What one answer gave.
#[derive(Debug, Default)]
pub struct Extracted {
    /// The values of the records that had what the item asks for.
    pub values: Vec<OibusValue>,
    /// Why each other record was left out.
    pub errors: Vec<String>,
    /// The newest instant among the values.
    pub newest: Option<Timestamp>,
}

/// The one node `path` selects in `record`: `Ok(None)` when none, an error when several.
fn one<'a>(path: &JsonPath, record: &'a Value, setting: &str) -> Result<Option<&'a Value>, String> {
    let nodes = path.query(record).all();
    match nodes.len() {
        0 => Ok(None),
        1 => Ok(Some(nodes[0])),
        n => Err(format!("{setting} selects {n} nodes, not one")),
    }
}

/// A JSON value as a value: numbers (integers exactly; an integer past i64 as its text),
/// booleans, strings, null; objects and arrays as their JSON text.
pub fn data_value(v: &Value) -> DataValue {
    match v {
        Value::Null => DataValue::Null,
        Value::Bool(b) => DataValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => DataValue::Int(i),
            (None, Some(u), _) => DataValue::Text(u.to_string().into()),
            (_, _, Some(f)) => DataValue::Float(f),
            _ => DataValue::Text(n.to_string().into()),
        },
        Value::String(s) => DataValue::Text(s.as_str().into()),
        other => DataValue::Text(other.to_string().into()),
    }
}

/// An instant of an answer: RFC 3339 text, or a number in `format`'s unit.
pub fn instant(v: &Value, format: TimeFormat) -> Result<Timestamp, String> {
    match v {
        Value::String(s) => Timestamp::parse(s)
            .map_err(|e| format!("timestamp {s:?} is not an RFC 3339 instant ({e})")),
        Value::Number(n) => {
            // Units per second of the format.
            let per_second: i64 = match format {
                TimeFormat::UnixMs => 1_000,
                TimeFormat::UnixS => 1,
                TimeFormat::Iso => {
                    return Err(format!(
                        "timestamp {n} is a number: set time_format to \"unix-ms\" or \"unix-s\""
                    ));
                }
            };
            let nanos_per_unit = 1_000_000_000 / per_second;
            let out_of_range = || format!("timestamp {n} is out of range");
            // Integers exactly; fractions split so that the whole part keeps its precision.
            let nanos = match n.as_i64() {
                Some(i) => i.checked_mul(nanos_per_unit).ok_or_else(out_of_range)?,
                None => {
                    let x = n
                        .as_f64()
                        .filter(|x| x.is_finite())
                        .ok_or_else(out_of_range)?;
                    let whole = x.trunc();
                    if whole.abs() > (i64::MAX / nanos_per_unit) as f64 {
                        return Err(out_of_range());
                    }
                    let fraction = ((x - whole) * nanos_per_unit as f64).round() as i64;
                    (whole as i64)
                        .checked_mul(nanos_per_unit)
                        .and_then(|w| w.checked_add(fraction))
                        .ok_or_else(out_of_range)?
                }
            };
            Ok(Timestamp::from_datetime(
                chrono::DateTime::from_timestamp_nanos(nanos),
            ))
        }
        other => Err(format!("timestamp {other} is neither text nor a number")),
    }
}

fn quality(v: &Value) -> Result<Quality, String> {
    match v {
        Value::Bool(true) => Ok(Quality::Good),
        Value::Bool(false) => Ok(Quality::Bad),
        Value::String(s) if s.eq_ignore_ascii_case("good") => Ok(Quality::Good),
        Value::String(s) if s.eq_ignore_ascii_case("uncertain") => Ok(Quality::Uncertain),
        Value::String(s) if s.eq_ignore_ascii_case("bad") => Ok(Quality::Bad),
        other => Err(format!(
            "quality {other} is none of good, uncertain, bad, true, false"
        )),
    }
}

fn point_id(v: &Value) -> Result<String, String> {
    let id = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("point id {other} is neither text nor a number")),
    };
    if id.is_empty() || id.len() > MAX_POINT_ID {
        return Err(format!(
            "a point id of {} bytes (1 to {MAX_POINT_ID})",
            id.len()
        ));
    }
    Ok(id)
}

/// The value of one record.
fn record(
    r: &Value,
    paths: &Paths,
    item: &str,
    now: Timestamp,
    format: TimeFormat,
) -> Result<OibusValue, String> {
    let value =
        one(&paths.value, r, "value")?.ok_or_else(|| "value selects nothing".to_string())?;
    let at = match &paths.timestamp {
        None => now,
        Some(p) => instant(
            one(p, r, "timestamp")?.ok_or_else(|| "timestamp selects nothing".to_string())?,
            format,
        )?,
    };
    let id = match &paths.point_id {
        None => item.to_string(),
        Some(p) => {
            point_id(one(p, r, "point_id")?.ok_or_else(|| "point_id selects nothing".to_string())?)?
        }
    };
    let q = match &paths.quality {
        None => Quality::Good,
        Some(p) => match one(p, r, "quality")? {
            None => return Err("quality selects nothing".into()),
            Some(v) => quality(v)?,
        },
    };
    Ok(OibusValue::new(id.as_str(), at, data_value(value)).with_quality(q))
}

/// The values of `answer` for item `item` (its name is the point id unless `point_id` says
/// otherwise; `now` the instant of values without their own).
pub fn extract(
    answer: &Value,
    paths: &Paths,
    item: &str,
    now: Timestamp,
    format: TimeFormat,
) -> Extracted {
    let records = paths.records.query(answer).all();
    let total = records.len();
    let mut out = Extracted::default();
    if total == 0 {
        out.errors
            .push("records selects nothing in the answer".into());
        return out;
    }
    for (i, r) in records.into_iter().enumerate() {
        match record(r, paths, item, now, format) {
            Ok(v) => {
                out.newest = out.newest.max(Some(v.timestamp));
                out.values.push(v);
            }
            Err(e) => out.errors.push(format!("record {} of {total}: {e}", i + 1)),
        }
    }
    out
}

/// The text of the one node `path` selects in `answer` (a next page's link or cursor); `None`
/// when it selects nothing, null or an empty string.
pub fn next(answer: &Value, path: &JsonPath) -> Result<Option<String>, String> {
    match one(path, answer, "pagination.next")? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("pagination.next selects {other}, not text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-05T12:00:00Z").unwrap()
    }

    #[test]
    fn every_json_kind_becomes_a_value() {
        assert_eq!(data_value(&json!(3)), DataValue::Int(3));
        assert_eq!(data_value(&json!(-3)), DataValue::Int(-3));
        assert_eq!(data_value(&json!(2.5)), DataValue::Float(2.5));
        assert_eq!(
            data_value(&json!(u64::MAX)),
            DataValue::Text("18446744073709551615".into())
        );
        assert_eq!(data_value(&json!(true)), DataValue::Bool(true));
        assert_eq!(data_value(&json!("on")), DataValue::Text("on".into()));
        assert_eq!(data_value(&json!(null)), DataValue::Null);
        assert_eq!(
            data_value(&json!({"a": 1})),
            DataValue::Text(r#"{"a":1}"#.into())
        );
    }

    #[test]
    fn instants_in_text_or_numbers() {
        let t = Timestamp::parse("2026-12-05T10:00:00.250Z").unwrap();
        assert_eq!(
            instant(&json!("2026-12-05T11:00:00.25+01:00"), TimeFormat::Iso),
            Ok(t)
        );
        assert_eq!(instant(&json!(1796464800250u64), TimeFormat::UnixMs), Ok(t));
        assert_eq!(instant(&json!(1796464800.25), TimeFormat::UnixS), Ok(t));
        assert!(
            instant(&json!(1796464800), TimeFormat::Iso)
                .unwrap_err()
                .contains("unix-ms")
        );
        assert!(instant(&json!("yesterday"), TimeFormat::Iso).is_err());
        assert!(instant(&json!(1e300), TimeFormat::UnixS).is_err());
        assert!(instant(&json!([1]), TimeFormat::UnixS).is_err());
    }

    #[test]
    fn records_give_values_with_instant_quality_and_point_id() {
        let answer = json!({"items": [
            {"tag": "a", "v": 1, "t": 1796464800000u64, "q": "GOOD"},
            {"tag": "b", "v": 2.5, "t": 1796464801000u64, "q": false},
            {"tag": "c", "v": 3, "t": 1796464802000u64, "q": "so-so"},
            {"tag": "d", "t": 1796464803000u64},
            {"tag": ["x"], "v": 4, "t": 1796464804000u64},
        ]});
        let paths =
            Paths::new("$.items[*]", "$.v", Some("$.t"), Some("$.q"), Some("$.tag")).unwrap();
        let out = extract(&answer, &paths, "item", now(), TimeFormat::UnixMs);
        let got: Vec<(String, DataValue, Quality)> = out
            .values
            .iter()
            .map(|v| (v.point_id.to_string(), v.value.clone(), v.quality))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), DataValue::Int(1), Quality::Good),
                ("b".into(), DataValue::Float(2.5), Quality::Bad),
            ]
        );
        assert_eq!(
            out.newest,
            Some(Timestamp::parse("2026-12-05T10:00:01Z").unwrap())
        );
        assert_eq!(out.errors.len(), 3, "{:?}", out.errors);
        assert!(
            out.errors[0].starts_with("record 3 of 5: quality \"so-so\""),
            "{:?}",
            out.errors
        );
        assert!(out.errors[1].contains("value selects nothing"));
        assert!(out.errors[2].contains("point id [\"x\"]"));
    }

    #[test]
    fn an_answer_without_records_or_with_ambiguous_paths_is_named() {
        let paths = Paths::new("$.data[*]", "$.v", None, None, None).unwrap();
        let out = extract(&json!({"other": 1}), &paths, "i", now(), TimeFormat::Iso);
        assert!(out.values.is_empty() && out.errors[0].contains("records selects nothing"));
        let many = Paths::new("$", "$.v[*]", None, None, None).unwrap();
        let out = extract(&json!({"v": [1, 2]}), &many, "i", now(), TimeFormat::Iso);
        assert!(
            out.errors[0].contains("selects 2 nodes"),
            "{:?}",
            out.errors
        );
        // The whole answer as one record, the time of the read as its instant.
        let whole = Paths::new("$", "$.v", None, None, None).unwrap();
        let out = extract(&json!({"v": 7}), &whole, "i", now(), TimeFormat::Iso);
        assert_eq!(out.values[0].timestamp, now());
        assert_eq!(out.values[0].point_id.as_str(), "i");
        assert!(
            Paths::new("$.[", "$.v", None, None, None)
                .unwrap_err()
                .contains("records")
        );
    }

    #[test]
    fn next_pages_end_on_nothing_null_or_empty() {
        let p = JsonPath::parse("$.next").unwrap();
        assert_eq!(next(&json!({"next": "/p2"}), &p), Ok(Some("/p2".into())));
        assert_eq!(next(&json!({"next": 42}), &p), Ok(Some("42".into())));
        for end in [json!({}), json!({"next": null}), json!({"next": ""})] {
            assert_eq!(next(&end, &p), Ok(None));
        }
        assert!(next(&json!({"next": {"a": 1}}), &p).is_err());
    }
}
