//! The settings of the `north-console` connector, with their defaults.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ConsoleSettings {
    /// Print every value as a JSON line; otherwise one summary line per batch.
    #[serde(default)]
    pub verbose: bool,
}
