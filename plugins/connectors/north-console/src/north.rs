//! The `north-console` connector: its lifecycle and data calls.

use crate::settings::*;
use oibus_plugin_api::prelude::*;
use std::io::Write;
use std::path::Path;

/// The console North connector.
pub struct Console {
    pub(crate) settings: ConsoleSettings,
    pub(crate) ctx: Context,
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
