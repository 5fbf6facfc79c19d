//! Values as the bytes of one object: OIBus's JSON array, or CSV.

use crate::settings::ValuesFormat;
use oibus_plugin_api::{prelude::*, serde_json};

/// The content, its MIME type and its extension.
pub fn encode(
    values: &[OibusValue],
    format: ValuesFormat,
) -> Result<(Vec<u8>, &'static str, &'static str)> {
    match format {
        ValuesFormat::Json => Ok((serde_json::to_vec(values)?, "application/json", "json")),
        ValuesFormat::Csv => {
            let mut out = String::from("pointId,timestamp,value,quality\n");
            for v in values {
                let data = serde_json::to_value(v)?;
                let value = match &data["data"]["value"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let quality = data["data"]["quality"]
                    .as_str()
                    .unwrap_or("good")
                    .to_string();
                for (i, field) in [v.point_id.to_string(), v.timestamp.to_iso(), value, quality]
                    .iter()
                    .enumerate()
                {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(&mut out, field);
                }
                out.push('\n');
            }
            Ok((out.into_bytes(), "text/csv", "csv"))
        }
    }
}

/// Quotes a field holding a comma, a quote or a line break (RFC 4180).
fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        let t = Timestamp::parse("2026-12-05T10:00:00Z").unwrap();
        let values = vec![
            OibusValue::new("line 1,speed", t, 3.5),
            OibusValue::new("label", t, "say \"hi\""),
        ];
        let (bytes, mime, ext) = encode(&values, ValuesFormat::Csv).unwrap();
        assert_eq!((mime, ext), ("text/csv", "csv"));
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "pointId,timestamp,value,quality\n\"line 1,speed\",2026-12-05T10:00:00Z,3.5,good\nlabel,2026-12-05T10:00:00Z,\"say \"\"hi\"\"\",good\n"
        );
    }
}
