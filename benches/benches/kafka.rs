//! `kafka-north` throughput against tansu (a Kafka-compatible broker, memory storage, on the same
//! machine): `cargo bench -p oibus-benches --bench kafka`.
//!
//! The connector, loaded from its `.so` in this process (the host accepts what it is given):
//! 100 batches of 1,000 values (10 points, a topic of 3 partitions) with each compression, then
//! 500 files of 1 KiB. Each call returns once the broker acknowledged every record (`acks=all`,
//! idempotent producer). CPU is user + system time of each side during the run; peak RSS is this
//! process's (the plugin runs in it), reset before each row.

use oibus_benches::stopwatch::{Lap, Stopwatch, send_file};
use oibus_plugin_api::Timestamp;
use oibus_tests::{AcceptAll, memory_mb, servers::Tansu, standalone_connector};
use serde_json::json;
use std::sync::Arc;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let broker = Tansu::start();
    broker.create_topic("oibus.values", 3);
    broker.create_topic("oibus.files", 1);
    let bpid = broker.pid().expect("the broker runs").to_string();
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_kafka"]);
    let size = std::fs::metadata(oibus_tests::library("oibus_kafka"))
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("plugin file liboibus_kafka.so: {size:.1} MB");
    println!();
    println!(
        "| case | calls | records | seconds | records/s | gateway CPU (s) | broker CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let report = |case: &str, calls: u64, records: u64, lap: Lap| {
        println!(
            "| {case} | {calls} | {records} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} |",
            lap.secs,
            records as f64 / lap.secs,
            lap.gateway_cpu,
            lap.server_cpu,
            memory_mb("VmHWM")
        );
    };
    let batch: Vec<oibus_plugin_api::OibusValue> = (0..1000)
        .map(|i| {
            oibus_plugin_api::OibusValue::new(
                format!("line{}.speed", i % 10),
                Timestamp::now(),
                f64::from(i),
            )
        })
        .collect();
    rt.block_on(async {
        for compression in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let n = standalone_connector(
                &registry,
                ("bench", "kafka-north"),
                &json!({"bootstrap_servers": [broker.bootstrap()], "compression": compression}),
                cache.path().join(format!("state-{compression}")),
                Arc::new(AcceptAll),
            );
            n.start().await.unwrap();
            n.handle_values(batch.clone()).await.unwrap();
            let watch = Stopwatch::start(&bpid);
            let calls = 100u64;
            for _ in 0..calls {
                n.handle_values(batch.clone()).await.unwrap();
            }
            report(
                &format!("batches of 1,000 values, {compression}"),
                calls,
                calls * 1000,
                watch.lap(),
            );
            if compression == "none" {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("report.csv");
                std::fs::write(&file, vec![b'x'; 1024]).unwrap();
                let lap = send_file(&n, &file, 500, &bpid).await;
                report("files of 1 KiB (records = files)", 500, 500, lap);
            }
            n.stop().await.unwrap();
        }
    });
}
