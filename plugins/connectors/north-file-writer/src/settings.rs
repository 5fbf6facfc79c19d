//! The settings of the `north-file-writer` connector, with their defaults.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct FileWriterSettings {
    /// Folder the files are written to (created if missing).
    #[schemars(length(min = 1))]
    pub output_folder: String,
    /// Text put before each file name.
    #[serde(default)]
    pub prefix: String,
    /// Text put after each file name, before the extension.
    #[serde(default)]
    pub suffix: String,
    /// Files keep their own name (`prefix + name + suffix + extension`, as OIBus writes them),
    /// and a file of the same name already in the folder is replaced, so that a file delivered
    /// twice after a crash is written twice to the same place. Set `unique_names` to add a
    /// timestamp and sequence number to every file name instead (`report-1796116399104-12.csv`).
    #[serde(default)]
    pub unique_names: bool,
}
