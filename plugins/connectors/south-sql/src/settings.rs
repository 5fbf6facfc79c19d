//! Connector and item settings.

use oibus_plugin_api::prelude::*;

/// Settings of the `postgresql` connector type.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct PostgresSettings {
    /// Host name or IP address of the server.
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port.
    #[serde(default = "default_pg_port")]
    pub port: u16,
    /// Database name.
    #[schemars(length(min = 1))]
    pub database: String,
    /// User name.
    #[schemars(length(min = 1))]
    pub username: String,
    /// Password (a secret: write-only, never logged).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// How long to wait for the server to accept the connection, in milliseconds.
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 1))]
    pub connect_timeout_ms: u64,
    /// Longest wait for a row of a query (the first, and between two), in milliseconds: a query
    /// that waits longer is interrupted.
    #[serde(default = "default_query_timeout")]
    #[schemars(range(min = 1))]
    pub query_timeout_ms: u64,
    /// Encrypt the connection (TLS, `sslmode=require`) and verify the server's certificate
    /// against `host`. Default: not encrypted.
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

/// Settings of the `mysql` connector type (MySQL and MariaDB).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct MysqlSettings {
    /// Host name or IP address of the server.
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port.
    #[serde(default = "default_mysql_port")]
    pub port: u16,
    /// Database name.
    #[schemars(length(min = 1))]
    pub database: String,
    /// User name.
    #[schemars(length(min = 1))]
    pub username: String,
    /// Password (a secret: write-only, never logged).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// How long to wait for the server to accept the connection, in milliseconds.
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 1))]
    pub connect_timeout_ms: u64,
    /// Longest wait for a row of a query (the first, and between two), in milliseconds: a query
    /// that waits longer is interrupted.
    #[serde(default = "default_query_timeout")]
    #[schemars(range(min = 1))]
    pub query_timeout_ms: u64,
    /// Encrypt the connection (TLS) and verify the server's certificate against `host`: with
    /// `ca_file`, against that authority only; without it, against the Mozilla root
    /// certificates built in. Default: not encrypted.
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

/// Settings of the `sqlite` connector type.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SqliteSettings {
    /// Path of the database file. It is opened read-only and must exist.
    #[schemars(length(min = 1))]
    pub path: String,
    /// How long a query waits for a writer's lock, in milliseconds.
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout_ms: u64,
    /// Longest wait for a row of a query (the first, and between two), in milliseconds: a query
    /// that waits longer is interrupted.
    #[serde(default = "default_query_timeout")]
    #[schemars(range(min = 1))]
    pub query_timeout_ms: u64,
}

fn default_pg_port() -> u16 {
    5432
}
fn default_mysql_port() -> u16 {
    3306
}
fn default_connect_timeout() -> u64 {
    5000
}
fn default_query_timeout() -> u64 {
    30_000
}
fn default_busy_timeout() -> u64 {
    5000
}

pub use oibus_sql_common::settings::{Columns, ItemSettings, OwnedColumns, TimeFormat};
