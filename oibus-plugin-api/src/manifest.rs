//! What a plugin declares about itself. The manifest crosses the boundary as JSON text, so new
//! optional fields never change the ABI.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether a connector type reads data (South) or sends it (North).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    /// A source: reads from a device, a server, a folder…
    South,
    /// A destination: sends values and files somewhere.
    North,
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::South => "south",
            Self::North => "north",
        })
    }
}

/// One capability of the OIBus connector contract.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Capability {
    /// North: receives batches of values (`handle_values`).
    HandlesValues,
    /// North: receives files (`handle_file`).
    HandlesFile,
    /// South: reads the last value of its items on each scan (`last_point_query`).
    QueriesLastPoint,
    /// South: collects files on each scan (`file_query`).
    QueriesFile,
    /// South: reads a time range of history (`history_query`).
    QueriesHistory,
    /// South: pushes values as they arrive (`subscribe` / `unsubscribe`).
    QueriesSubscription,
    /// South: reads one item on demand and returns what it read, without sending it
    /// (`test_item`, API 1.1): OIBus's "test an item before saving it".
    TestsItem,
    /// South: lists what the source offers, as nodes that can become items (`browse`, API 1.2).
    Browses,
    /// North: receives several files in one call (`handle_files`, API 1.3), so that it can make
    /// them durable together; declared on top of `HandlesFile`.
    HandlesFileBatches,
}

impl Capability {
    /// The kind of connector this capability belongs to.
    pub fn kind(self) -> ConnectorKind {
        match self {
            Self::HandlesValues | Self::HandlesFile | Self::HandlesFileBatches => {
                ConnectorKind::North
            }
            _ => ConnectorKind::South,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One connector type offered by a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectorTypeManifest {
    /// Identifier used in configurations (`type = "…"`); unique across all loaded plugins.
    pub id: String,
    /// South or North.
    pub kind: ConnectorKind,
    /// Display name.
    pub name: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// The capabilities it implements.
    pub capabilities: Vec<Capability>,
    /// JSON Schema of the connector settings.
    pub settings_schema: serde_json::Value,
    /// JSON Schema of each item's settings (South only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_schema: Option<serde_json::Value>,
}

/// Everything a plugin library declares about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    /// Stable plugin identifier, for example `acme-modbus`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Who ships it.
    pub vendor: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// The plugin's own version (semver, from its Cargo.toml).
    pub version: String,
    /// The plugin-API version it was built against (captured at compile time).
    pub api_version: String,
    /// Connector types it offers.
    pub connector_types: Vec<ConnectorTypeManifest>,
}

impl Manifest {
    /// The connector type with this id, if the plugin offers it.
    pub fn connector_type(&self, id: &str) -> Option<&ConnectorTypeManifest> {
        self.connector_types.iter().find(|t| t.id == id)
    }
}
