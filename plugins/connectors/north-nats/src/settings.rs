//! The settings of the `north-nats` connector, with their defaults.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct NatsSettings {
    /// Server address, `host:port` or `nats://host:port`.
    #[schemars(length(min = 1))]
    pub server: String,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (a secret: write-only, never logged).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// Subject of each value; `{pointId}` is replaced by its point id (`.`, `*`, `>` and
    /// spaces in it become `_`).
    #[serde(default = "default_subject")]
    #[schemars(length(min = 1))]
    pub subject: String,
    /// Subject of files; the file name travels in the `Oibus-File-Name` header.
    #[serde(default = "default_file_subject")]
    #[schemars(length(min = 1))]
    pub file_subject: String,
    /// The JetStream stream the subjects belong to.
    #[serde(default = "default_stream")]
    #[schemars(length(min = 1))]
    pub stream: String,
    /// Create the stream (with `stream_subjects`) if it does not exist; otherwise a missing stream
    /// is a settings error.
    #[serde(default)]
    pub create_stream: bool,
    /// Subjects of a stream this connector creates.
    #[serde(default = "default_stream_subjects")]
    pub stream_subjects: Vec<String>,
    /// How long to wait for the server (connection, and acknowledgements of a batch), in ms.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Require TLS and verify the server's certificate against the host of `server`.
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

pub(crate) fn default_subject() -> String {
    "oibus.values.{pointId}".into()
}

pub(crate) fn default_file_subject() -> String {
    "oibus.files".into()
}

pub(crate) fn default_stream() -> String {
    "OIBUS".into()
}

pub(crate) fn default_stream_subjects() -> Vec<String> {
    vec!["oibus.>".into()]
}

pub(crate) fn default_timeout() -> u64 {
    10_000
}
