//! The settings of the `south-simulator` connector, with their defaults.

use crate::signal::Signal;
use oibus_plugin_api::prelude::*;

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SimulatorSettings {
    /// Seed of the `random` signals.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Spacing of samples in history queries and subscriptions, in milliseconds.
    #[serde(default = "default_interval")]
    #[schemars(range(min = 1))]
    pub sample_interval_ms: u64,
    /// Values per `add_values` call.
    #[serde(default = "default_batch")]
    #[schemars(range(min = 1))]
    pub batch_size: usize,
}

pub(crate) fn default_seed() -> u64 {
    42
}

pub(crate) fn default_interval() -> u64 {
    1000
}

pub(crate) fn default_batch() -> usize {
    1000
}

/// Item settings: which signal, and its shape.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// The signal.
    pub signal: Signal,
    /// Point id of the values (default: the item name).
    #[serde(default)]
    pub point_id: Option<String>,
}
