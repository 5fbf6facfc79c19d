//! `south-folder-scanner`: collects files dropped in a folder and hands them to the engine.
//!
//! On each scan, every regular file of `input_folder` whose name matches an item's `regex` and that
//! has not been modified for `min_age_ms` is handed to the engine with `add_file`. Only once the
//! engine holds its own durable copy is the original deleted, moved, or (when preserved) recorded
//! as sent, so a crash at any moment never loses a file: at worst it is sent twice.

mod settings;
mod south;

pub use oibus_folder_common::{AfterRead, ItemSettings};
use oibus_plugin_api::prelude::*;
pub use settings::ScannerSettings;
use south::FolderScanner;

fn plugin() -> Plugin {
    Plugin::new("Folder scanner", "oibus-rs")
        .description("Collects files dropped in a folder")
        .connector(
            ConnectorType::<FolderScanner>::south("folder-scanner", "Folder scanner")
                .description("Sends the files of a folder, then deletes, moves or remembers them")
                .queries_file(),
        )
}

#[cfg(test)]
mod tests;

oibus_plugin_api::export_plugin!(plugin);
