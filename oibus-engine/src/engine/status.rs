//! What every connector is doing, with counters: kept in memory, written to `<data>/status.json`
//! every second for `oibus status`.

use crate::cache::NorthQueue;
use oibus_plugin_api::{ConnectorKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// A connector's lifecycle state, owned by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
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

/// Counters of one connector.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Successful connections.
    pub connects: AtomicU64,
    /// Failed `start`/`connect` attempts.
    pub connect_failures: AtomicU64,
    /// South: scheduled runs started.
    pub runs: AtomicU64,
    /// South: runs that failed as a whole.
    pub run_failures: AtomicU64,
    /// South: runs that read their items but some (named in `failed_items`).
    #[serde(default)]
    pub runs_with_failed_items: AtomicU64,
    /// South: ticks skipped because the previous run was still going.
    pub skipped_busy: AtomicU64,
    /// South: ticks skipped because the connector was not connected.
    pub skipped_disconnected: AtomicU64,
    /// South: scans in progress when the connector stopped (an upgrade, a configuration change,
    /// the engine stopping), let finish before the stop.
    #[serde(default)]
    pub runs_awaited_at_stop: AtomicU64,
    /// South: history windows read.
    pub history_windows: AtomicU64,
    /// South: values a tracked history run read again inside its overlap and did not send twice.
    #[serde(default)]
    pub history_repeats_skipped: AtomicU64,
    /// South: values accepted by the engine.
    pub values_in: AtomicU64,
    /// South: files accepted by the engine.
    pub files_in: AtomicU64,
    /// South: values that were not a number (float NaN, +Inf, -Inf), kept with quality `bad`.
    #[serde(default)]
    pub values_not_finite: AtomicU64,
    /// North: values sent.
    pub values_sent: AtomicU64,
    /// North: files sent.
    pub files_sent: AtomicU64,
    /// North: failed send attempts.
    pub send_failures: AtomicU64,
    /// North: values moved to the error store.
    pub values_to_error: AtomicU64,
    /// North: files moved to the error store.
    pub files_to_error: AtomicU64,
}

/// The counters that last across restarts (a user expects totals of data): the rest count since
/// the engine started.
const LASTING: [&str; 8] = [
    "values_in",
    "files_in",
    "values_not_finite",
    "values_sent",
    "files_sent",
    "values_to_error",
    "files_to_error",
    "dropped",
];

/// The key, in the store's state, of the lasting counters of connector `id`.
pub fn counters_key(id: &str) -> String {
    format!("counters/{id}/")
}

impl Counters {
    fn lasting(&self, name: &str) -> Option<&AtomicU64> {
        Some(match name {
            "values_in" => &self.values_in,
            "files_in" => &self.files_in,
            "values_not_finite" => &self.values_not_finite,
            "values_sent" => &self.values_sent,
            "files_sent" => &self.files_sent,
            "values_to_error" => &self.values_to_error,
            "files_to_error" => &self.files_to_error,
            _ => return None,
        })
    }
}

/// Adds `n` to a counter.
pub fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// The last plugin upgrade (or rollback) of a connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeRecord {
    /// `plugin-id version` before.
    pub from: String,
    /// `plugin-id version` after.
    pub to: String,
    /// From the stop of the old instance to the new one connected, in milliseconds.
    pub downtime_ms: f64,
    /// When it happened.
    pub at: Timestamp,
}

/// One connector's live status.
#[derive(Debug)]
pub struct ConnectorStatus {
    /// Connector id.
    pub id: String,
    /// South or North.
    pub kind: ConnectorKind,
    /// Connector type.
    pub type_id: String,
    plugin: Mutex<String>,
    /// The plugin version requirement it is pinned to (`plugin_version`).
    pub pin: Option<String>,
    state: Mutex<(State, Timestamp)>,
    last_error: Mutex<Option<(Timestamp, String)>>,
    /// The last success: a connection, a run, a send.
    last_ok: Mutex<Option<Timestamp>>,
    last_upgrade: Mutex<Option<UpgradeRecord>>,
    /// Counters.
    pub counters: Counters,
    /// The connector's reports of dropped messages and failing items.
    pub reports: Arc<crate::connector::SourceReports>,
    /// North: since when the head of its queue has failed more than once in a row.
    blocked_since: Mutex<Option<Timestamp>>,
    /// South: the last history request made by a command, and how far it is.
    pub history_request: Mutex<Option<HistoryProgress>>,
    /// South: how long its runs took.
    pub run_durations: super::durations::Durations,
}

