//! Test fixture: a plugin built against the frozen plugin API 1.0. It uses every host function
//! API 1.0 offers (values, item states, drops, logs, the state folder), so that a newer engine
//! must keep serving all of them to a plugin that knows nothing of what came later.

use oibus_plugin_api::prelude::*;
use std::{fs::OpenOptions, io::Write as _, path::PathBuf};

/// Settings of the South.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct CounterSettings {
    /// Added to each item's value at each scan.
    #[serde(default = "one")]
    pub step: f64,
}

fn one() -> f64 {
    1.0
}

/// Settings of one item.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct CounterItem {
    /// The first value; `fail` makes the item report an error instead.
    #[serde(default)]
    pub start: f64,
    /// This item fails (reported through the item state function).
    #[serde(default)]
    pub fail: bool,
}

/// A South counting up on each scan.
pub struct Counter {
    settings: CounterSettings,
    ctx: Context,
    scans: u64,
}

impl Connector for Counter {
    type Settings = CounterSettings;
    fn new(settings: CounterSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            scans: 0,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        // The state folder of API 1.0: the count survives restarts.
        let saved = std::fs::read_to_string(self.counter_file()).unwrap_or_default();
        self.scans = saved.trim().parse().unwrap_or(0);
        tracing::info!("api-1.0 counter connected at scan {}", self.scans);
        Ok(())
    }
}

impl Counter {
    fn counter_file(&self) -> PathBuf {
        self.ctx.state_dir().join("scans")
    }
}

impl South for Counter {
    type ItemSettings = CounterItem;
}

impl QueriesLastPoint for Counter {
    async fn last_point_query(&mut self, items: &[SouthItem<CounterItem>]) -> Result<()> {
        self.scans += 1;
        let now = Timestamp::now();
        let mut values = Vec::new();
        for item in items {
            if item.settings.fail {
                self.ctx.item_failed(&item.name, "this item is set to fail");
                continue;
            }
            self.ctx.item_ok(&item.name);
            let v = item.settings.start + self.settings.step * self.scans as f64;
            values.push(OibusValue::new(
                item.name.as_str(),
                now,
                DataValue::Float(v),
            ));
        }
        self.ctx.dropped(0, "nothing dropped");
        self.ctx.add_values(values).await?;
        std::fs::write(self.counter_file(), self.scans.to_string())
            .map_err(|e| PluginError::transient(format!("cannot save the count: {e}")))?;
        Ok(())
    }
}

/// Settings of the North.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct RecorderSettings {
    /// The file each value is appended to, one JSON line per value.
    pub file: PathBuf,
}

/// A North appending values to a file.
pub struct Recorder {
    settings: RecorderSettings,
}

impl Connector for Recorder {
    type Settings = RecorderSettings;
    fn new(settings: RecorderSettings, _ctx: Context) -> Result<Self> {
        Ok(Self { settings })
    }
}

impl HandlesValues for Recorder {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.settings.file)
            .map_err(|e| {
                PluginError::transient(format!("{}: {e}", self.settings.file.display()))
            })?;
        let mut text = String::new();
        for v in &values {
            let line =
                oibus_plugin_api::serde_json::to_string(v).map_err(PluginError::permanent)?;
            text.push_str(&line);
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| PluginError::transient(format!("{}: {e}", self.settings.file.display())))
    }
}

fn plugin() -> Plugin {
    Plugin::new("API 1.0 fixture", "oibus-rs")
        .connector(
            ConnectorType::<Counter>::south("api10-counter", "Counter built for API 1.0")
                .queries_last_point(),
        )
        .connector(
            ConnectorType::<Recorder>::north("api10-recorder", "Recorder built for API 1.0")
                .handles_values(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
