//! `north-mqtt`: publishes each value to a topic made from its point id, and reports a batch sent
//! only when the broker acknowledged every message of it (QoS 1).

mod north;
mod settings;
#[cfg(test)]
mod tests;

use north::MqttNorth;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("MQTT publisher", "oibus-rs")
        .description("Publishes values to an MQTT broker")
        .connector(
            ConnectorType::<MqttNorth>::north("mqtt-north", "MQTT")
                .description("One message per value, topic from its point id, QoS 0 or 1, retain")
                .handles_values(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
