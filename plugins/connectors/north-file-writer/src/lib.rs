//! `north-file-writer`: writes values as JSON files (OIBus shape) and copies files into an output
//! folder. Every file appears atomically: written under a hidden temporary name, synced, renamed.

mod north;
mod settings;
#[cfg(test)]
mod tests;

use north::FileWriter;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("File writer", "oibus-rs")
        .description("Writes values as JSON files and copies files to a folder")
        .connector(
            ConnectorType::<FileWriter>::north("file-writer", "File writer")
                .description("Values as JSON files in OIBus shape; files copied; atomic writes")
                .handles_values()
                .handles_file()
                .handles_file_batches(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
