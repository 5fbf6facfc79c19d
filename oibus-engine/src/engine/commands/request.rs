//! The commands the engine carries out, and the answers they give.

use super::refusal::CommandError;
use crate::{
    config::{Config, NorthConfig, SouthConfig},
    connector,
    engine::plugin_folder::PluginUpload,
    loader::PluginReport,
};
use oibus_plugin_api::{ConnectorKind, ConnectorTypeManifest, OibusValue, Timestamp};
use tokio::sync::oneshot;

/// A connector type a loaded plugin offers.
#[derive(Debug, Clone)]
pub struct OfferedType {
    /// Plugin id.
    pub plugin: String,
    /// Plugin version.
    pub plugin_version: String,
    /// The type's manifest (with its JSON Schemas).
    pub manifest: ConnectorTypeManifest,
}

/// A South or a North configuration.
#[derive(Debug, Clone)]
pub enum ConnectorConfig {
    /// A South.
    South(SouthConfig),
    /// A North.
    North(NorthConfig),
}

impl ConnectorConfig {
    pub(super) fn id(&self) -> &str {
        match self {
            Self::South(s) => &s.id,
            Self::North(n) => &n.id,
        }
    }
    pub(super) fn kind(&self) -> ConnectorKind {
        match self {
            Self::South(_) => ConnectorKind::South,
            Self::North(_) => ConnectorKind::North,
        }
    }
}

/// One queued or error-store entry of a North's cache.
#[derive(Debug, Clone)]
pub struct CachedEntry {
    /// Its key (to retry or delete it).
    pub key: u64,
    /// The file's name; `None`: a batch of values.
    pub file: Option<String>,
    /// Values in the batch (files: 1).
    pub count: usize,
    /// Bytes.
    pub bytes: u64,
    /// Error store: its first distinct point ids (at most five).
    pub points: Vec<String>,
    /// Error store: when and why it was set aside (`None` for an entry of an earlier version).
    pub set_aside: Option<crate::cache::error_entry::SetAside>,
}

/// What a North's cache holds.
#[derive(Debug, Clone)]
pub struct CacheContents {
    /// Waiting to be sent.
    pub queued: Vec<CachedEntry>,
    /// In the error store.
    pub errors: Vec<CachedEntry>,
    /// The Souths' logs the North reads: what they retain, where it stands.
    pub logs: Vec<crate::engine::status::LogSnapshot>,
}

/// What a replay will send again.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// Values in all.
    pub values: u64,
    /// Per South's log.
    pub logs: Vec<ReplayedLog>,
}

/// What a replay will send again from one South's log.
#[derive(Debug, Clone)]
pub struct ReplayedLog {
    /// The South.
    pub south: String,
    /// Values.
    pub values: u64,
    /// When the first of them was appended.
    pub from: Option<Timestamp>,
}

