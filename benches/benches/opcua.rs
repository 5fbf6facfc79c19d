//! `south-opcua` against Python asyncua's server on the same machine:
//! `cargo bench -p oibus-benches --bench opcua`.
//!
//! - DA: 10,000 nodes read per scan (last-point queries), in Reads of the server's advertised
//!   limit (10,000) and of 1,000 nodes.
//! - DA with four Reads in flight (`max_parallel_reads`): asyncua answers them one after the
//!   other, so no gain is expected here; the figure says what pipelining costs.
//! - Subscription: 10,000 monitored items, each node written a new value every 100 ms by the
//!   server (or as fast as it can), for 20 s; the values the server produced and those received.
//! - HA: one day of 1 s history of one node (86,400 values), then of 100 nodes (8.64 M values,
//!   made by the server as they are read), in windows of an hour, pages of 1,000 values.
//!
//! The connector is loaded from its `.so` in this process; the host accepts values without
//! caching them, so the figures are the connector's and the server's. CPU is user + system time
//! of each side during the run; asyncua is single-threaded Python, and where its CPU is near
//! the run's time, the server is the bottleneck.

use oibus_benches::stopwatch::{Lap, Stopwatch};
use oibus_plugin_api::{Item, Timestamp};
use oibus_tests::{memory_mb, servers::OpcuaServer, standalone_connector};
use serde_json::json;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

/// A sink that counts the values it accepts.
#[derive(Default)]
struct Counting(AtomicUsize);

