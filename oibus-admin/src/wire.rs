//! The API's wire types: every request body, query and answer, with their serde and JSON Schema
//! derives (the OpenAPI document is generated from them). Answers built from the engine's
//! replies map the engine's types here, so the API's shape and documentation live in one file.

use oibus_engine::engine::commands::{CacheContents, CachedEntry, OfferedType};
use oibus_plugin_api::{ConnectorTypeManifest, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A connector type of a loaded plugin (`GET /api/connector-types`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TypeInfo {
    /// Plugin id.
    pub plugin: String,
    /// Plugin version.
    pub plugin_version: String,
    /// The type's manifest (with its JSON Schemas).
    #[serde(flatten)]
    pub manifest: ConnectorTypeManifest,
}

impl From<OfferedType> for TypeInfo {
    fn from(t: OfferedType) -> Self {
        Self {
            plugin: t.plugin,
            plugin_version: t.plugin_version,
            manifest: t.manifest,
        }
    }
}

/// One queued or error-store entry of a North's cache.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CacheEntry {
    /// Its key (to retry or delete it).
    pub key: u64,
    /// `values` or `file`.
    pub kind: &'static str,
    /// Values in the batch (files: 1).
    pub count: usize,
    /// Bytes.
    pub bytes: u64,
    /// File name (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Error store, values: the first distinct point ids of the batch (at most five).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<String>,
    /// Error store: why it was set aside (the destination's refusal, or the last error of the
    /// retries); absent for an entry an earlier version set aside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Error store: when it was set aside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<oibus_plugin_api::Timestamp>,
}

impl From<CachedEntry> for CacheEntry {
    fn from(e: CachedEntry) -> Self {
        Self {
            key: e.key,
            kind: if e.file.is_some() { "file" } else { "values" },
            count: e.count,
            bytes: e.bytes,
            name: e.file,
            points: e.points,
            reason: e.set_aside.as_ref().map(|w| w.reason.clone()),
            failed_at: e.set_aside.map(|w| w.at),
        }
    }
}

/// A North's cache (`GET /api/north/{id}/cache`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CacheListing {
    /// Waiting to be sent.
    pub queued: Vec<CacheEntry>,
    /// In the error store.
    pub errors: Vec<CacheEntry>,
}

impl From<CacheContents> for CacheListing {
    fn from(c: CacheContents) -> Self {
        Self {
            queued: c.queued.into_iter().map(Into::into).collect(),
            errors: c.errors.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /api/plugins`.
#[derive(Serialize, JsonSchema)]
pub struct PluginsListing {
    /// Every file of the plugins folder.
    pub plugins: Vec<oibus_engine::loader::PluginReport>,
    /// Every plugin version loaded in the process.
    pub loaded_versions: Vec<oibus_engine::engine::loaded_version::LoadedVersion>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceRequest {
    /// The file name in the plugins folder.
    pub file: std::path::PathBuf,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnforceRequest {
    /// The plugin id.
    pub id: String,
}

/// `DELETE /api/north/{id}?discard_queue=true`: delete a North whose cache holds data.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    #[serde(default)]
    pub discard_queue: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// The connector type.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Its settings, checked against the type's schema.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// A saved connector of this type whose secrets fill those the settings leave out (the
    /// API never answers them, so a form of a saved connector does not hold them).
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestItemRequest {
    /// The South connector type.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Its settings, checked against the type's schema.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// The item to read once.
    pub item: oibus_engine::connector::TrialItem,
    /// A saved South of this type whose secrets (and those of its item of that name) fill
    /// those left out.
    #[serde(default)]
    pub id: Option<String>,
}

/// The answer of an item test.
#[derive(Serialize, JsonSchema)]
pub struct TestItemAnswer {
    /// What one read of the item gave (nothing of it was sent to a North).
    pub values: Vec<serde_json::Value>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseApiRequest {
    /// The South connector type.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Its settings, checked against the type's schema.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// The node to list the children of; the source's root when absent.
    #[serde(default)]
    pub from: Option<String>,
    /// Levels to list (1: the children only).
    #[serde(default = "one_level")]
    #[schemars(range(min = 1, max = 10))]
    pub depth: u32,
    /// A saved South of this type whose secrets fill those the settings leave out.
    #[serde(default)]
    pub id: Option<String>,
}

/// The answer of a browse.
#[derive(Serialize, JsonSchema)]
pub struct BrowseAnswer {
    /// The nodes: `id`, `name`, `kind`, `data_type`, `historizing`, `item_settings` (the settings
    /// of an item that reads it) and `children`.
    pub nodes: Vec<serde_json::Value>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// Start of the range (included).
    pub start: Timestamp,
    /// End of the range (excluded).
    pub end: Timestamp,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorSelection {
    /// Keys of value batches (absent: all).
    #[serde(default)]
    pub batches: Option<Vec<u64>>,
    /// Keys of files (absent: all).
    #[serde(default)]
    pub files: Option<Vec<u64>>,
}

fn one_level() -> u32 {
    1
}
