//! `south-modbus` throughput against pymodbus's TCP server:
//! `cargo bench -p oibus-benches --bench modbus`.
//!
//! The connector (loaded from its `.so`) scans back to back for 5 s: 60 neighbouring holding
//! registers (one grouped request per scan), then 30 registers one apart with `max_gap = 0` (one
//! request per item).

use oibus_plugin_api::Item;
use oibus_tests::{AcceptAll, servers::ScriptServer, standalone_connector};
use serde_json::json;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const ITEMS: u16 = 60;
const RUN: Duration = Duration::from_secs(5);

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = ScriptServer::start("modbus_server.py", &[]);
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_south_modbus"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("| layout                         | scans/s | requests/s | values/s |");
    println!("|--------------------------------|--------:|-----------:|---------:|");
    for (label, max_gap, step) in [
        ("60 neighbours, grouped", 0u16, 1u16),
        ("30 every other register", 0, 2),
    ] {
        let count = if step == 1 { ITEMS } else { ITEMS / 2 };
        let items: Vec<Item> = (0..count)
            .map(|i| {
                serde_json::from_value(json!({"name": format!("r{i}"), "scanMode": "bench",
                    "settings": {"register": "holding-register", "address": i * step}}))
                .unwrap()
            })
            .collect();
        rt.block_on(async {
            let c = standalone_connector(
                &registry,
                ("bench", "modbus"),
                &json!({"host": "127.0.0.1", "port": server.port, "max_gap": max_gap}),
                cache.path().join("state"),
                Arc::new(AcceptAll),
            );
            c.start().await.unwrap();
            let began = Instant::now();
            let mut scans = 0u64;
            while began.elapsed() < RUN {
                c.last_point_query(items.clone()).await.unwrap();
                scans += 1;
            }
            let secs = began.elapsed().as_secs_f64();
            let requests = if step == 1 { 1 } else { u64::from(count) };
            println!(
                "| {label:<30} | {:>7.0} | {:>10.0} | {:>8.0} |",
                scans as f64 / secs,
                (scans * requests) as f64 / secs,
                (scans * u64::from(count)) as f64 / secs
            );
            c.stop().await.unwrap();
        });
    }
}
