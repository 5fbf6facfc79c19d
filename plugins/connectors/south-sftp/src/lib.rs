//! `south-sftp`: collects the files of a folder on an SFTP server (SSH File Transfer Protocol)
//! with the folder-scanner's rules: an item's regular expression and minimum age choose the
//! files; each is downloaded, checked unchanged, handed to the engine with `add_file` under its
//! own name, then deleted, moved or remembered on the server.
//!
//! Log-in by password or private key (Ed25519, ECDSA, RSA with SHA-2, with or without a
//! passphrase); the server's host key is checked against `host_key_fingerprint`, or trusted on
//! first use and remembered. The layers: `settings`, `host_key` (which key the server must
//! show), `session` (connect, check, log in, start SFTP, each step within the time-out),
//! `folder` (the remote folder of oibus-folder-common over SFTP), `south` (the connector).

mod folder;
mod host_key;
mod session;
mod settings;
mod south;

pub use oibus_folder_common::{AfterRead, ItemSettings};
use oibus_plugin_api::prelude::*;
pub use settings::{Authentication, SftpSettings};
use south::Sftp;

fn plugin() -> Plugin {
    Plugin::new("SFTP", "oibus-rs")
        .description("Collects files from a folder on an SFTP server")
        .connector(
            ConnectorType::<Sftp>::south("sftp", "SFTP folder")
                .description(
                    "Downloads the files of an SFTP folder, checked complete, then deletes, moves \
                     or remembers them on the server",
                )
                .queries_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
