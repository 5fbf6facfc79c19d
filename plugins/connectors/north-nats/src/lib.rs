//! `north-nats`: publishes values (one message each, OIBus's JSON shape) and files to a NATS
//! JetStream stream, and reports a batch sent only when the server acknowledged every message:
//! then they are stored in the stream. Many gateways can feed one JetStream cluster.

mod north;
mod settings;
#[cfg(test)]
mod tests;

use north::NatsNorth;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("NATS JetStream publisher", "oibus-rs")
        .description("Publishes values and files to a NATS JetStream stream")
        .connector(
            ConnectorType::<NatsNorth>::north("nats-north", "NATS JetStream")
                .description(
                    "One message per value, acknowledged by JetStream; files with their name",
                )
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
