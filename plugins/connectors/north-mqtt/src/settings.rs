//! The settings of the `north-mqtt` connector, with their defaults.

use oibus_mqtt_common::Broker;
use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct NorthMqttSettings {
    /// The broker.
    pub broker: Broker,
    /// Topic of each value; `{pointId}` is replaced by its point id (`+` and `#` in it become `_`).
    #[serde(default = "default_topic")]
    #[schemars(length(min = 1))]
    pub topic: String,
    /// 0 (at most once) or 1 (at least once: the batch completes when the broker acknowledged).
    #[serde(default = "one")]
    #[schemars(range(max = 1))]
    pub qos: u8,
    /// Ask the broker to retain the last value of each topic.
    #[serde(default)]
    pub retain: bool,
    /// How long a batch may take to be sent and acknowledged by the broker, in milliseconds.
    #[serde(default = "default_ack_timeout")]
    #[schemars(range(min = 1))]
    pub ack_timeout_ms: u64,
}

pub(crate) fn default_topic() -> String {
    "oibus/{pointId}".into()
}

pub(crate) fn one() -> u8 {
    1
}

pub(crate) fn default_ack_timeout() -> u64 {
    10_000
}