/// A history request made by a command, as it progresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryProgress {
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

impl ConnectorStatus {
    /// A stopped connector.
    pub fn new(id: &str, kind: ConnectorKind, type_id: &str, plugin: &str) -> Self {
        Self {
            id: id.into(),
            kind,
            type_id: type_id.into(),
            plugin: Mutex::new(plugin.into()),
            pin: None,
            state: Mutex::new((State::Stopped, Timestamp::now())),
            last_error: Mutex::new(None),
            last_ok: Mutex::new(None),
            last_upgrade: Mutex::new(None),
            counters: Counters::default(),
            reports: Arc::default(),
            blocked_since: Mutex::new(None),
            history_request: Mutex::new(None),
            run_durations: Default::default(),
        }
    }

    /// South: whether a history request by a command is being read.
    pub fn history_request_running(&self) -> bool {
        self.history_request
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|h| h.state == "running")
    }

    /// Changes the state (logged).
    pub fn set(&self, state: State) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.0 != state {
            tracing::debug!(connector.id = %self.id, "state {:?} → {:?}", s.0, state);
            *s = (state, Timestamp::now());
        }
    }

    /// Records the plugin version it runs on (`plugin-id version`).
    pub fn set_plugin(&self, plugin: &str) {
        *self.plugin.lock().unwrap_or_else(|p| p.into_inner()) = plugin.to_string();
    }

    /// The plugin version it runs on.
    pub fn plugin(&self) -> String {
        self.plugin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// The last error's message.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, m)| m.clone())
    }

    /// Records an upgrade.
    pub fn upgraded(&self, record: UpgradeRecord) {
        *self.last_upgrade.lock().unwrap_or_else(|p| p.into_inner()) = Some(record);
    }

    /// Forgets the last error (a new instance starts).
    pub fn clear_error(&self) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Records a success (a connection, a run, a send): an earlier error no longer holds.
    pub fn ok(&self) {
        *self.last_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(Timestamp::now());
    }

    /// Records an error (shown until the next one).
    pub fn error(&self, message: impl Into<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Timestamp::now(), message.into()));
    }

    /// The counters that last across restarts, as stored.
    pub fn lasting_counters(&self) -> Vec<u8> {
        let map: std::collections::BTreeMap<&str, u64> = LASTING
            .iter()
            .map(|&name| {
                let n = match self.counters.lasting(name) {
                    Some(c) => c.load(Ordering::Relaxed),
                    None => self.reports.dropped_count(),
                };
                (name, n)
            })
            .collect();
        serde_json::to_vec(&map).unwrap_or_default()
    }

    /// Starts the lasting counters from what an earlier run stored (ignored if unreadable).
    pub fn restore_counters(&self, stored: &[u8]) {
        let Ok(map) = serde_json::from_slice::<std::collections::BTreeMap<String, u64>>(stored)
        else {
            return;
        };
        for (name, n) in map {
            match self.counters.lasting(&name) {
                Some(c) => c.store(n, Ordering::Relaxed),
                None if name == "dropped" => self.reports.restore_dropped(n),
                None => {}
            }
        }
    }

    /// North: the head of the queue has failed again (`true`) or was sent or set aside.
    pub fn set_blocked(&self, blocked: bool) {
        let mut b = self.blocked_since.lock().unwrap_or_else(|p| p.into_inner());
        match (blocked, b.is_some()) {
            (true, false) => *b = Some(Timestamp::now()),
            (false, true) => *b = None,
            _ => {}
        }
    }

    /// This connector in a status snapshot (its cache is added by the board).
    pub fn snapshot(&self) -> ConnectorSnapshot {
        let (state, since) = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let last_ok = *self.last_ok.lock().unwrap_or_else(|p| p.into_inner());
        let failing = last_error
            .as_ref()
            .is_some_and(|(at, _)| last_ok.is_none_or(|ok| *at >= ok));
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ConnectorSnapshot {
            id: self.id.clone(),
            kind: self.kind,
            type_id: self.type_id.clone(),
            plugin: self.plugin(),
            plugin_pin: self.pin.clone(),
            state,
            since,
            last_error: last_error.map(|(t, m)| format!("{t}: {m}")),
            failing,
            last_ok,
            last_upgrade: self
                .last_upgrade
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            dropped: self.reports.dropped_count(),
            last_drop: self.reports.last_drop(),
            failed_items: self.reports.failed_items(),
            blocked_since: *self.blocked_since.lock().unwrap_or_else(|p| p.into_inner()),
            history_request: self
                .history_request
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            counters: Counters {
                connects: get(&c.connects).into(),
                connect_failures: get(&c.connect_failures).into(),
                runs: get(&c.runs).into(),
                run_failures: get(&c.run_failures).into(),
                runs_with_failed_items: get(&c.runs_with_failed_items).into(),
                skipped_busy: get(&c.skipped_busy).into(),
                skipped_disconnected: get(&c.skipped_disconnected).into(),
                runs_awaited_at_stop: get(&c.runs_awaited_at_stop).into(),
                history_windows: get(&c.history_windows).into(),
                history_repeats_skipped: get(&c.history_repeats_skipped).into(),
                values_in: get(&c.values_in).into(),
                files_in: get(&c.files_in).into(),
                values_not_finite: get(&c.values_not_finite).into(),
                values_sent: get(&c.values_sent).into(),
                files_sent: get(&c.files_sent).into(),
                send_failures: get(&c.send_failures).into(),
                values_to_error: get(&c.values_to_error).into(),
                files_to_error: get(&c.files_to_error).into(),
            },
            cache: None,
        }
    }
}

