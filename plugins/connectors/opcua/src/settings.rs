//! Connector and item settings.

use oibus_plugin_api::prelude::*;
use std::path::PathBuf;

/// Settings of the South.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
// Unknown keys are refused by the schema, which the engine checks first (serde cannot refuse
// them beside a flattened table).
#[schemars(crate = "oibus_plugin_api::schemars", extend("additionalProperties" = false))]
pub struct OpcuaSettings {
    /// How to reach the server.
    #[serde(flatten)]
    pub connection: Connection,
    /// Most nodes in one Read request; the server's own limit (`MaxNodesPerRead`) applies when
    /// it is lower. 0: the server's limit alone.
    #[serde(default)]
    pub max_nodes_per_read: u32,
    /// Most Read requests of one scan in flight at once, on the one session: more hides the
    /// network's round trips when a scan needs several Reads, on servers that answer requests
    /// concurrently. 1: one after the other.
    #[serde(default = "default_parallel_reads")]
    #[schemars(range(min = 1, max = 64))]
    pub max_parallel_reads: u32,
    /// How often the server sends what subscriptions gathered, in milliseconds.
    #[serde(default = "default_publishing")]
    #[schemars(range(min = 10))]
    pub publishing_interval_ms: u64,
    /// Most values asked of the server in one history read; it sends the rest page by page
    /// (continuation points).
    #[serde(default = "default_history_page")]
    #[schemars(range(min = 1))]
    pub history_values_per_read: u32,
}

/// Settings of the North.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars", extend("additionalProperties" = false))]
pub struct NorthSettings {
    /// How to reach the server.
    #[serde(flatten)]
    pub connection: Connection,
    /// The node each point is written to, by point id (`{ "pump.rpm" = "ns=2;s=Pump.Rpm" }`).
    #[serde(default)]
    pub nodes: std::collections::BTreeMap<String, String>,
    /// The node of a point the table does not list, with `{pointId}` replaced by the point id
    /// (`ns=2;s={pointId}`). Without it, such a point is refused.
    #[serde(default)]
    pub node_id_template: Option<String>,
    /// Most nodes in one Write request; the server's own limit (`MaxNodesPerWrite`) applies when
    /// it is lower. 0: the server's limit alone.
    #[serde(default)]
    pub max_nodes_per_write: u32,
}

/// How to reach the server and who the gateway is to it: the settings both connector types
/// share.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Connection {
    /// Endpoint URL of the server, `opc.tcp://host:port[/path]`.
    #[schemars(length(min = 1), regex(pattern = r"^opc\.tcp://[^/]"))]
    pub url: String,
    /// Message security of the connection.
    #[serde(default)]
    pub security_mode: SecurityMode,
    /// Security policy (with a mode other than `none`).
    #[serde(default)]
    pub security_policy: SecurityPolicy,
    /// Who the gateway is to the server.
    #[serde(default)]
    pub authentication: Authentication,
    /// The gateway's application certificate (DER or PEM) and private key (unencrypted PEM);
    /// its application URI is `urn:oibus-rs:<connector id>`. Default: the gateway's own, made at
    /// the first start in `<data>/plugin-data/oibus-opcua/pki/own/cert.der` (key in
    /// `pki/private/`), valid a year and shared by every OPC UA connector, connection test and
    /// browse, so a server trusts it once.
    #[serde(default)]
    pub certificate: Option<OwnCertificate>,
    /// Session time-out asked of the server, in milliseconds.
    #[serde(default = "default_session_timeout")]
    #[schemars(range(min = 1000))]
    pub session_timeout_ms: u32,
    /// Time-out of each request (connection, read, write), in milliseconds.
    #[serde(default = "default_request_timeout")]
    #[schemars(range(min = 1))]
    pub request_timeout_ms: u64,
    /// Lifetime asked for the secure channel's keys, in milliseconds; the gateway renews them
    /// at three quarters of it, without interrupting reads or subscriptions.
    #[serde(default = "default_channel_lifetime")]
    #[schemars(range(min = 1000))]
    pub secure_channel_lifetime_ms: u32,
}

fn default_parallel_reads() -> u32 {
    1
}

fn default_publishing() -> u64 {
    1000
}

fn default_history_page() -> u32 {
    1000
}

