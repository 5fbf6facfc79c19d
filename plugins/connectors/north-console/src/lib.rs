//! `north-console`: prints what it receives on the engine's standard output. Handy for demos and to
//! check a South's data at a glance.

mod north;
mod settings;
#[cfg(test)]
mod tests;

use north::Console;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("Console", "oibus-rs")
        .description("Prints values and files on the engine's standard output")
        .connector(
            ConnectorType::<Console>::north("console", "Console")
                .description("Prints a summary (or every value) of what it receives")
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