/// What to do with error-store entries.
#[derive(Debug, Clone, Copy)]
pub enum ErrorAction {
    /// Queue them again.
    Retry,
    /// Delete them.
    Delete,
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

/// A request to the engine.
pub enum Command {
    /// Look at the plugins folder now.
    Rescan(Reply<Vec<PluginReport>>),
    /// Start an upload of a plugin file or its signature into the plugins folder: the front end
    /// streams the body into the [`PluginUpload`] it gets, then sends it back with
    /// [`Command::InstallPluginFile`].
    OpenUpload {
        /// The file name (`lib….so`, or `lib….so.minisig`).
        name: String,
        /// The most bytes it may have.
        limit: u64,
        /// Reply.
        reply: Reply<PluginUpload>,
    },
    /// Take a written upload into the plugins folder, then look at the folder.
    InstallPluginFile {
        /// The upload, written whole.
        upload: PluginUpload,
        /// Reply: every file of the folder, as the scan after the write found it.
        reply: Reply<Vec<PluginReport>>,
    },
    /// Remove a file of the plugins folder (one no connector runs on), then look at the folder.
    RemovePluginFile {
        /// The file name.
        name: String,
        /// Reply: every file of the folder, as the scan after the removal found it.
        reply: Reply<Vec<PluginReport>>,
    },
    /// The scan modes.
    ScanModes(Reply<Vec<crate::config::ScanModeConfig>>),
    /// Create a scan mode, or replace the one of its name (the running Souths using it start
    /// again with it).
    PutScanMode {
        /// The scan mode.
        mode: crate::config::ScanModeConfig,
        /// Reply.
        reply: Reply<()>,
    },
    /// Delete a scan mode that no item uses.
    DeleteScanMode {
        /// Its name.
        name: String,
        /// Reply.
        reply: Reply<()>,
    },
    /// Use the plugin of this file of the plugins folder even if it is older (forced downgrade).
    Force {
        /// The file name.
        file: std::path::PathBuf,
        /// Reply.
        reply: Reply<PluginReport>,
    },
    /// Forget the forced version of this plugin id: back to its highest version.
    Unforce {
        /// The plugin id.
        id: String,
        /// Reply.
        reply: Reply<PluginReport>,
    },
    /// The connector types of the loaded plugins.
    ConnectorTypes(Reply<Vec<OfferedType>>),
    /// The configuration as a front end may show it: every secret left out.
    Config(Reply<Config>),
    /// Create (`create`) or replace a connector; validated, saved, applied. A replacement keeps
    /// the secrets it leaves out from the connector it replaces.
    Upsert {
        /// The connector.
        connector: ConnectorConfig,
        /// Whether it must not exist yet.
        create: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Delete a connector, and a North's queue and error store with it: refused while they hold
    /// data, unless `discard_queue`.
    Delete {
        /// South or North.
        kind: ConnectorKind,
        /// Its id.
        id: String,
        /// Delete a North even though its queue or error store holds data (lost with it).
        discard_queue: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Start (`true`) or stop a connector until the next restart.
    Run {
        /// South or North.
        kind: ConnectorKind,
        /// Its id.
        id: String,
        /// Start or stop.
        start: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Test settings for a type.
    TestConnection {
        /// South or North.
        kind: ConnectorKind,
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// A saved connector of this kind and type whose secrets fill those the settings leave out
        /// (a form of a saved connector never holds its secrets).
        saved: Option<String>,
        /// Reply.
        reply: Reply<()>,
    },
    /// Read one item of a South type once, on a connector made for the test (`test_item`).
    TestItem {
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// The item.
        item: connector::TrialItem,
        /// A saved connector of this kind and type whose secrets fill those the settings leave out
        /// (a form of a saved connector never holds its secrets).
        saved: Option<String>,
        /// Reply: the values read.
        reply: Reply<Vec<OibusValue>>,
    },
    /// List the nodes of a South type's source (`browse`).
    Browse {
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// Where from, how deep.
        request: oibus_plugin_api::BrowseRequest,
        /// A saved connector of this kind and type whose secrets fill those the settings leave out
        /// (a form of a saved connector never holds its secrets).
        saved: Option<String>,
        /// Reply: the nodes.
        reply: Reply<Vec<oibus_plugin_api::BrowsedNode>>,
    },
    /// Read a South's history over a range (as the engine does: windows, delay), into its Norths.
    History {
        /// South id.
        id: String,
        /// Range start.
        start: Timestamp,
        /// Range end.
        end: Timestamp,
        /// Reply: windows read.
        reply: Reply<u64>,
    },
    /// A North's cache.
    Cache {
        /// North id.
        id: String,
        /// Reply.
        reply: Reply<CacheContents>,
    },
    /// Sends again what the Souths' logs retain since `since` (a replay): moves the North's
    /// cursors back.
    Replay {
        /// North id.
        id: String,
        /// From this instant.
        since: Timestamp,
        /// Only this South's log (default: every log the North reads).
        south: Option<String>,
        /// Reply: what will be sent again.
        reply: Reply<Replayed>,
    },
    /// Retry or delete error-store entries of a North (`None`: all).
    CacheErrors {
        /// North id.
        id: String,
        /// Retry or delete.
        action: ErrorAction,
        /// Keys of value batches.
        batches: Option<Vec<u64>>,
        /// Keys of files.
        files: Option<Vec<u64>>,
        /// Reply: entries handled.
        reply: Reply<usize>,
    },
}