impl oibus_engine::connector::DataSink for Counting {
    fn add_values(
        &self,
        _: &str,
        values: Vec<oibus_plugin_api::OibusValue>,
    ) -> futures_util::future::BoxFuture<'static, Result<(), oibus_plugin_api::PluginError>> {
        self.0.fetch_add(values.len(), Ordering::Relaxed);
        Box::pin(async { Ok(()) })
    }
    fn add_file(
        &self,
        _: &str,
        _: std::path::PathBuf,
    ) -> futures_util::future::BoxFuture<'static, Result<(), oibus_plugin_api::PluginError>> {
        Box::pin(async { Ok(()) })
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_opcua"]);
    let rt = tokio::runtime::Runtime::new().unwrap();

    println!(
        "| case | values | seconds | values/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let report = |case: &str, values: usize, lap: Lap| {
        println!(
            "| {case} | {values} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} |",
            lap.secs,
            values as f64 / lap.secs,
            lap.gateway_cpu,
            lap.server_cpu,
            memory_mb("VmHWM")
        );
    };

    // DA: 10,000 nodes a scan.
    let server = OpcuaServer::start(&["--many", "10000"]);
    let spid = server.pid().unwrap().to_string();
    let items = items_of(
        10_000,
        "bench",
        |i| json!({"node_id": format!("ns=2;s=Plant.Many.{i}")}),
    );
    for (per_read, parallel) in [(0u32, 1u32), (1000, 1), (1000, 4)] {
        let counted = Arc::new(Counting::default());
        rt.block_on(async {
            let c = standalone_connector(
                &registry,
                ("bench", "opcua"),
                &json!({"url": server.url(), "max_nodes_per_read": per_read, "max_parallel_reads": parallel, "request_timeout_ms": 60000}),
                cache.path().join("state"),
                counted.clone(),
            );
            c.start().await.unwrap();
            // Warm-up, reconnecting as the engine would while the connector learns what size
            // of Read the server takes.
            let mut tries = 0;
            while let Err(e) = c.last_point_query(items.clone()).await {
                tries += 1;
                assert!(tries < 8, "{e}");
                let _ = c.disconnect().await;
                c.connect().await.unwrap();
            }
            let watch = Stopwatch::start(&spid);
            let scans = 5;
            let before = counted.0.load(Ordering::Relaxed);
            for _ in 0..scans {
                c.last_point_query(items.clone()).await.unwrap();
            }
            assert_eq!(counted.0.load(Ordering::Relaxed) - before, scans * items.len());
            let lap = watch.lap();
            let label = if per_read == 0 {
                "DA, 10,000 nodes/scan, Reads of the server's advertised limit (10,000)".to_string()
            } else if parallel == 1 {
                format!("DA, 10,000 nodes/scan, Reads of {per_read}")
            } else {
                format!("DA, 10,000 nodes/scan, Reads of {per_read}, {parallel} in flight")
            };
            report(
                &label,
                scans * items.len(),
                lap,
            );
            c.stop().await.unwrap();
        });
    }
    drop(server);

    // Subscription: 10,000 items, each changing every 100 ms.
    let changing = 10_000;
    let server = OpcuaServer::start(&["--changing", &changing.to_string()]);
    let spid = server.pid().unwrap().to_string();
    let items = items_of(
        changing,
        "subscription",
        |i| json!({"node_id": format!("ns=2;s=Plant.Changing.{i}"), "sampling_interval_ms": 100, "queue_size": 20}),
    );
    let counted = Arc::new(Counting::default());
    rt.block_on(async {
        let c = standalone_connector(
            &registry,
            ("bench", "opcua"),
            &json!({"url": server.url(), "publishing_interval_ms": 500, "request_timeout_ms": 60000}),
            cache.path().join("state-sub"),
            counted.clone(),
        );
        c.start().await.unwrap();
        c.subscribe(items.clone()).await.unwrap();
        // The initial value of every item first.
        let began = Instant::now();
        while counted.0.load(Ordering::Relaxed) < changing && began.elapsed().as_secs() < 120 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let rounds0 = read_node(&server.url(), "ns=2;s=Plant.ChangingCycles");
        let (watch, v0) = (Stopwatch::start(&spid), counted.0.load(Ordering::Relaxed));
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        let rounds = read_node(&server.url(), "ns=2;s=Plant.ChangingCycles") - rounds0;
        let lap = watch.lap();
        let received = counted.0.load(Ordering::Relaxed) - v0;
        report(
            &format!(
                "Subscription, 10,000 items; the server made {:.0} changes/s ({:.1} rounds/s of the 10 asked)",
                rounds * changing as f64 / lap.secs,
                rounds / lap.secs
            ),
            received,
            lap,
        );
        c.stop().await.unwrap();
    });
    drop(server);

    // HA: one day of one node.
    let day = 86_400i64;
    let server = OpcuaServer::start(&["--history", &day.to_string(), "--page", "1000"]);
    let spid = server.pid().unwrap().to_string();
    let item: Vec<Item> = vec![
        serde_json::from_value(json!({"name": "h", "scanMode": "bench",
            "settings": {"node_id": "ns=2;s=Plant.History"}}))
        .unwrap(),
    ];
    let counted = Arc::new(Counting::default());
    rt.block_on(async {
        let c = standalone_connector(
            &registry,
            ("bench", "opcua"),
            &json!({"url": server.url(), "history_values_per_read": 1000, "request_timeout_ms": 60000}),
            cache.path().join("state-ha"),
            counted.clone(),
        );
        c.start().await.unwrap();
        let now = Timestamp::now().as_nanos();
        let hour = 3_600_000_000_000i64;
        let watch = Stopwatch::start(&spid);
        let mut start = now - (day + 60) * 1_000_000_000;
        let mut windows = 0;
        while start < now {
            c.history_query(item.clone(), Timestamp::from_nanos(start), Timestamp::from_nanos(start + hour))
                .await
                .unwrap();
            start += hour;
            windows += 1;
        }
        let lap = watch.lap();
        let values = counted.0.load(Ordering::Relaxed);
        assert!(values >= day as usize, "{values}");
        report(
            &format!("HA, one day of 1 s values, {windows} windows of an hour"),
            values,
            lap,
        );
        c.stop().await.unwrap();
    });
    drop(server);

    // HA: one day of 100 nodes.
    let nodes = 100;
    let server = OpcuaServer::start(&["--synthetic-history", &nodes.to_string(), "--page", "1000"]);
    let spid = server.pid().unwrap().to_string();
    let items = items_of(
        nodes,
        "bench",
        |i| json!({"node_id": format!("ns=2;s=Plant.Synthetic.{i}")}),
    );
    let counted = Arc::new(Counting::default());
    rt.block_on(async {
        let c = standalone_connector(
            &registry,
            ("bench", "opcua"),
            &json!({"url": server.url(), "history_values_per_read": 1000, "request_timeout_ms": 60000}),
            cache.path().join("state-ha100"),
            counted.clone(),
        );
        c.start().await.unwrap();
        let hour = 3_600_000_000_000i64;
        let end = Timestamp::now().as_nanos() / hour * hour;
        let watch = Stopwatch::start(&spid);
        let mut start = end - day * 1_000_000_000;
        let mut windows = 0;
        while start < end {
            c.history_query(items.clone(), Timestamp::from_nanos(start), Timestamp::from_nanos(start + hour))
                .await
                .unwrap();
            start += hour;
            windows += 1;
        }
        let lap = watch.lap();
        let values = counted.0.load(Ordering::Relaxed);
        assert!(values >= nodes * day as usize, "{values}");
        report(
            &format!("HA, one day of 1 s values of {nodes} nodes, {windows} windows of an hour"),
            values,
            lap,
        );
        c.stop().await.unwrap();
    });
}

/// Items `i0`… of `scan_mode`, with the settings of each.
fn items_of(n: usize, scan_mode: &str, settings: impl Fn(usize) -> serde_json::Value) -> Vec<Item> {
    (0..n)
        .map(|i| {
            serde_json::from_value(
                json!({"name": format!("i{i}"), "scanMode": scan_mode, "settings": settings(i)}),
            )
            .unwrap()
        })
        .collect()
}

/// The value of a numeric node, read by asyncua's own client.
fn read_node(url: &str, node: &str) -> f64 {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import asyncio\nfrom asyncua import Client\nasync def m():\n    async with Client('{url}') as c:\n        print(await c.get_node('{node}').read_value())\nasyncio.run(m())"
        ))
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{node}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}
