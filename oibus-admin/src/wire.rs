//! The API's wire types: every request body, query and answer, with their serde and JSON Schema
//! derives (the OpenAPI document is generated from them). Answers built from the engine's
//! replies map the engine's types here, so the API's shape and documentation live in one file.

use oibus_engine::engine::{
    commands::{CacheContents, CachedEntry, OfferedType},
    loaded_version::{LoadedVersion, PluginRuntime},
    status::{
        CacheSnapshot, ConnectorSnapshot, Counters, HistoryProgress, LogSnapshot, Snapshot, State,
        UpgradeRecord,
    },
};
use oibus_plugin_api::{ConnectorKind, ConnectorTypeManifest, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Error store, values: the first distinct point ids of the batch (at most five).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<String>,
    /// Error store: why it was set aside (the destination's refusal, or the last error of the
    /// retries); absent for an entry an earlier version set aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Error store: when it was set aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The Souths' logs the North reads: what each retains (a replay can start at `oldest`)
    /// and where the North stands.
    pub logs: Vec<LogStatus>,
}

impl From<CacheContents> for CacheListing {
    fn from(c: CacheContents) -> Self {
        Self {
            queued: c.queued.into_iter().map(Into::into).collect(),
            errors: c.errors.into_iter().map(Into::into).collect(),
            logs: c.logs.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /api/plugins`.
#[derive(Serialize, JsonSchema)]
pub struct PluginsListing {
    /// Every file of the plugins folder.
    pub plugins: Vec<oibus_engine::loader::PluginReport>,
    /// Every plugin version loaded in the process.
    pub loaded_versions: Vec<LoadedVersionAnswer>,
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

/// `POST /api/north/{id}/cache/replay`: send again what the Souths' logs retain.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// From this instant (RFC 3339): the North's cursors move back to the first value
    /// appended then or later (to the oldest retained if all are later).
    pub since: Timestamp,
    /// Only this South's log (default: every log the North reads).
    #[serde(default)]
    pub south: Option<String>,
}

/// What a replay will send again.
#[derive(Serialize, JsonSchema)]
pub struct ReplayAnswer {
    /// Values in all.
    pub values: u64,
    /// Per South's log.
    pub logs: Vec<ReplayLog>,
}

/// What a replay will send again from one South's log.
#[derive(Serialize, JsonSchema)]
pub struct ReplayLog {
    /// The South.
    pub south: String,
    /// Values.
    pub values: u64,
    /// When the first of them was appended.
    pub from: Option<Timestamp>,
}

impl From<oibus_engine::engine::commands::Replayed> for ReplayAnswer {
    fn from(r: oibus_engine::engine::commands::Replayed) -> Self {
        Self {
            values: r.values,
            logs: r
                .logs
                .into_iter()
                .map(|l| ReplayLog {
                    south: l.south,
                    values: l.values,
                    from: l.from,
                })
                .collect(),
        }
    }
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

// The status, as the API shows it. The engine keeps its own status types (and writes them to
// `<data>/status.json` for `oibus status`); the API maps them here, so that either can change
// without the other.

/// A connector's lifecycle state, owned by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorState {
    /// Not running.
    Stopped,
    /// `start`/`connect` in progress.
    Connecting,
    /// Connected: queries and sends run.
    Connected,
    /// The last attempt failed; waiting before the next one.
    Backoff,
    /// Failed in a way retrying cannot fix (settings); needs the operator.
    Failed,
    /// `stop` in progress.
    Stopping,
    /// No loaded plugin provides its type yet; it starts when one does.
    WaitingForPlugin,
    /// The file of its plugin was removed; it starts again when the file comes back.
    PluginRemoved,
    /// Its isolated plugin crashed too often (`engine.plugins.crash_limit`); it stays stopped
    /// until an operator restarts it.
    Quarantined,
}

impl From<State> for ConnectorState {
    fn from(s: State) -> Self {
        match s {
            State::Stopped => Self::Stopped,
            State::Connecting => Self::Connecting,
            State::Connected => Self::Connected,
            State::Backoff => Self::Backoff,
            State::Failed => Self::Failed,
            State::Stopping => Self::Stopping,
            State::WaitingForPlugin => Self::WaitingForPlugin,
            State::PluginRemoved => Self::PluginRemoved,
            State::Quarantined => Self::Quarantined,
        }
    }
}

/// Counters of one connector.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CountersAnswer {
    /// Successful connections.
    pub connects: u64,
    /// Failed `start`/`connect` attempts.
    pub connect_failures: u64,
    /// South: scheduled runs started.
    pub runs: u64,
    /// South: runs that failed as a whole.
    pub run_failures: u64,
    /// South: runs that read their items but some (named in `failed_items`).
    pub runs_with_failed_items: u64,
    /// South: ticks skipped because the previous run was still going.
    pub skipped_busy: u64,
    /// South: ticks skipped because the connector was not connected.
    pub skipped_disconnected: u64,
    /// South: scans in progress when the connector stopped (an upgrade, a configuration change,
    /// the engine stopping), let finish before the stop.
    pub runs_awaited_at_stop: u64,
    /// South: history windows read.
    pub history_windows: u64,
    /// South: values a tracked history run read again inside its overlap and did not send twice.
    pub history_repeats_skipped: u64,
    /// South: values accepted by the engine.
    pub values_in: u64,
    /// South: files accepted by the engine.
    pub files_in: u64,
    /// South: values that were not a number (float NaN, +Inf, -Inf), kept with quality `bad`.
    pub values_not_finite: u64,
    /// North: values sent.
    pub values_sent: u64,
    /// North: files sent.
    pub files_sent: u64,
    /// North: failed send attempts.
    pub send_failures: u64,
    /// North: values moved to the error store.
    pub values_to_error: u64,
    /// North: files moved to the error store.
    pub files_to_error: u64,
}

impl From<Counters> for CountersAnswer {
    fn from(s: Counters) -> Self {
        Self {
            connects: s.connects.load(Ordering::Relaxed),
            connect_failures: s.connect_failures.load(Ordering::Relaxed),
            runs: s.runs.load(Ordering::Relaxed),
            run_failures: s.run_failures.load(Ordering::Relaxed),
            runs_with_failed_items: s.runs_with_failed_items.load(Ordering::Relaxed),
            skipped_busy: s.skipped_busy.load(Ordering::Relaxed),
            skipped_disconnected: s.skipped_disconnected.load(Ordering::Relaxed),
            runs_awaited_at_stop: s.runs_awaited_at_stop.load(Ordering::Relaxed),
            history_windows: s.history_windows.load(Ordering::Relaxed),
            history_repeats_skipped: s.history_repeats_skipped.load(Ordering::Relaxed),
            values_in: s.values_in.load(Ordering::Relaxed),
            files_in: s.files_in.load(Ordering::Relaxed),
            values_not_finite: s.values_not_finite.load(Ordering::Relaxed),
            values_sent: s.values_sent.load(Ordering::Relaxed),
            files_sent: s.files_sent.load(Ordering::Relaxed),
            send_failures: s.send_failures.load(Ordering::Relaxed),
            values_to_error: s.values_to_error.load(Ordering::Relaxed),
            files_to_error: s.files_to_error.load(Ordering::Relaxed),
        }
    }
}

/// The last plugin upgrade (or rollback) of a connector.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpgradeAnswer {
    /// `plugin-id version` before.
    pub from: String,
    /// `plugin-id version` after.
    pub to: String,
    /// From the stop of the old instance to the new one connected, in milliseconds.
    pub downtime_ms: f64,
    /// When it happened.
    pub at: Timestamp,
}

impl From<UpgradeRecord> for UpgradeAnswer {
    fn from(s: UpgradeRecord) -> Self {
        Self {
            from: s.from,
            to: s.to,
            downtime_ms: s.downtime_ms,
            at: s.at,
        }
    }
}

/// A history request made by a command, as it progresses.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryProgressAnswer {
    /// Range start (included).
    pub start: Timestamp,
    /// Range end (excluded).
    pub end: Timestamp,
    /// Windows read so far.
    pub windows_done: u64,
    /// Windows in the range.
    pub windows: u64,
    /// `running`, `done`, `failed`, `stopped` (the South stopped) or `cancelled` (the client went
    /// away).
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub started: Timestamp,
}

impl From<HistoryProgress> for HistoryProgressAnswer {
    fn from(s: HistoryProgress) -> Self {
        Self {
            start: s.start,
            end: s.end,
            windows_done: s.windows_done,
            windows: s.windows,
            state: s.state,
            error: s.error,
            started: s.started,
        }
    }
}

/// A North's cache, in a status snapshot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheStatus {
    /// Values queued.
    pub queued_values: usize,
    /// Files queued.
    pub queued_files: usize,
    /// Bytes queued.
    pub queued_bytes: u64,
    /// Value batches in the error store.
    pub error_batches: usize,
    /// Values in the error store.
    pub error_values: usize,
    /// Files in the error store.
    pub error_files: usize,
    /// Age of the oldest queued entry (value batch or file), in seconds.
    pub oldest_queued_age_s: Option<f64>,
    /// The Souths' logs this North reads: what each retains (a replay can start at `oldest`)
    /// and where the North stands (`next`: the first value it has not sent, none when it sent
    /// all).
    pub logs: Vec<LogStatus>,
}

/// A South's log as one North reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LogStatus {
    /// The South.
    pub south: String,
    /// When the oldest value retained was appended.
    pub oldest: Option<Timestamp>,
    /// When the newest was.
    pub newest: Option<Timestamp>,
    /// Values retained, sent or not.
    pub retained_values: u64,
    /// Their bytes.
    pub retained_bytes: u64,
    /// When the first value this North has not sent was appended.
    pub next: Option<Timestamp>,
}

impl From<LogSnapshot> for LogStatus {
    fn from(l: LogSnapshot) -> Self {
        Self {
            south: l.south,
            oldest: l.oldest,
            newest: l.newest,
            retained_values: l.retained_values,
            retained_bytes: l.retained_bytes,
            next: l.next,
        }
    }
}

impl From<CacheSnapshot> for CacheStatus {
    fn from(s: CacheSnapshot) -> Self {
        Self {
            queued_values: s.queued_values,
            queued_files: s.queued_files,
            queued_bytes: s.queued_bytes,
            error_batches: s.error_batches,
            error_values: s.error_values,
            error_files: s.error_files,
            oldest_queued_age_s: s.oldest_queued_age_s,
            logs: s.logs.into_iter().map(Into::into).collect(),
        }
    }
}

/// One connector in a status snapshot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectorStatusAnswer {
    /// Connector id.
    pub id: String,
    /// South or North.
    pub kind: ConnectorKind,
    /// Connector type.
    #[serde(rename = "type")]
    pub type_id: String,
    /// `plugin-id version`.
    pub plugin: String,
    /// The version requirement it is pinned to (`plugin_version`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_pin: Option<String>,
    /// Lifecycle state.
    pub state: ConnectorState,
    /// Since when.
    pub since: Timestamp,
    /// The last error, with its time (kept after the connector works again: see `failing`).
    pub last_error: Option<String>,
    /// Whether the last error is newer than the last success (a connection, a run, a send):
    /// the connector fails now. False once it works again, though `last_error` stays.
    pub failing: bool,
    /// The last success.
    pub last_ok: Option<Timestamp>,
    /// The last plugin upgrade.
    pub last_upgrade: Option<UpgradeAnswer>,
    /// South: messages (rows, files) of the source deliberately not turned into data, as the
    /// connector reported them (a payload that is not a number, a message over the size limit…).
    pub dropped: u64,
    /// South: the last reason for a drop, with its time.
    pub last_drop: Option<String>,
    /// South: the items failing now, by name, with the time and reason.
    pub failed_items: std::collections::BTreeMap<String, String>,
    /// North: since when the head of its queue has been failing (more than one attempt in a
    /// row); `None` while it sends.
    pub blocked_since: Option<Timestamp>,
    /// South: the last history request made by a command, and how far it is.
    pub history_request: Option<HistoryProgressAnswer>,
    /// Counters.
    pub counters: CountersAnswer,
    /// North: its cache.
    pub cache: Option<CacheStatus>,
}

impl From<ConnectorSnapshot> for ConnectorStatusAnswer {
    fn from(s: ConnectorSnapshot) -> Self {
        Self {
            id: s.id,
            kind: s.kind,
            type_id: s.type_id,
            plugin: s.plugin,
            plugin_pin: s.plugin_pin,
            state: s.state.into(),
            since: s.since,
            last_error: s.last_error,
            failing: s.failing,
            last_ok: s.last_ok,
            last_upgrade: s.last_upgrade.map(Into::into),
            dropped: s.dropped,
            last_drop: s.last_drop,
            failed_items: s.failed_items,
            blocked_since: s.blocked_since,
            history_request: s.history_request.map(Into::into),
            counters: s.counters.into(),
            cache: s.cache.map(Into::into),
        }
    }
}

/// The state of a plugin's runtime in the engine's process.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PluginRuntimeAnswer {
    /// Calls that timed out whose threads are still blocked in the plugin's code.
    pub stuck_calls: u32,
    /// Times the plugin's SDK replaced its runtime so that its other connectors go on.
    pub replacements: u32,
    /// Worker threads of its runtime.
    pub threads: u32,
    /// Whether threads are stuck now (the plugin works, on a replaced runtime; the stuck threads
    /// are lost until the engine restarts).
    pub degraded: bool,
}

impl From<PluginRuntime> for PluginRuntimeAnswer {
    fn from(s: PluginRuntime) -> Self {
        Self {
            stuck_calls: s.stuck_calls,
            replacements: s.replacements,
            threads: s.threads,
            degraded: s.degraded,
        }
    }
}

/// One plugin version loaded in this process (mapped until it exits).
#[derive(Debug, Serialize, JsonSchema)]
pub struct LoadedVersionAnswer {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Bytes of its library file, mapped in the process.
    pub bytes: u64,
    /// Whether connectors use it now.
    pub in_use: bool,
    /// Whether it is in use because an operator forced it (`oibus plugins force`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// Who signed its file: the key id, `unsigned`, `untrusted <key id>`, `-` (not checked).
    pub signer: String,
    /// Its runtime in the engine's process, when it is open there (isolated connectors run in
    /// child processes of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<PluginRuntimeAnswer>,
}

impl From<LoadedVersion> for LoadedVersionAnswer {
    fn from(s: LoadedVersion) -> Self {
        Self {
            id: s.id,
            version: s.version,
            bytes: s.bytes,
            in_use: s.in_use,
            forced: s.forced,
            signer: s.signer,
            runtime: s.runtime.map(Into::into),
        }
    }
}

/// The engine's status document.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusAnswer {
    /// Engine name.
    pub engine: String,
    /// Process id.
    pub pid: u32,
    /// When the engine started.
    pub started: Timestamp,
    /// When this snapshot was taken.
    pub updated: Timestamp,
    /// `add_values` latency percentiles in microseconds: p50, p99, max.
    pub add_values_latency_us: [u64; 3],
    /// Every connector.
    pub connectors: Vec<ConnectorStatusAnswer>,
    /// Every file of the plugins folder.
    pub plugins: Vec<oibus_engine::loader::PluginReport>,
    /// Every plugin version loaded in the process (kept mapped until it exits).
    pub loaded_versions: Vec<LoadedVersionAnswer>,
}

impl From<Snapshot> for StatusAnswer {
    fn from(s: Snapshot) -> Self {
        Self {
            engine: s.engine,
            pid: s.pid,
            started: s.started,
            updated: s.updated,
            add_values_latency_us: s.add_values_latency_us,
            connectors: s.connectors.into_iter().map(Into::into).collect(),
            plugins: s.plugins,
            loaded_versions: s.loaded_versions.into_iter().map(Into::into).collect(),
        }
    }
}
