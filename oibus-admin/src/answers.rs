//! The API's answers that are built from the engine's replies: the engine answers in its own
//! types (no serde, no schema), and the API's shape and documentation live here.

use oibus_engine::engine::commands::{CacheContents, CachedEntry, OfferedType};
use oibus_plugin_api::ConnectorTypeManifest;
use schemars::JsonSchema;
use serde::Serialize;

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
