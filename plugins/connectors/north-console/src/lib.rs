//! `north-console`: prints what it receives on the engine's standard output. Handy for demos and to
//! check a South's data at a glance.

use oibus_plugin_api::prelude::*;
use std::io::Write;
use std::path::Path;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ConsoleSettings {
    /// Print every value as a JSON line; otherwise one summary line per batch.
    #[serde(default)]
    pub verbose: bool,
}

/// The console North connector.
pub struct Console {
    settings: ConsoleSettings,
    ctx: Context,
}

/// One line summarising a batch: count, time span and the first value.
pub fn summary(connector: &str, values: &[OibusValue]) -> String {
    let (Some(first), Some(last)) = (
        values.iter().min_by_key(|v| v.timestamp),
        values.iter().max_by_key(|v| v.timestamp),
    ) else {
        return format!("[{connector}] 0 values");
    };
    let first_json = oibus_plugin_api::serde_json::to_string(values.first().unwrap_or(first))
        .unwrap_or_default();
    format!(
        "[{connector}] {} values from {} to {}, first: {first_json}",
        values.len(),
        first.timestamp,
        last.timestamp
    )
}

impl Connector for Console {
    type Settings = ConsoleSettings;

    fn new(settings: ConsoleSettings, ctx: Context) -> Result<Self> {
        Ok(Self { settings, ctx })
    }
}

impl HandlesValues for Console {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let mut out = std::io::stdout().lock();
        if self.settings.verbose {
            for v in &values {
                let line = oibus_plugin_api::serde_json::to_string(v)?;
                writeln!(out, "{line}")?;
            }
        } else {
            writeln!(out, "{}", summary(&self.ctx.connector_id(), &values))?;
        }
        out.flush()?;
        Ok(())
    }
}

impl HandlesFile for Console {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let size = std::fs::metadata(path)
            .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.display())))?
            .len();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "[{}] file {} ({size} bytes)",
            self.ctx.connector_id(),
            path.display()
        )?;
        out.flush()?;
        Ok(())
    }
}

fn plugin() -> Plugin {
    Plugin::new("Console", "oibus-rs")
        .description("Prints values and files on the engine's standard output")
        .connector(
            ConnectorType::<Console>::north("console", "Console")
                .description("Prints a summary (or every value) of what it receives")
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_count_span_and_first_value() {
        let values = vec![
            OibusValue::new("b", Timestamp::from_millis(2_000), 2.0),
            OibusValue::new("a", Timestamp::from_millis(1_000), 1.0),
        ];
        let s = summary("console", &values);
        assert!(
            s.starts_with("[console] 2 values from 1970-01-01T00:00:01Z to 1970-01-01T00:00:02Z"),
            "{s}"
        );
        assert!(s.contains(r#""pointId":"b""#), "{s}");
        assert_eq!(summary("c", &[]), "[c] 0 values");
    }
}
