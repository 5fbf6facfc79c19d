//! `test-probe`: connectors for the engine's own tests and benchmarks. Their behaviour is set by
//! their settings: journal every call to a file, fail, panic or hang on connect, fail data on
//! demand (while a fault file exists), record what a North receives, emit numbered values as fast
//! as possible from a South.

mod behaviour;
mod north;
mod south;

pub use behaviour::Behaviour;
pub use north::ProbeNorth;
pub use south::{ProbeSouth, SouthSettings};

use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    behaviour::set_declared_version(declared_version());
    Plugin::new("Test probe", "oibus-rs")
        .description("Connectors that journal their calls and fail, panic or hang on demand")
        .connector(
            ConnectorType::<ProbeNorth>::north("probe-north", "Probe North")
                .description("Records or counts what it receives; fails while a fault file exists")
                .handles_values()
                .handles_file()
                .handles_file_batches(),
        )
        .connector(
            ConnectorType::<ProbeSouth>::south("probe-south", "Probe South")
                .description("Emits numbered values and journals every acknowledgement")
                .queries_last_point()
                .queries_history()
                .queries_subscription(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

/// The plugin version in this library's declaration, read from memory (tests rewrite it).
fn declared_version() -> String {
    // SAFETY: a plain-old-data static of this library, always initialised.
    unsafe { std::ptr::read_volatile(&raw const oibus_plugin_declaration) }.plugin_version()
}