/// A North's cache, in a status snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheSnapshot {
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
    #[serde(default)]
    pub oldest_queued_age_s: Option<f64>,
    /// The Souths' logs this North reads: what they retain, and where the North stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogSnapshot>,
}

/// The logs North queue `q` reads, as it reads them.
pub fn log_snapshots(q: &NorthQueue) -> Vec<LogSnapshot> {
    q.logs()
        .iter()
        .map(|l| {
            let r = l.range();
            LogSnapshot {
                south: l.south().to_string(),
                oldest: r.oldest_ms.map(Timestamp::from_millis),
                newest: r.newest_ms.map(Timestamp::from_millis),
                retained_values: r.values,
                retained_bytes: r.bytes,
                next: l.position_of(q.id()).map(Timestamp::from_millis),
            }
        })
        .collect()
}

/// A South's log as one North reads it, in a status snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogSnapshot {
    /// The South.
    pub south: String,
    /// When the oldest value retained was appended (a replay can start there).
    pub oldest: Option<Timestamp>,
    /// When the newest was.
    pub newest: Option<Timestamp>,
    /// Values retained (sent or not).
    pub retained_values: u64,
    /// Their bytes.
    pub retained_bytes: u64,
    /// When the first value this North has not sent was appended (`None`: it sent all).
    pub next: Option<Timestamp>,
}

/// One connector in a status snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectorSnapshot {
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
    pub state: State,
    /// Since when.
    pub since: Timestamp,
    /// The last error, with its time (kept after the connector works again: see `failing`).
    pub last_error: Option<String>,
    /// Whether the last error is newer than the last success (a connection, a run, a send):
    /// the connector fails now. False once it works again, though `last_error` stays.
    #[serde(default)]
    pub failing: bool,
    /// The last success.
    #[serde(default)]
    pub last_ok: Option<Timestamp>,
    /// The last plugin upgrade.
    #[serde(default)]
    pub last_upgrade: Option<UpgradeRecord>,
    /// South: messages (rows, files) of the source deliberately not turned into data, as the
    /// connector reported them (a payload that is not a number, a message over the size limit…).
    #[serde(default)]
    pub dropped: u64,
    /// South: the last reason for a drop, with its time.
    #[serde(default)]
    pub last_drop: Option<String>,
    /// South: the items failing now, by name, with the time and reason.
    #[serde(default)]
    pub failed_items: std::collections::BTreeMap<String, String>,
    /// North: since when the head of its queue has been failing (more than one attempt in a
    /// row); `None` while it sends.
    #[serde(default)]
    pub blocked_since: Option<Timestamp>,
    /// South: the last history request made by a command, and how far it is.
    #[serde(default)]
    pub history_request: Option<HistoryProgress>,
    /// Counters.
    pub counters: Counters,
    /// North: its cache.
    pub cache: Option<CacheSnapshot>,
}

