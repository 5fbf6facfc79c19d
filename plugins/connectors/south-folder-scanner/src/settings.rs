//! Connector settings (the item settings are those of every file-collecting South).

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ScannerSettings {
    /// The folder to collect files from.
    #[schemars(length(min = 1))]
    pub input_folder: String,
}
