//! The settings of a `mqtt` South and of its items, with their defaults.

use oibus_mqtt_common::Broker;
use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SouthMqttSettings {
    /// The broker.
    pub broker: Broker,
    /// QoS of the subscriptions: 0 (at most once) or 1 (at least once, persistent session).
    #[serde(default = "one")]
    #[schemars(range(max = 1))]
    pub qos: u8,
    /// Values are handed to the engine as soon as no other message is waiting, and at most
    /// this many at a time…
    #[serde(default = "default_flush_size")]
    #[schemars(range(min = 1))]
    pub flush_size: usize,
    /// …or when the oldest has waited this long, in milliseconds (while messages keep coming).
    #[serde(default = "default_flush_timeout")]
    #[schemars(range(min = 1))]
    pub flush_timeout_ms: u64,
    /// Retained messages (the broker's stored last message of a topic, sent again at every
    /// subscription): `skip` them (counted as dropped), or `keep` them like any other message
    /// (their timestamp is then the time of arrival unless the item reads it from the payload).
    #[serde(default)]
    pub retained: Retained,
}

/// What to do with retained messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Retained {
    /// Skip them: they repeat a value already read, with a new arrival time at each reconnection.
    #[default]
    Skip,
    /// Turn them into values like any other message.
    Keep,
}

fn one() -> u8 {
    1
}

fn default_flush_size() -> usize {
    100
}

fn default_flush_timeout() -> u64 {
    500
}

/// Item settings: a topic filter and how to read its messages.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// Topic filter (`+` and `#` wildcards allowed).
    #[schemars(length(min = 1))]
    pub topic: String,
    /// How to read a message.
    #[serde(default)]
    pub payload: PayloadSettings,
    /// Point id of the values: a template with `{name}` (the item's name), `{topic}` (the
    /// message's topic) and `{1}`, `{2}`… (its levels, from 1). Default: the item's name.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub point_id: Option<String>,
}

/// How a message's payload holds the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum PayloadFormat {
    /// The payload is a number (as text): an integer stays an integer.
    #[default]
    Number,
    /// The payload is JSON; the value (and optionally the timestamp) are found by JSON pointers.
    Json,
}

/// Payload settings of an item.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct PayloadSettings {
    /// `number` or `json`.
    #[serde(default)]
    pub format: PayloadFormat,
    /// JSON: pointer to the value (`/value`, `/data/value`…; empty: the whole document).
    #[serde(default)]
    pub value_path: String,
    /// JSON: pointer to an RFC 3339 timestamp (or a number of milliseconds since the epoch);
    /// without it, the time of arrival.
    #[serde(default)]
    pub timestamp_path: Option<String>,
    /// JSON: pointer to the point id (a string or a number); without it, the item's `point_id`.
    #[serde(default)]
    pub point_id_path: Option<String>,
}