fn default_session_timeout() -> u32 {
    60_000
}
fn default_request_timeout() -> u64 {
    10_000
}
fn default_channel_lifetime() -> u32 {
    3_600_000
}

/// Message security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum SecurityMode {
    /// Neither signed nor encrypted.
    #[default]
    None,
    /// Signed.
    Sign,
    /// Signed and encrypted.
    SignAndEncrypt,
}

/// Security policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum SecurityPolicy {
    /// No security (with `security_mode = "none"`).
    #[default]
    None,
    /// Basic256Sha256.
    Basic256sha256,
    /// Aes128_Sha256_RsaOaep.
    Aes128Sha256Rsaoaep,
    /// Aes256_Sha256_RsaPss.
    Aes256Sha256Rsapss,
}

/// The user identity of the session.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "type",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Authentication {
    /// No user.
    #[default]
    Anonymous,
    /// A user name and a password.
    Username {
        /// User name.
        #[schemars(length(min = 1))]
        username: String,
        /// Password (a secret: write-only, never logged).
        #[schemars(extend("writeOnly" = true))]
        password: String,
    },
    /// A user certificate and its private key.
    Certificate {
        /// The user's certificate (DER or PEM).
        cert_file: PathBuf,
        /// Its private key (unencrypted PEM; a secret: never logged).
        key_file: PathBuf,
    },
}

/// The gateway's own application certificate.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct OwnCertificate {
    /// The certificate (`.der` or `.pem`).
    pub cert_file: PathBuf,
    /// Its private key (unencrypted PEM, PKCS#8 or PKCS#1; a secret: never logged).
    pub key_file: PathBuf,
}

/// Item settings: which node, and how its values are stamped.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// The node: `ns=2;s=Line1.Speed`, `ns=3;i=1001`, `ns=2;g=<GUID>`, `ns=2;b=<base64>`, or
    /// with a namespace URI instead of its index, `nsu=urn:vendor:plant;s=Line1.Speed`.
    #[schemars(length(min = 1))]
    pub node_id: String,
    /// Which instant a value is stamped with.
    #[serde(default)]
    pub timestamp_origin: TimestampOrigin,
    /// History reads (a South with `query = "history"`): the raw values, or one aggregate per
    /// `resampling_interval_ms` computed by the server.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// The interval of an aggregate, in milliseconds.
    #[serde(default = "default_resampling")]
    #[schemars(range(min = 1))]
    pub resampling_interval_ms: u64,
    /// Subscriptions (scan mode `subscription`): how often the server samples the node, in
    /// milliseconds.
    #[serde(default = "default_sampling")]
    pub sampling_interval_ms: u64,
    /// Subscriptions: how many samples the server keeps between two publications (the oldest
    /// are discarded first).
    #[serde(default = "default_queue")]
    #[schemars(range(min = 1))]
    pub queue_size: u32,
    /// Subscriptions: report a change only when it exceeds this deadband.
    #[serde(default)]
    pub deadband: Option<Deadband>,
}

fn default_sampling() -> u64 {
    1000
}
fn default_queue() -> u32 {
    10
}

/// A deadband of a subscription.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Deadband {
    /// Absolute (in the value's unit) or percent (of the node's EURange).
    #[serde(rename = "type")]
    pub kind: DeadbandKind,
    /// The deadband.
    #[schemars(range(min = 0.0))]
    pub value: f64,
}

/// The kind of deadband.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum DeadbandKind {
    /// A change smaller than `value` is not reported.
    Absolute,
    /// A change smaller than `value` percent of the node's EURange is not reported.
    Percent,
}

fn default_resampling() -> u64 {
    60_000
}

/// What a history read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Aggregate {
    /// Every value the server recorded.
    #[default]
    Raw,
    /// The average of each interval.
    Average,
    /// The minimum of each interval.
    Minimum,
    /// The maximum of each interval.
    Maximum,
    /// The number of values of each interval.
    Count,
}

/// Which instant a value is stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum TimestampOrigin {
    /// The source timestamp the server gives (else its server timestamp, else the time of the
    /// read).
    #[default]
    Source,
    /// The server timestamp (else the time of the read).
    Server,
    /// The time the gateway read the value.
    Gateway,
}
