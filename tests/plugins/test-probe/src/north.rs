//! `probe-north`: records or counts what it receives, and fails while a fault file exists.

use crate::behaviour::{Behaviour, probe_lifecycle};
use oibus_plugin_api::{prelude::*, serde_json};
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

/// Settings of `probe-north`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct NorthSettings {
    /// Lifecycle behaviour.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// every value received is appended to this file as one JSON line (written before the send is acknowledged); every
    /// file received as a line `file <name> <size>`.
    #[serde(default)]
    pub record_file: Option<String>,
    /// While this file exists, sends fail: permanently if it contains `permanent`, else transiently.
    #[serde(default)]
    pub fault_file: Option<String>,
    /// Milliseconds each send takes.
    #[serde(default)]
    pub delay_ms: u64,
    /// A call with one of these integer values fails permanently (naming the value), as a
    /// destination that refuses one record of a batch fails the whole request.
    #[serde(default)]
    pub refuse_values: Vec<i64>,
    /// A call with one of these integer values fails as a lost connection, as a broker that
    /// closes the connection on a message it cannot take.
    #[serde(default)]
    pub lose_connection_on_values: Vec<i64>,
    /// A call with a file of one of these names fails permanently (naming it), alone or in a
    /// batch.
    #[serde(default)]
    pub refuse_files: Vec<String>,
    /// The timestamp of the values received, in nanoseconds since the epoch, is appended to this
    /// file as one line for each run of values stamped alike: one line a scan, as a South stamps
    /// a scan's values with one instant (the scan jitter benchmark reads it).
    #[serde(default)]
    pub timestamps_file: Option<String>,
}

/// The probe North connector.
pub struct ProbeNorth {
    behaviour: Behaviour,
    settings: NorthSettings,
    ctx: Context,
    received: u64,
}

impl ProbeNorth {
    async fn before_send(&self, what: &str) -> Result<()> {
        self.behaviour.journal(what)?;
        self.behaviour.crash_if_asked();
        if self.settings.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.settings.delay_ms)).await;
        }
        if let Some(fault) = &self.settings.fault_file
            && let Ok(text) = fs::read_to_string(fault)
        {
            return Err(if text.contains("permanent") {
                PluginError::permanent(format!("probe: permanent fault ({fault})"))
            } else {
                PluginError::transient(format!("probe: transient fault ({fault})"))
            });
        }
        Ok(())
    }

    fn record(&self, lines: &[u8]) -> Result<()> {
        if let Some(path) = &self.settings.record_file {
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            f.write_all(lines)?;
        }
        Ok(())
    }
}

impl Connector for ProbeNorth {
    type Settings = NorthSettings;

    fn new(settings: NorthSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            behaviour: settings.behaviour.clone(),
            settings,
            ctx,
            received: 0,
        })
    }

    probe_lifecycle!();

    async fn disconnect(&mut self) -> Result<()> {
        self.behaviour.journal("disconnect")?;
        tracing::info!("received {} values", self.received);
        Ok(())
    }
}

impl HandlesValues for ProbeNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        self.before_send("handle_values").await?;
        for v in &values {
            if let DataValue::Int(i) = v.value {
                if self.settings.refuse_values.contains(&i) {
                    return Err(PluginError::permanent(format!(
                        "probe: value {i} of {} refused",
                        v.point_id
                    )));
                }
                if self.settings.lose_connection_on_values.contains(&i) {
                    return Err(PluginError::connection_lost(format!(
                        "probe: connection closed on value {i} of {}",
                        v.point_id
                    )));
                }
            }
        }
        if self.settings.record_file.is_some() {
            let mut lines = Vec::with_capacity(values.len() * 96);
            for v in &values {
                serde_json::to_writer(&mut lines, v)?;
                lines.push(b'\n');
            }
            self.record(&lines)?;
        }
        if let Some(path) = &self.settings.timestamps_file {
            let mut lines = String::new();
            let mut last = None;
            for v in &values {
                if last != Some(v.timestamp.0) {
                    last = Some(v.timestamp.0);
                    lines.push_str(&format!("{}\n", v.timestamp.0));
                }
            }
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?
                .write_all(lines.as_bytes())?;
        }
        self.received += values.len() as u64;
        Ok(())
    }
}

impl ProbeNorth {
    /// The line recorded for a file, or the refusal of a file named in `refuse_files`.
    fn file_line(&self, path: &Path) -> Result<String> {
        let size = fs::metadata(path)?.len();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if self.settings.refuse_files.iter().any(|r| *r == name) {
            return Err(PluginError::permanent(format!(
                "probe: file {name} refused"
            )));
        }
        Ok(format!("file {name} {size}\n"))
    }
}

impl HandlesFile for ProbeNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        self.before_send("handle_file").await?;
        let line = self.file_line(path)?;
        self.record(line.as_bytes())
    }
}

impl HandlesFileBatches for ProbeNorth {
    /// Records `batch <count>`, then a line a file; nothing when one file is refused.
    async fn handle_files(&mut self, paths: &[PathBuf]) -> Result<()> {
        self.before_send("handle_files").await?;
        let mut lines = format!("batch {}\n", paths.len());
        for p in paths {
            lines.push_str(&self.file_line(p)?);
        }
        self.record(lines.as_bytes())
    }
}
