//! Values as InfluxDB line protocol: measurement and tags from templates over the point id,
//! the value as field `value`, the instant in nanoseconds.

use oibus_plugin_api::prelude::*;
use regex::Regex;
use std::collections::BTreeMap;

/// Turns point ids into measurements and tags.
pub struct Templates {
    measurement: String,
    tags: BTreeMap<String, String>,
    pattern: Option<Regex>,
    quality_tag: bool,
}

/// Escapes a measurement (commas and spaces) or a tag key or value (commas, `=` and spaces);
/// line breaks, which no escape carries, become spaces (escaped).
fn escape(out: &mut String, text: &str, equals: bool) {
    for c in text.chars() {
        match c {
            ',' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '=' if equals => out.push_str("\\="),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push_str("\\ "),
            _ => out.push(c),
        }
    }
}

impl Templates {
    /// Checks and compiles the settings' templates.
    pub fn new(
        measurement: &str,
        tags: &BTreeMap<String, String>,
        pattern: Option<&str>,
        quality_tag: bool,
    ) -> Result<Self> {
        let pattern = pattern
            .map(|p| {
                Regex::new(p)
                    .map_err(|e| PluginError::invalid_settings(format!("point_pattern {p:?}: {e}")))
            })
            .transpose()?;
        Ok(Self {
            measurement: measurement.to_string(),
            tags: tags.clone(),
            pattern,
            quality_tag,
        })
    }

    fn fill(&self, template: &str, point: &str, captures: Option<&regex::Captures<'_>>) -> String {
        let mut out = template.replace("{pointId}", point);
        if let (Some(re), Some(c)) = (&self.pattern, captures) {
            for name in re.capture_names().flatten() {
                let value = c.name(name).map_or("", |m| m.as_str());
                out = out.replace(&format!("{{{name}}}"), value);
            }
        } else if let Some(re) = &self.pattern {
            for name in re.capture_names().flatten() {
                out = out.replace(&format!("{{{name}}}"), "");
            }
        }
        out
    }

    /// The line of `v`, appended to `out`; a value no field can hold (not a finite number) is
    /// refused for good, naming it.
    pub fn line(&self, v: &OibusValue, out: &mut String) -> Result<()> {
        let point = v.point_id.as_str();
        let captures = self.pattern.as_ref().and_then(|re| re.captures(point));
        let measurement = self.fill(&self.measurement, point, captures.as_ref());
        if measurement.is_empty() {
            return Err(PluginError::permanent(format!(
                "value of {point:?}: its measurement template gives an empty name"
            )));
        }
        escape(out, &measurement, false);
        for (key, template) in &self.tags {
            let value = self.fill(template, point, captures.as_ref());
            if value.is_empty() {
                continue;
            }
            out.push(',');
            escape(out, key, true);
            out.push('=');
            escape(out, &value, true);
        }
        if self.quality_tag {
            out.push_str(",quality=");
            out.push_str(match v.quality {
                Quality::Good => "good",
                Quality::Uncertain => "uncertain",
                Quality::Bad => "bad",
            });
        }
        out.push_str(" value=");
        match &v.value {
            DataValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            DataValue::Int(n) => {
                out.push_str(&n.to_string());
                out.push('i');
            }
            DataValue::Float(f) if f.is_finite() => out.push_str(&format!("{f:?}")),
            DataValue::Float(f) => {
                return Err(PluginError::permanent(format!(
                    "value of {point:?} at {}: {f} is not a number InfluxDB can store",
                    v.timestamp
                )));
            }
            DataValue::Text(s) => {
                out.push('"');
                out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            }
            DataValue::Null => {
                return Err(PluginError::permanent(format!(
                    "value of {point:?} at {}: null is not a number, a boolean or a text",
                    v.timestamp
                )));
            }
        }
        out.push(' ');
        out.push_str(&v.timestamp.as_nanos().to_string());
        out.push('\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Timestamp {
        Timestamp::parse("2026-12-05T10:00:00Z").unwrap()
    }

    #[test]
    fn templates_use_the_pattern_groups_and_escape() {
        let tags = BTreeMap::from([
            ("site".to_string(), "{site}".to_string()),
            ("line".to_string(), "{line}".to_string()),
        ]);
        let tpl = Templates::new(
            "{signal}",
            &tags,
            Some(r"^(?<site>[^.]+)\.(?<line>[^.]+)\.(?<signal>.+)$"),
            true,
        )
        .unwrap();
        let mut out = String::new();
        tpl.line(&OibusValue::new("plant 1.line,2.speed", t(), 3.5), &mut out)
            .unwrap();
        tpl.line(
            &OibusValue::new("plant 1.line,2.count", t(), 7i64),
            &mut out,
        )
        .unwrap();
        tpl.line(&OibusValue::new("a.b.label", t(), "say \"hi\""), &mut out)
            .unwrap();
        assert_eq!(
            out,
            "speed,line=line\\,2,site=plant\\ 1,quality=good value=3.5 1796464800000000000\n\
             count,line=line\\,2,site=plant\\ 1,quality=good value=7i 1796464800000000000\n\
             label,line=b,site=a,quality=good value=\"say \\\"hi\\\"\" 1796464800000000000\n"
        );
    }

    #[test]
    fn non_finite_numbers_are_refused_by_name() {
        let tpl = Templates::new("m", &BTreeMap::new(), None, false).unwrap();
        let mut out = String::new();
        let e = tpl
            .line(&OibusValue::new("p", t(), f64::NAN), &mut out)
            .unwrap_err();
        assert!(e.message.contains("value of \"p\""), "{}", e.message);
    }
}
