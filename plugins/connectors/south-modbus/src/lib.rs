//! `south-modbus`: reads coils, discrete inputs, holding and input registers of a Modbus TCP
//! device on each scan, in as few requests as the protocol allows.

mod decode;
mod plan;
mod settings;
mod south;
mod stream;

use oibus_plugin_api::prelude::*;
pub use settings::{DataType, ItemSettings, ModbusSettings, Order, RegisterType};
use south::Modbus;

fn plugin() -> Plugin {
    Plugin::new("Modbus TCP", "oibus-rs")
        .description("Reads Modbus TCP devices")
        .connector(
            ConnectorType::<Modbus>::south("modbus", "Modbus TCP")
                .description("Coils, discrete inputs, holding and input registers; grouped reads")
                .queries_last_point()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
