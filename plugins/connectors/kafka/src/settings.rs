//! The settings of the `kafka-north` connector, with their defaults.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct KafkaSettings {
    /// Brokers to ask for the cluster's layout first, `host:port` each; the others are learnt
    /// from them.
    #[schemars(length(min = 1))]
    pub bootstrap_servers: Vec<String>,
    /// Topic of each value; `{pointId}` is replaced by its point id (characters Kafka refuses in
    /// a topic name become `_`). The record's key is the point id, so the values of one point
    /// stay in order in one partition.
    #[serde(default = "default_topic")]
    #[schemars(length(min = 1, max = 249))]
    pub topic: String,
    /// Topic of files: one record per file, its key the file name, also in the `oibus-file-name`
    /// header.
    #[serde(default = "default_file_topic")]
    #[schemars(length(min = 1, max = 249))]
    pub file_topic: String,
    /// Compression of record batches.
    #[serde(default)]
    pub compression: Compression,
    /// How long to wait for the brokers: a connection, an answer, and the acknowledgement of a
    /// batch by every in-sync replica (`acks=all`), in ms.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600_000))]
    pub timeout_ms: u64,
    /// The largest record batch a topic takes, when the brokers do not tell (each topic's
    /// `max.message.bytes` is asked for first).
    #[serde(default = "default_max_message_bytes")]
    #[schemars(range(min = 1024))]
    pub max_message_bytes: u32,
    /// The largest produce request sent at once (as Kafka's `max.request.size`).
    #[serde(default = "default_max_request_bytes")]
    #[schemars(range(min = 1024))]
    pub max_request_bytes: u32,
    /// The client id the brokers see in their logs and quotas.
    #[serde(default = "default_client_id")]
    #[schemars(length(min = 1, max = 255))]
    pub client_id: String,
    /// SASL authentication (over TLS, unless the network is trusted: PLAIN sends the password).
    #[serde(default)]
    pub sasl: Option<Sasl>,
    /// Require TLS and verify the brokers' certificates against their host names.
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

/// Compression of record batches (the brokers keep them as sent, unless a topic says otherwise).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Compression {
    /// None, as Kafka's producers by default.
    #[default]
    None,
    /// gzip: smallest, slowest.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4: fast, a good choice for JSON values.
    Lz4,
    /// Zstandard: small and fast (brokers from Kafka 2.1).
    Zstd,
}

/// SASL settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Sasl {
    /// The mechanism the brokers offer.
    pub mechanism: SaslMechanism,
    /// User name.
    #[schemars(length(min = 1, max = 1024))]
    pub username: String,
    /// Password (a secret: write-only, never logged).
    #[schemars(extend("writeOnly" = true), length(max = 1024))]
    pub password: String,
}

/// SASL mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum SaslMechanism {
    /// User name and password in clear (use with TLS).
    #[serde(rename = "PLAIN")]
    Plain,
    /// Salted challenge-response with SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// Salted challenge-response with SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// The mechanism's name in the SASL exchange.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

pub(crate) fn default_topic() -> String {
    "oibus.values".into()
}

pub(crate) fn default_file_topic() -> String {
    "oibus.files".into()
}

pub(crate) fn default_timeout() -> u64 {
    30_000
}

/// Kafka's own default of `max.message.bytes`.
pub(crate) fn default_max_message_bytes() -> u32 {
    1_048_588
}

/// Kafka's own default of `max.request.size`.
pub(crate) fn default_max_request_bytes() -> u32 {
    1_048_576
}

pub(crate) fn default_client_id() -> String {
    "oibus".into()
}
