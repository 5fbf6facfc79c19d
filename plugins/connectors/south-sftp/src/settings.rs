//! Connector settings (the item settings are those of every file-collecting South).

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
