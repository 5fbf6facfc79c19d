//! `oibus test-item`: read one item of a South type once, on a connector made for the test, and
//! print what it read. Nothing is sent anywhere.

use super::{
    inspection_options,
    test_connection::{read_json, tempfile_dir},
};
use crate::{
    connector::{self, ConnectorSpec, Timeouts, TrialItem},
    plugin::PluginRegistry,
};
use anyhow::Context as _;
use oibus_plugin_api::OibusValue;
use std::{path::PathBuf, time::Duration};

/// Arguments of `oibus test-item`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugins folder.
    #[arg(long)]
    plugins: PathBuf,
    /// The South connector type id (see `oibus plugins list`).
    #[arg(long = "type")]
    type_id: String,
    /// Connector settings as JSON text, or @FILE to read them from a file.
    #[arg(long)]
    settings: String,
    /// The item as JSON, `{"name": …, "settings": {…}}` (optional `scan_mode`), or @FILE.
    #[arg(long)]
    item: String,
    /// Seconds to wait for each step (connect, read) before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Data folder (shadow copies go to DATA/plugin-cache; the plugin's shared folder is
    /// DATA/plugin-data/PLUGIN).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print the values as a JSON array (OIBus's value shape) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command; exit code 0 when the item was read, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let settings = read_json("--settings", &args.settings)?;
    let item: TrialItem = serde_json::from_value(read_json("--item", &args.item)?)
        .context("--item must be {\"name\": …, \"settings\": {…}}")?;
    let options = inspection_options(args.data.as_ref())?;
    let (registry, _) = PluginRegistry::discover(&args.plugins, &options)
        .with_context(|| format!("cannot read the plugins folder {}", args.plugins.display()))?;
    let Some((plugin, _)) = registry.connector_type(&args.type_id) else {
        let known: Vec<_> = registry.type_ids().collect();
        eprintln!(
            "item test FAILED: no connector type {:?} in {} (types: {})",
            args.type_id,
            args.plugins.display(),
            known.join(", ")
        );
        return Ok(1);
    };
    let state = tempfile_dir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs(args.timeout);
    let plugins_data = args
        .data
        .as_ref()
        .map_or_else(|| state.join("plugin-data"), |d| d.join("plugin-data"));
    let result = runtime.block_on(connector::test_item(
        plugin,
        ConnectorSpec {
            id: "test-item",
            type_id: &args.type_id,
            settings: &settings,
            state_dir: state.clone(),
            plugins_data,
            timeouts: Timeouts {
                lifecycle: timeout,
                data: timeout,
            },
            reports: Default::default(),
            isolation: None,
        },
        &item,
    ));
    let _ = std::fs::remove_dir_all(&state);
    match result {
        Ok(values) if args.json => {
            println!("{}", serde_json::to_string_pretty(&values)?);
            Ok(0)
        }
        Ok(values) => {
            print!("{}", table(&values));
            println!(
                "item {:?}: {} value(s) read, nothing sent",
                item.name,
                values.len()
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("item test FAILED: {e}");
            Ok(1)
        }
    }
}

fn table(values: &[OibusValue]) -> String {
    let rows: Vec<Vec<String>> = values
        .iter()
        .map(|v| {
            vec![
                v.point_id.to_string(),
                v.timestamp.to_string(),
                serde_json::to_string(&v.value).unwrap_or_default(),
                format!("{:?}", v.quality).to_lowercase(),
            ]
        })
        .collect();
    super::table::render(&["POINT", "TIMESTAMP", "VALUE", "QUALITY"], &rows)
}
