//! Test fixture: a complete plugin that declares API `0.<host minor + 1>.0`, as if built against a
//! newer `oibus-plugin-api` than the engine's. The engine must refuse it by the version rule,
//! naming both versions, before running any of its code.

use oibus_plugin_api::prelude::*;

/// A North connector that accepts everything.
pub struct Null;

/// No settings.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct NoSettings {}

impl Connector for Null {
    type Settings = NoSettings;
    fn new(_: NoSettings, _: Context) -> Result<Self> {
        Ok(Null)
    }
}

impl HandlesValues for Null {
    async fn handle_values(&mut self, _: Vec<OibusValue>) -> Result<()> {
        Ok(())
    }
}

fn plugin() -> Plugin {
    Plugin::new("Newer API fixture", "oibus-rs")
        .connector(ConnectorType::<Null>::north("newer-api-null", "Null").handles_values())
}

oibus_plugin_api::export_plugin!(
    plugin,
    declaration = oibus_plugin_api::ffi::PluginDeclaration::new(
        oibus_plugin_api::API_VERSION,
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    )
    .next_minor()
);
