//! Connector settings of the South and the North (the South's item settings are those of every
//! file-collecting South), and the connection both describe.

use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SftpSettings {
    /// The server's name or address.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// The server's SSH port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// The account to log in as.
    #[schemars(length(min = 1, max = 256))]
    pub username: String,
    /// How to log in.
    pub authentication: Authentication,
    /// The SHA-256 fingerprint of the server's host key, as `ssh-keygen -lf <key>.pub` prints
    /// it (`SHA256:…`). Without it, the key the server shows at the first connection is trusted
    /// and remembered, and a different key later is refused (as OpenSSH's `known_hosts`).
    #[schemars(regex(pattern = r"^SHA256:[A-Za-z0-9+/]{43}=?$"))]
    pub host_key_fingerprint: Option<String>,
    /// The folder on the server to collect files from (absolute, or relative to the account's
    /// home).
    #[schemars(length(min = 1, max = 4096))]
    pub remote_folder: String,
    /// Time-out of the connection and of each request to the server, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600000))]
    pub timeout_ms: u64,
}

impl SftpSettings {
    /// The connection these settings describe.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host,
            port: self.port,
            username: &self.username,
            authentication: &self.authentication,
            timeout_ms: self.timeout_ms,
        }
    }
}

/// Settings of the North: the connection as the South's, and how written files are named.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SftpNorthSettings {
    /// The server's name or address.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// The server's SSH port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// The account to log in as.
    #[schemars(length(min = 1, max = 256))]
    pub username: String,
    /// How to log in.
    pub authentication: Authentication,
    /// The SHA-256 fingerprint of the server's host key (`SHA256:…`); without it, the first key
    /// seen is trusted and remembered, as for the South.
    #[schemars(regex(pattern = r"^SHA256:[A-Za-z0-9+/]{43}=?$"))]
    pub host_key_fingerprint: Option<String>,
    /// The folder on the server the files are written to (it must exist).
    #[schemars(length(min = 1, max = 4096))]
    pub remote_folder: String,
    /// Text put before each file name.
    #[serde(default)]
    #[schemars(length(max = 255))]
    pub prefix: String,
    /// Text put after each file name, before its extension. A file keeps its own name
    /// (`prefix + name + suffix + extension`) and replaces a file of that name already there,
    /// so that a file sent twice after a crash lands in the same place; values go to
    /// `prefix + <milliseconds>-<sequence> + suffix + .json`.
    #[serde(default)]
    #[schemars(length(max = 255))]
    pub suffix: String,
    /// Add `-<milliseconds>-<sequence>` to the name of every file, so that none replaces
    /// another.
    #[serde(default)]
    pub unique_names: bool,
    /// Time-out of the connection, of each request, and of a transfer without progress, in
    /// milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600000))]
    pub timeout_ms: u64,
}

impl SftpNorthSettings {
    /// The connection these settings describe.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host,
            port: self.port,
            username: &self.username,
            authentication: &self.authentication,
            timeout_ms: self.timeout_ms,
        }
    }
}

/// What a connection needs, from the settings of either connector.
pub struct Endpoint<'a> {
    /// The server's name or address.
    pub host: &'a str,
    /// Its SSH port.
    pub port: u16,
    /// The account.
    pub username: &'a str,
    /// How to log in.
    pub authentication: &'a Authentication,
    /// The time-out of each step, in milliseconds.
    pub timeout_ms: u64,
}

fn default_port() -> u16 {
    22
}
fn default_timeout() -> u64 {
    30_000
}

/// How the connector logs in.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "type",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Authentication {
    /// A password (a secret: never logged).
    Password {
        /// The password.
        password: String,
    },
    /// A private key in OpenSSH or PEM format (Ed25519, ECDSA or RSA).
    PrivateKey {
        /// The key file, on the gateway.
        #[schemars(length(min = 1, max = 4096))]
        path: String,
        /// The key's passphrase, if it has one (a secret: never logged).
        passphrase: Option<String>,
    },
}
