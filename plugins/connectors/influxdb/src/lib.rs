//! `influxdb`: values to InfluxDB as line protocol, one request per batch, through the v1
//! (`/write`) or v2 (`/api/v2/write`) API; measurement and tags from templates over the point id.

mod line;
mod north;
mod settings;

use north::InfluxNorth;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("InfluxDB writer", "oibus-rs")
        .description("Writes values to InfluxDB 1.x, 2.x and 3.x as line protocol")
        .connector(
            ConnectorType::<InfluxNorth>::north("influxdb-north", "InfluxDB")
                .description("Line protocol, measurement and tags from templates over the point id")
                .handles_values(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
