//! The settings of the `influxdb-north` connector, with their defaults.

use oibus_plugin_api::prelude::*;
use std::collections::BTreeMap;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct InfluxSettings {
    /// The server's address, `http://host:8086` or `https://…`.
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,
    /// Which write API: `v1` (`/write?db=…`, InfluxDB 1.x) or `v2` (`/api/v2/write?org=…&bucket=…`,
    /// InfluxDB 2.x and 3.x, and 1.8+ with its compatibility API).
    pub api: Api,
    /// Measurement of each value: a template where `{pointId}` is the point id and `{name}` the
    /// group `name` of `point_pattern`.
    #[serde(default = "default_measurement")]
    #[schemars(length(min = 1, max = 512))]
    pub measurement: String,
    /// Tags of each value, name → template (as `measurement`). A tag whose template gives an empty
    /// text is left out.
    #[serde(default = "default_tags")]
    pub tags: BTreeMap<String, String>,
    /// A regular expression over the point id whose named groups the templates use
    /// (`^(?<site>[^.]+)\.(?<line>[^.]+)\.(?<signal>.+)$`). A point id it does not match keeps
    /// `{pointId}` only: its named groups are empty.
    #[serde(default)]
    pub point_pattern: Option<String>,
    /// Also write the value's quality (`good`, `uncertain`, `bad`) as a tag `quality`.
    #[serde(default = "default_true")]
    pub quality_tag: bool,
    /// How long a write may take, in ms.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600_000))]
    pub timeout_ms: u64,
    /// TLS settings for an `https://` url (default: the system's authorities).
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

/// Write API and its credentials.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "version",
    rename_all = "lowercase",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Api {
    /// InfluxDB 1.x: a database, an optional retention policy, user and password if the server
    /// has authentication on.
    V1 {
        /// The database.
        #[schemars(length(min = 1, max = 255))]
        database: String,
        /// The retention policy (default: the database's default one).
        #[serde(default)]
        retention_policy: Option<String>,
        /// User name.
        #[serde(default)]
        username: Option<String>,
        /// Password (a secret: write-only, never logged).
        #[serde(default)]
        #[schemars(extend("writeOnly" = true))]
        password: Option<String>,
    },
    /// InfluxDB 2.x/3.x: organization, bucket and an API token.
    V2 {
        /// The organization.
        #[schemars(length(min = 1, max = 255))]
        org: String,
        /// The bucket.
        #[schemars(length(min = 1, max = 255))]
        bucket: String,
        /// The API token (a secret: write-only, never logged).
        #[schemars(extend("writeOnly" = true), length(min = 1, max = 4096))]
        token: String,
    },
}

pub(crate) fn default_measurement() -> String {
    "oibus".into()
}

pub(crate) fn default_tags() -> BTreeMap<String, String> {
    BTreeMap::from([("point".to_string(), "{pointId}".to_string())])
}

pub(crate) fn default_true() -> bool {
    true
}

pub(crate) fn default_timeout() -> u64 {
    10_000
}
