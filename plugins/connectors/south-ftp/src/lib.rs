//! `south-ftp`: collects the files of a folder on an FTP server, or FTPS (explicit, `AUTH TLS`),
//! with the folder-scanner's rules: an item's regular expression and minimum age choose the
//! files; each is downloaded, checked unchanged, handed to the engine with `add_file` under its
//! own name, then deleted, moved or remembered on the server.
//!
//! Folders are listed with `MLSD` where the server offers it (exact times) and `LIST`
//! otherwise (Unix and Windows formats, times to the minute, which the readiness rule allows
//! for). The layers: `settings`, `session` (connect, TLS, log in, every command within the
//! time-out, errors sorted into "this file" and "the connection"), `folder` (the remote folder
//! of oibus-folder-common over FTP), `south` (the connector).

mod folder;
mod session;
mod settings;
mod south;

pub use oibus_folder_common::{AfterRead, ItemSettings};
use oibus_plugin_api::prelude::*;
pub use settings::{FtpSettings, Mode};
use south::Ftp;

fn plugin() -> Plugin {
    Plugin::new("FTP", "oibus-rs")
        .description("Collects files from a folder on an FTP or FTPS server")
        .connector(
            ConnectorType::<Ftp>::south("ftp", "FTP folder")
                .description(
                    "Downloads the files of an FTP or FTPS folder, checked complete, then \
                     deletes, moves or remembers them on the server",
                )
                .queries_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
