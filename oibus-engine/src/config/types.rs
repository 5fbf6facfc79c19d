//! The configuration file's shape, with the defaults of every key (documented in
//! `docs/configuration.md`).

use super::units::{ByteSize, Dur};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The store's page cache unless configured (`engine.store_cache`): 256 MiB.
pub const DEFAULT_CACHE: usize = 256 << 20;

/// A whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Engine-wide settings.
    #[serde(default)]
    pub engine: EngineConfig,
    /// Named cron schedules that South items are read on.
    #[serde(default)]
    pub scan_modes: Vec<ScanModeConfig>,
    /// Sources.
    #[serde(default)]
    pub south: Vec<SouthConfig>,
    /// Destinations.
    #[serde(default)]
    pub north: Vec<NorthConfig>,
}

/// `[engine]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Name of this gateway, shown in logs and status.
    pub name: String,
    /// Plugins: their folder, signatures, isolation (a plain path is the folder).
    #[serde(deserialize_with = "plugins_or_folder")]
    pub plugins: PluginsConfig,
    /// Log level or tracing filter (`info`, `oibus=debug,warn`…); `--log-level` and `OIBUS_LOG` win.
    pub log_level: String,
    /// Recent log records kept in memory for `GET /api/logs` and its stream (the oldest go
    /// first); 0 keeps none.
    pub log_records: usize,
    /// A log file beside the terminal output, rotated by size (none by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<LogFileConfig>,
    /// Reconnection back-off of every connector.
    pub reconnect: ReconnectConfig,
    /// Time-outs of plugin calls.
    pub timeouts: TimeoutsConfig,
    /// The admin REST API.
    pub admin: AdminConfig,
    /// Memory the cache store keeps of its file's pages (`"256MiB"`).
    pub store_cache: ByteSize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            name: "oibus".into(),
            plugins: PluginsConfig::default(),
            log_level: "info".into(),
            log_records: crate::logs::DEFAULT_CAPACITY,
            log_file: None,
            reconnect: ReconnectConfig::default(),
            timeouts: TimeoutsConfig::default(),
            admin: AdminConfig::default(),
            store_cache: ByteSize(DEFAULT_CACHE as u64),
        }
    }
}

/// `[engine.log_file]`: the log written to a file, rotated by size.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogFileConfig {
    /// The file; relative to the data folder (`logs/oibus.log`).
    pub path: PathBuf,
    /// Size at which the file is rotated (`oibus.log` becomes `oibus.log.1`, and so on).
    #[serde(default = "default_log_size")]
    pub max_size: ByteSize,
    /// Rotated files kept besides the current one (the oldest are deleted).
    #[serde(default = "default_log_keep")]
    pub keep: usize,
}

fn default_log_size() -> ByteSize {
    ByteSize(10_000_000)
}

fn default_log_keep() -> usize {
    5
}

/// Where a connector's plugin code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// In the engine's process: fastest; a crash of the plugin is a crash of the engine.
    #[default]
    InProcess,
    /// In a child process of its own (`oibus plugin-host`): a crash, a hang or an exhausted
    /// memory limit of the plugin restarts the child; the engine and its caches go on.
    Process,
}

/// `[engine.plugins]` (or `engine.plugins = "folder"`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// The plugins folder (default: `<data>/plugins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    /// `require`: only files signed by a trusted key load; `warn` (default): unsigned files load
    /// with a warning; `off`: signatures are not looked at. A signature that does not verify is
    /// refused under `require` and `warn`.
    pub signatures: crate::loader::SignaturePolicy,
    /// Trusted minisign public keys (base64), besides the `*.pub` files of `<data>/trusted-keys`.
    pub trusted_keys: Vec<String>,
    /// Where connectors run by default.
    pub isolation: Isolation,
    /// Per plugin id, where its connectors run (overrides `isolation`; a connector's own
    /// `isolation` overrides both).
    pub isolate: std::collections::BTreeMap<String, Isolation>,
    /// Memory limit of each child process of isolated connectors (address space); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<ByteSize>,
    /// An isolated connector whose child crashes this many times within `crash_window` is
    /// quarantined until an operator restarts it.
    pub crash_limit: u32,
    /// See `crash_limit`.
    pub crash_window: Dur,
    /// How long the first load of a file not signed by a trusted key may take in its throwaway
    /// process before it is refused.
    pub probe_timeout: Dur,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            folder: None,
            signatures: crate::loader::SignaturePolicy::default(),
            trusted_keys: Vec::new(),
            isolation: Isolation::default(),
            isolate: Default::default(),
            max_memory: None,
            crash_limit: 5,
            crash_window: Dur::secs(600),
            probe_timeout: Dur::secs(10),
        }
    }
}

