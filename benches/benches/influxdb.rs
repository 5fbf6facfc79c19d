//! `influxdb-north` against Debian's InfluxDB 1.x (same machine):
//! `cargo bench -p oibus-benches --bench influxdb`.
//!
//! The connector, loaded from its `.so` in this process: 100 batches of 1,000 values (10 points,
//! measurement and tags from a point pattern), each one `/write` request answered 204 once
//! InfluxDB has it in its write-ahead log. CPU is user + system time of each side; peak RSS is
//! this process's (the plugin runs in it).

use oibus_benches::stopwatch::Stopwatch;
use oibus_plugin_api::Timestamp;
use oibus_tests::{AcceptAll, memory_mb, servers::Influxd, standalone_connector};
use serde_json::json;
use std::sync::Arc;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = Influxd::start(None);
    server.query("CREATE DATABASE bench", None, None);
    let spid = server.pid().expect("the server runs").to_string();
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_influxdb"]);
    let size = std::fs::metadata(oibus_tests::library("oibus_influxdb"))
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("plugin file liboibus_influxdb.so: {size:.1} MB");
    println!();
    println!(
        "| case | calls | values | seconds | values/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    rt.block_on(async {
        let n = standalone_connector(
            &registry,
            ("bench", "influxdb-north"),
            &json!({"url": server.url(), "api": {"version": "v1", "database": "bench"},
                "point_pattern": "^(?<line>[^.]+)\\.(?<signal>.+)$", "measurement": "{signal}",
                "tags": {"line": "{line}"}}),
            cache.path().join("state"),
            Arc::new(AcceptAll),
        );
        n.start().await.unwrap();
        let calls = 100u64;
        let mut batches = Vec::new();
        for c in 0..calls as i64 {
            batches.push(
                (0..1000)
                    .map(|i: i64| {
                        oibus_plugin_api::OibusValue::new(
                            format!("line{}.speed", i % 10),
                            Timestamp::from_nanos(1_796_486_400_000_000_000 + c * 1_000_000 + i),
                            i as f64 * 0.5,
                        )
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let watch = Stopwatch::start(&spid);
        for b in batches {
            n.handle_values(b).await.unwrap();
        }
        let lap = watch.lap();
        println!(
            "| batches of 1,000 values, v1 /write | {calls} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} |",
            calls * 1000,
            lap.secs,
            (calls * 1000) as f64 / lap.secs,
            lap.gateway_cpu,
            lap.server_cpu,
            memory_mb("VmHWM")
        );
        n.stop().await.unwrap();
    });
}
