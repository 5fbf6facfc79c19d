//! Connector settings (the item settings are those of every file-collecting South).

use oibus_plugin_api::prelude::*;
use oibus_tls_common::Tls;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct FtpSettings {
    /// The server's name or address.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// The server's control port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// The account to log in as.
    #[serde(default = "anonymous")]
    #[schemars(length(min = 1, max = 256))]
    pub username: String,
    /// Its password (a secret: never logged).
    #[serde(default)]
    pub password: String,
    /// Explicit FTPS: `AUTH TLS` before logging in, and every transfer encrypted (the server's
    /// certificate checked against `ca_file` or the system's authorities). Without it, the
    /// password and the files cross the network in clear.
    pub tls: Option<Tls>,
    /// How data connections are opened: `passive` (PASV, the address the server gives replaced
    /// by the control connection's, which servers behind NAT need) or `extended-passive` (EPSV).
    #[serde(default)]
    pub mode: Mode,
    /// The folder on the server to collect files from (absolute, or relative to the account's
    /// home).
    #[schemars(length(min = 1, max = 4096))]
    pub remote_folder: String,
    /// Time-out of the connection, of each command, and of a transfer without data, in
    /// milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600000))]
    pub timeout_ms: u64,
}

fn default_port() -> u16 {
    21
}
fn anonymous() -> String {
    "anonymous".to_string()
}
fn default_timeout() -> u64 {
    30_000
}

/// How data connections are opened (active mode, where the server connects back to the
/// gateway, is not offered: firewalls of plants refuse it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Mode {
    /// PASV, connecting to the control connection's address.
    #[default]
    Passive,
    /// EPSV (RFC 2428).
    ExtendedPassive,
}
