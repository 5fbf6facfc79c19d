//! Item settings: which files an item takes, when, and what happens to them once sent.

use oibus_plugin_api::prelude::*;

/// Item settings: which files, and what happens to them once sent.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// Regular expression the file name must match (anywhere in the name; anchor it with `^…$`).
    #[serde(default = "any_name")]
    pub regex: String,
    /// A file is taken only once it has not been modified for this long (milliseconds), so that a
    /// file still being written is left alone: by its modification time (allowing for the time's
    /// precision: a minute in an FTP listing) or, whatever the server's clock, once it has been
    /// seen with the same size and time for this long.
    #[serde(default = "default_min_age")]
    pub min_age_ms: u64,
    /// What happens to the original once the engine has its own copy.
    #[serde(default)]
    pub after_read: AfterRead,
}

fn any_name() -> String {
    ".*".to_string()
}
fn default_min_age() -> u64 {
    1000
}

/// What happens to a file once the engine has durably accepted it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "mode",
    rename_all = "lowercase",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum AfterRead {
    /// Delete it (OIBus's default).
    #[default]
    Delete,
    /// Leave it in place and remember it was sent; it is sent again only if modified.
    Preserve {
        /// Never send a file of the same name twice, even if it is modified.
        #[serde(default)]
        ignore_modified_date: bool,
    },
    /// Move it into another folder.
    Move {
        /// The folder files are moved to (created if missing); for a remote folder, a path on the
        /// server.
        folder: String,
    },
}
