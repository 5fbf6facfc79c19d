//! The API's answers that are built from the engine's replies: the engine answers in its own
//! types (no serde, no schema), and the API's shape and documentation live here.

use crate::engine::commands::{CacheContents, CachedEntry, OfferedType};
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
}

impl From<CachedEntry> for CacheEntry {
    fn from(e: CachedEntry) -> Self {
        Self {
            key: e.key,
            kind: if e.file.is_some() { "file" } else { "values" },
            count: e.count,
            bytes: e.bytes,
            name: e.file,
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
