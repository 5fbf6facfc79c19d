//! `kafka`: an idempotent Kafka producer for values (one record each, OIBus's JSON shape, keyed
//! by point id) and files (one record each, keyed by name). A batch is reported sent only when
//! every in-sync replica of every partition acknowledged it (`acks=all`); a batch sent again
//! after a lost acknowledgement is stored once, thanks to the producer id and sequence numbers.

mod cluster;
mod north;
mod partition;
mod producer;
mod sasl;
mod settings;
mod wire;

use north::KafkaNorth;
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("Kafka producer", "oibus-rs")
        .description("Sends values and files to Apache Kafka and compatible brokers")
        .connector(
            ConnectorType::<KafkaNorth>::north("kafka-north", "Apache Kafka")
                .description(
                    "One record per value keyed by point id, one per file; idempotent, acks=all",
                )
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