/// The engine's status document.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
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
    pub connectors: Vec<ConnectorSnapshot>,
    /// Every file of the plugins folder.
    #[serde(default)]
    pub plugins: Vec<crate::loader::PluginReport>,
    /// Every plugin version loaded in the process (kept mapped until it exits).
    #[serde(default)]
    pub loaded_versions: Vec<super::loaded_version::LoadedVersion>,
}

/// Every connector's status, and the queues of the Norths.
pub struct StatusBoard {
    /// Engine name.
    pub engine: String,
    /// Start instant.
    pub started: Timestamp,
    /// Connectors (replaced when the configuration changes).
    pub connectors: Mutex<Vec<Arc<ConnectorStatus>>>,
    /// North queues.
    pub queues: Mutex<Vec<Arc<NorthQueue>>>,
    /// The Souths' logs.
    pub logs: Mutex<Vec<Arc<crate::cache::ValueLog>>>,
    /// `add_values` latency (µs).
    pub latency: Arc<Mutex<hdrhistogram::Histogram<u64>>>,
    /// The plugins folder as last scanned.
    pub plugins: Mutex<(
        Vec<crate::loader::PluginReport>,
        Vec<super::loaded_version::LoadedVersion>,
    )>,
}

impl StatusBoard {
    /// A snapshot now.
    pub fn snapshot(&self) -> Snapshot {
        let latency = {
            let h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
            [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()]
        };
        let queues = self.queues.lock().map(|q| q.clone()).unwrap_or_default();
        let connectors = self
            .connectors
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let mut s = c.snapshot();
                if let Some(q) = queues.iter().find(|q| q.id() == c.id) {
                    let (queued_values, queued_files, queued_bytes) = q.queued();
                    let (error_batches, error_values, error_files) = q.errors().unwrap_or_default();
                    s.cache = Some(CacheSnapshot {
                        queued_values,
                        queued_files,
                        queued_bytes,
                        error_batches,
                        error_values,
                        error_files,
                        oldest_queued_age_s: q.oldest_age().map(|d| d.as_secs_f64()),
                        logs: log_snapshots(q),
                    });
                }
                s
            })
            .collect();
        let (plugins, mut loaded_versions) =
            self.plugins.lock().map(|p| p.clone()).unwrap_or_default();
        loaded_versions.iter_mut().for_each(|v| v.refresh());
        Snapshot {
            plugins,
            loaded_versions,
            engine: self.engine.clone(),
            pid: std::process::id(),
            started: self.started,
            updated: Timestamp::now(),
            add_values_latency_us: latency,
            connectors,
        }
    }

    /// Stores every connector's lasting counters (without fsync: they reach the disk with the
    /// next durable commit).
    pub async fn persist_counters(&self, store: &crate::cache::Store) {
        let connectors = self
            .connectors
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let ops = connectors
            .iter()
            .map(|c| crate::cache::Op::PutState {
                key: counters_key(&c.id),
                value: c.lasting_counters(),
            })
            .collect();
        if let Err(e) = store.apply(ops, false).await {
            tracing::warn!("cannot store the counters: {e}");
        }
    }

    /// Writes the snapshot to `path` atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        // Compact: for 10,000 connectors the indentation alone was a third of the 15 MB
        // written every second (`oibus status --json` prints it indented).
        let json = serde_json::to_vec(&self.snapshot())?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, path)
    }
}
