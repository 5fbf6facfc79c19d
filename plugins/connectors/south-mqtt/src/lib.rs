//! `south-mqtt`: subscribes to topics (with wildcards) and turns messages into values. The
//! session is persistent and each QoS 1 message is acknowledged to the broker only after the
//! engine durably accepted its value, or after it was deliberately dropped with a counted reason
//! (not a number, over `max_packet_size`, retained, no item for its topic, a topic that is not
//! valid UTF-8): a message in flight when the gateway stops or the connection drops is delivered
//! again by the broker. The session goes through a relay of its own
//! ([`oibus_mqtt_common::relay`]), which keeps the connection when the broker sends a topic the
//! client library would close it for.

mod payload;
mod settings;
mod south;

use oibus_plugin_api::prelude::*;
pub use settings::{PayloadFormat, PayloadSettings};
use south::MqttSouth;

fn plugin() -> Plugin {
    Plugin::new("MQTT subscriber", "oibus-rs")
        .description("Subscribes to MQTT topics")
        .connector(
            ConnectorType::<MqttSouth>::south("mqtt-south", "MQTT")
                .description("Topics with wildcards, number or JSON payloads, persistent session")
                .queries_subscription()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