/// `engine.plugins` is a table, or (as before it had other settings) the folder's path.
fn plugins_or_folder<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PluginsConfig, D::Error> {
    struct Either;
    impl<'de> serde::de::Visitor<'de> for Either {
        type Value = PluginsConfig;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the plugins folder's path or an [engine.plugins] table")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PluginsConfig, E> {
            Ok(PluginsConfig {
                folder: Some(v.into()),
                ..PluginsConfig::default()
            })
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> Result<PluginsConfig, A::Error> {
            PluginsConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(Either)
}

impl PluginsConfig {
    /// Where connector `connector` (with its own `isolation` setting) of plugin `plugin` runs.
    pub fn isolation_of(&self, plugin: &str, connector: Option<Isolation>) -> Isolation {
        connector
            .or_else(|| self.isolate.get(plugin).copied())
            .unwrap_or(self.isolation)
    }
}

/// `[engine.admin]`: the admin REST API.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Whether `oibus run` serves it.
    pub enabled: bool,
    /// Address and port (OIBus's port by default; port 0: any free port).
    pub listen: String,
    /// The bearer token (default: generated at first start into `<data>/admin-token`, mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A second bearer token that opens `GET /metrics` only, for a Prometheus server that should
    /// not hold the admin token (the admin token opens it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
    /// Host names clients may reach the API by, besides the listen address, `localhost`, any IP
    /// address and this machine's name: a reverse proxy's public name, a DNS alias. A request
    /// naming another host is refused (a web page that rebinds its own name to this address
    /// must not reach the API). `["*"]` accepts every name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Serve HTTPS with this certificate chain (PEM; relative to the configuration file),
    /// together with `tls_private_key`. The console's cookie is then `Secure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_certificate: Option<PathBuf>,
    /// The private key of `tls_certificate` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_private_key: Option<PathBuf>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:2223".into(),
            token: None,
            metrics_token: None,
            allowed_hosts: Vec::new(),
            tls_certificate: None,
            tls_private_key: None,
        }
    }
}

/// `[engine.reconnect]`: exponential back-off with jitter between connection attempts.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectConfig {
    /// First delay.
    pub min: Dur,
    /// Largest delay.
    pub max: Dur,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            min: Dur::secs(1),
            max: Dur::secs(60),
        }
    }
}

/// `[engine.timeouts]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// `start`, `connect`, `stop`, `disconnect`, `test_connection`.
    pub lifecycle: Dur,
    /// Queries and sends.
    pub data: Dur,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            lifecycle: Dur::secs(30),
            data: Dur::secs(120),
        }
    }
}

/// `[[scan_modes]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanModeConfig {
    /// Name items refer to.
    pub name: String,
    /// Six-field cron with seconds: `sec min hour day-of-month month day-of-week`. A scan mode
    /// has a `cron` or an `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// A fixed interval (`"100ms"`, at least [`MIN_EVERY`]): runs at whole multiples of it
    /// from the mode's start, so that late runs do not push the next ones (no drift); a tick
    /// that finds the previous run still going is skipped and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Dur>,
}

/// The shortest `every` of a scan mode.
pub const MIN_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// The scan mode name that makes an item a subscription.
pub const SUBSCRIPTION: &str = "subscription";

/// How a South's scheduled items are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QueryKind {
    /// `last_point_query` on each tick.
    LastPoint,
    /// `history_query` from the tracked instant to now, on each tick.
    History,
    /// `file_query` on each tick.
    File,
}

/// `[[south]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SouthConfig {
    /// Unique id.
    pub id: String,
    /// Connector type (from a plugin).
    #[serde(rename = "type")]
    pub type_id: String,
    /// Disabled connectors are not created.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How scheduled items are read (default: the one query capability of the type).
    #[serde(default)]
    pub query: Option<QueryKind>,
    /// Settings, validated against the type's schema.
    #[serde(default = "empty_object")]
    pub settings: serde_json::Value,
    /// What to read (shared by the copies the engine keeps: a South may have 100,000 items).
    #[serde(default)]
    pub items: std::sync::Arc<Vec<ItemConfig>>,
    /// A CSV file the items are read from instead (relative to the configuration file's folder):
    /// a row per item, a column per setting. See `docs/configuration.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_file: Option<std::path::PathBuf>,
    /// History reading (query = "history").
    #[serde(default)]
    pub history: HistoryConfig,
    /// How long its values stay in its log once every North has sent them, for replays.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Where its plugin code runs (default: `engine.plugins.isolate` or `.isolation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    /// A semver requirement (`"=0.1.0"`, `"~0.1"`) on its plugin's version: it keeps a matching
    /// version while the others move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<String>,
}

/// `[[south.items]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemConfig {
    /// Unique name inside the connector.
    pub name: String,
    /// Disabled items are not read.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A scan mode name, or `subscription`.
    pub scan_mode: String,
    /// Settings, validated against the type's item schema, kept as their JSON text (a South
    /// may have 100,000 items).
    #[serde(default)]
    pub settings: super::json_text::JsonText,
}

/// `[south.history]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Longest window of one `history_query`.
    pub max_read_interval: Dur,
    /// Pause between two windows.
    pub read_delay: Dur,
    /// Each run starts this long before the tracked instant, to read values the source stored
    /// late; those already sent are not sent again.
    pub overlap: Dur,
    /// First run without a tracked instant: an RFC 3339 instant, or a duration before now.
    pub start: String,
    /// Longest range a history request (a command of a front end) may ask for.
    pub max_request_range: Dur,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            max_read_interval: Dur::secs(3600),
            read_delay: Dur::millis(200),
            overlap: Dur::secs(10),
            start: "1h".into(),
            max_request_range: Dur::secs(31 * 24 * 3600),
        }
    }
}

