//! `oibus test-item`: read one item of a South type once, on a connector made for the test, and
//! print what it read. Nothing is sent anywhere.

use super::scratch::{ScratchConnector, TypeArgs, read_json};
use anyhow::Context as _;
use oibus_engine::connector::{self, TrialItem};
use oibus_plugin_api::OibusValue;

/// Arguments of `oibus test-item`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    of: TypeArgs,
    /// The item as JSON, `{"name": …, "settings": {…}}` (optional `scan_mode`), or @FILE.
    #[arg(long)]
    item: String,
    /// Print the values as a JSON array (OIBus's value shape) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command; exit code 0 when the item was read, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let item: TrialItem = serde_json::from_value(read_json("--item", &args.item)?)
        .context("--item must be {\"name\": …, \"settings\": {…}}")?;
    let trial = ScratchConnector::open(&args.of)?;
    let type_id = &args.of.type_id;
    let Some((plugin, _)) = trial.registry.connector_type(type_id) else {
        let known: Vec<_> = trial.registry.type_ids().collect();
        eprintln!(
            "item test FAILED: no connector type {type_id:?} in {} (types: {})",
            args.of.plugins.display(),
            known.join(", ")
        );
        return Ok(1);
    };
    let result = trial.runtime.block_on(connector::test_item(
        plugin,
        trial.spec("test-item", type_id),
        &item,
    ));
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
