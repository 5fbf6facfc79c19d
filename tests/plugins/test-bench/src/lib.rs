//! Benchmark fixture. Its connector type ids are derived at run time from the plugin id in its
//! declaration, so the benchmark can make any number of distinct plugins from this one file by
//! rewriting the id in the declaration (see `tests/benches/loading.rs`).
//!
//! * `<id>-north`: `handle_values` does nothing: times an asynchronous call across the boundary.
//! * `<id>-south`: `last_point_query` calls the host's `connector_id` as often as each item's
//!   `sync_calls` says: times a synchronous call across the boundary.

use oibus_plugin_api::prelude::*;

/// No settings.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct NoSettings {}

/// Item settings of the South.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct CallItem {
    /// How many synchronous host calls to make.
    pub sync_calls: u64,
}

/// A North that accepts everything.
pub struct Sink;

impl Connector for Sink {
    type Settings = NoSettings;
    fn new(_: NoSettings, _: Context) -> Result<Self> {
        Ok(Sink)
    }
}

impl HandlesValues for Sink {
    async fn handle_values(&mut self, _: Vec<OibusValue>) -> Result<()> {
        Ok(())
    }
}

/// A South that calls its host.
pub struct Caller {
    ctx: Context,
}

impl Connector for Caller {
    type Settings = NoSettings;
    fn new(_: NoSettings, ctx: Context) -> Result<Self> {
        Ok(Caller { ctx })
    }
}

impl South for Caller {
    type ItemSettings = CallItem;
}

impl QueriesLastPoint for Caller {
    async fn last_point_query(&mut self, items: &[SouthItem<CallItem>]) -> Result<()> {
        let mut len = 0;
        for item in items {
            for _ in 0..item.settings.sync_calls {
                len += self.ctx.connector_id().len();
            }
        }
        std::hint::black_box(len);
        Ok(())
    }
}

fn plugin() -> Plugin {
    // Read the declaration from memory, not from the constant it was built from: the benchmark
    // rewrites the id in the file.
    // SAFETY: a plain-old-data static of this library, always initialised.
    let declaration = unsafe { std::ptr::read_volatile(&raw const oibus_plugin_declaration) };
    let id = declaration.plugin_id();
    let north: &'static str = Box::leak(format!("{id}-north").into_boxed_str());
    let south: &'static str = Box::leak(format!("{id}-south").into_boxed_str());
    Plugin::new("Benchmark fixture", "oibus-rs")
        .connector(ConnectorType::<Sink>::north(north, "Sink").handles_values())
        .connector(ConnectorType::<Caller>::south(south, "Caller").queries_last_point())
}

oibus_plugin_api::export_plugin!(plugin);
