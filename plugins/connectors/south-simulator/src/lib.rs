//! `south-simulator`: deterministic signals for demos, tests and benchmarks.
//!
//! Each item produces a signal (`sine`, `ramp`, `random`) that is a pure function of the item's
//! settings, the connector's seed, the item name and the instant, so that a history query over a
//! time range returns exactly the same values every time.

mod settings;
mod signal;
mod south;

use oibus_plugin_api::prelude::*;
use south::Simulator;

fn plugin() -> Plugin {
    Plugin::new("Signal simulator", "oibus-rs")
        .description("Deterministic sine, ramp and random signals")
        .connector(
            ConnectorType::<Simulator>::south("simulator", "Signal simulator")
                .description("Deterministic signals; history queries are exactly reproducible")
                .queries_last_point()
                .queries_history()
                .queries_subscription()
                .tests_item(),
        )
}

#[cfg(test)]
mod tests;

oibus_plugin_api::export_plugin!(plugin);