/// `[south.retention]`: what a South's log keeps of the values every North has already sent,
/// so that an operator can send them again (a replay). Sent values are kept while both bounds
/// hold and dropped oldest first; values a North has not sent yet are bounded by that North's
/// `caching.max_size` and `full_policy`, never by the retention. The default keeps nothing;
/// `max_size` alone keeps by size, with `max_age` by both.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Most bytes of sent values kept (`0`: none).
    pub max_size: ByteSize,
    /// Sent values older than this are dropped (`0s`: no age bound; needs `max_size`).
    pub max_age: Dur,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_size: ByteSize(0),
            max_age: Dur::secs(0),
        }
    }
}

/// Where a North starts reading a South's log the first time it receives that South.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StartFrom {
    /// With the values that arrive from now on.
    #[default]
    Now,
    /// With the oldest value the log retains (see `[south.retention]`).
    Oldest,
}

/// `[[north]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NorthConfig {
    /// Unique id.
    pub id: String,
    /// Connector type (from a plugin).
    #[serde(rename = "type")]
    pub type_id: String,
    /// Disabled connectors are not created.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Settings, validated against the type's schema.
    #[serde(default = "empty_object")]
    pub settings: serde_json::Value,
    /// South ids whose data this North receives; empty: every South.
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// Store-and-forward policy.
    #[serde(default)]
    pub caching: CachingConfig,
    /// Where its plugin code runs (default: `engine.plugins.isolate` or `.isolation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    /// A semver requirement on its plugin's version, as for Souths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<String>,
}

/// What happens when a North's cache reaches `max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FullPolicy {
    /// Souths wait (their `add_values`/`add_file` do not complete) until there is room.
    #[default]
    Backpressure,
    /// Souths get an error at once and keep the data at the source.
    Reject,
}

/// `[north.caching]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CachingConfig {
    /// Send as soon as this many values are queued.
    pub group_count: usize,
    /// Most values in one `handle_values` call.
    pub max_send_count: usize,
    /// Most files in one `handle_files` call (to a North that takes batches of files).
    pub max_send_files: usize,
    /// Send what is queued at least this often, even below `group_count`.
    pub send_interval: Dur,
    /// Wait before the first retry of a failed send; doubles at each retry.
    pub retry_interval: Dur,
    /// Retries before a batch or file goes to the error store.
    pub retry_count: u32,
    /// Most bytes queued (values and files) before `full_policy` applies.
    pub max_size: ByteSize,
    /// What happens at `max_size`.
    pub full_policy: FullPolicy,
    /// Keep sent files.
    pub archive: ArchiveConfig,
    /// Files of at most this size are kept inside the cache's store, made durable by its group
    /// commit, rather than copied beside it each with its own fsync; `0` copies every file.
    pub inline_files_up_to: ByteSize,
    /// Where a new North starts in the logs of the Souths it receives: `now` or `oldest`.
    pub start_from: StartFrom,
}

impl Default for CachingConfig {
    fn default() -> Self {
        Self {
            group_count: 1000,
            max_send_count: 10_000,
            max_send_files: 100,
            send_interval: Dur::secs(1),
            retry_interval: Dur::secs(1),
            retry_count: 3,
            max_size: ByteSize(1 << 30),
            full_policy: FullPolicy::Backpressure,
            archive: ArchiveConfig::default(),
            inline_files_up_to: ByteSize(64 << 10),
            start_from: StartFrom::Now,
        }
    }
}

/// `[north.caching.archive]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Keep files after they are sent, in `<data>/cache/<north>/archive`.
    pub enabled: bool,
    /// Archived files older than this are deleted.
    pub retention: Dur,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            retention: Dur::secs(7 * 24 * 3600),
        }
    }
}

fn yes() -> bool {
    true
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_plugins_is_a_folder_or_a_table_and_isolation_goes_connector_plugin_engine() {
        let old: Config = toml::from_str("[engine]\nplugins = \"/opt/plugins\"\n").unwrap();
        assert_eq!(
            old.engine.plugins.folder,
            Some(PathBuf::from("/opt/plugins"))
        );
        let new: Config =
            toml::from_str("[engine.plugins]\nfolder = \"p\"\nisolate = { acme = \"process\" }\n")
                .unwrap();
        let p = &new.engine.plugins;
        assert_eq!(p.isolation_of("other", None), Isolation::InProcess);
        assert_eq!(p.isolation_of("acme", None), Isolation::Process);
        assert_eq!(
            p.isolation_of("acme", Some(Isolation::InProcess)),
            Isolation::InProcess
        );
        let e = toml::from_str::<Config>("[engine.plugins]\nsignatures = \"maybe\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("maybe") && e.contains("require"), "{e}");
    }
}
