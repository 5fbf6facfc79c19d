//! `south-s7`: reads data blocks, merkers, inputs, outputs, timers and counters of Siemens S7 PLCs
//! (S7-300, S7-400, S7-1200, S7-1500) over ISO-on-TCP (RFC 1006, port 102), on each scan, in as
//! few requests as the negotiated PDU size allows.
//!
//! The layers, from the wire up: [`protocol`] builds and parses the frames (TPKT, COTP, S7comm)
//! as pure functions; `client` owns one TCP connection and its request/answer exchange;
//! [`address`] reads item addresses in Siemens notation; [`plan`] groups items into ranges and
//! packs ranges into requests; [`decode`] turns bytes into values; `south` is the connector.

pub mod address;
mod client;
pub mod decode;
pub mod plan;
pub mod protocol;
mod settings;
mod south;

use oibus_plugin_api::prelude::*;
pub use settings::{ConnectionType, DataType, ItemSettings, S7Settings};
use south::S7;

fn plugin() -> Plugin {
    Plugin::new("Siemens S7", "oibus-rs")
        .description("Reads Siemens S7 PLCs over ISO-on-TCP")
        .connector(
            ConnectorType::<S7>::south("s7", "Siemens S7")
                .description(
                    "DB, merkers, inputs, outputs, timers and counters of S7-300/400/1200/1500; \
                     reads grouped within the negotiated PDU size",
                )
                .queries_last_point()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
