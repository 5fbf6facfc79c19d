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
    /// How a batch of files is made durable before it counts as written: `each-file` (an
    /// fsync of every file, 16 at a time) or `file-system` (one flush of the output folder's
    /// whole file system, `syncfs`, for the batch: one flush instead of one a file, which
    /// helps where flushes are the bound; it also waits for whatever else is being written
    /// there; Linux only, elsewhere `each-file`). Either way a file appears under its name only
    /// once its bytes are durable.
    #[serde(default)]
    pub sync: BatchSync,
}

/// How a batch of written files is made durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum BatchSync {
    /// An fsync of every file.
    #[default]
    EachFile,
    /// One `syncfs` of the output folder's file system.
    FileSystem,
}
