//! `sftp`: folders of SFTP servers (SSH File Transfer Protocol), both ways.
//!
//! The South (`sftp`) collects the files of a folder with the folder-scanner's rules: an item's regular expression and minimum age choose the
//! files; each is downloaded, checked unchanged, handed to the engine with `add_file` under its
//! own name, then deleted, moved or remembered on the server. The North (`sftp-north`) writes
//! values (as JSON files) and files into a folder, each under a hidden temporary name, flushed
//! to the server's disk, then renamed.
//!
//! Log-in by password or private key (Ed25519, ECDSA, RSA with SHA-2, with or without a
//! passphrase); the server's host key is checked against `host_key_fingerprint`, or trusted on
//! first use and remembered. The layers: `settings`, `host_key` (which key the server must
//! show), `session` (connect, check, log in, start SFTP, each step within the time-out),
//! `folder` (the remote folder of oibus-folder-common over SFTP), `south` and `north` (the
//! connectors).

mod folder;
mod host_key;
mod north;
mod session;
mod settings;
mod south;

use north::SftpNorth;
pub use oibus_folder_common::{AfterRead, ItemSettings};
use oibus_plugin_api::prelude::*;
pub use settings::{Authentication, SftpNorthSettings, SftpSettings};
use south::Sftp;

fn plugin() -> Plugin {
    Plugin::new("SFTP", "oibus-rs")
        .description("Files from and to folders of SFTP servers")
        .connector(
            ConnectorType::<Sftp>::south("sftp", "SFTP folder")
                .description(
                    "Downloads the files of an SFTP folder, checked complete, then deletes, moves \
                     or remembers them on the server",
                )
                .queries_file(),
        )
        .connector(
            ConnectorType::<SftpNorth>::north("sftp-north", "SFTP folder")
                .description(
                    "Writes values (JSON) and files into an SFTP folder, each under a temporary \
                     name, flushed, then renamed",
                )
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
