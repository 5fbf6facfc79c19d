//! `south-s7` throughput against python-snap7's S7 server on the same machine:
//! `cargo bench -p oibus-benches --bench s7`.
//!
//! The connector, loaded from its `.so` in this process, scans back to back for 5 s (the host
//! accepts the values without caching them): REALs of one data block, neighbouring (one range)
//! or 40 bytes apart (one range each, 20 ranges per request), and a 4,000-byte block read in
//! PDU-sized pieces. CPU is user + system time of each side during the run; the server is
//! single-threaded Python, so where its CPU is near the run's time, it is the bottleneck.

use oibus_benches::stopwatch::Stopwatch;
use oibus_plugin_api::Item;
use oibus_tests::{AcceptAll, memory_mb, servers::ScriptServer, standalone_connector};
use serde_json::json;
use std::{sync::Arc, time::Duration};

const RUN: Duration = Duration::from_secs(5);

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = ScriptServer::start("s7_server.py", &[]);
    let spid = server.pid().expect("the server runs").to_string();
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_south_s7"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!(
        "| layout (PDU 480) | requests/scan | scans/s | values/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // Label, values, bytes between two values, requests a scan takes (planned: see plan.rs).
    for (label, count, step, requests) in [
        ("100 neighbouring REALs", 100u32, 4u32, 1u32),
        ("100 REALs 40 bytes apart", 100, 40, 5),
        ("1,000 neighbouring REALs (4,000 bytes)", 1000, 4, 9),
    ] {
        let items: Vec<Item> = (0..count)
            .map(|i| {
                serde_json::from_value(json!({"name": format!("r{i}"), "scanMode": "bench",
                    "settings": {"address": format!("DB2.{}", i * step), "data_type": "real"}}))
                .unwrap()
            })
            .collect();
        rt.block_on(async {
            let c = standalone_connector(
                &registry,
                ("bench", "s7"),
                &json!({"host": "127.0.0.1", "port": server.port, "max_gap": 16}),
                cache.path().join("state"),
                Arc::new(AcceptAll),
            );
            c.start().await.unwrap();
            c.last_point_query(items.clone()).await.unwrap();
            let watch = Stopwatch::start(&spid);
            let mut scans = 0u64;
            while watch.elapsed() < RUN.as_secs_f64() {
                c.last_point_query(items.clone()).await.unwrap();
                scans += 1;
            }
            let lap = watch.lap();
            println!(
                "| {label} | {requests} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} |",
                scans as f64 / lap.secs,
                (scans * u64::from(count)) as f64 / lap.secs,
                lap.gateway_cpu,
                lap.server_cpu,
                memory_mb("VmHWM")
            );
            c.stop().await.unwrap();
        });
    }
}
