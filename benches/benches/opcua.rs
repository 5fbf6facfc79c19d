//! `south-opcua` against Python asyncua's server on the same machine:
//! `cargo bench -p oibus-benches --bench opcua`.
//!
//! - DA: 10,000 nodes read per scan (last-point queries), in Reads of the server's advertised
//!   limit (10,000) and of 1,000 nodes.
//! - HA: one day of 1 s history of one node (86,400 values), in windows of an hour, pages of
//!   1,000 values (asyncua closes the connection on a page of 10,000: its answer is over its own
//!   message size).
//!
//! The connector is loaded from its `.so` in this process; the host accepts values without
//! caching them, so the figures are the connector's and the server's. CPU is user + system time
//! of each side during the run; asyncua is single-threaded Python, and where its CPU is near
//! the run's time, the server is the bottleneck.

use oibus_core::plugin::PluginRegistry;
use oibus_plugin_api::{Item, Timestamp};
use oibus_tests::{memory_mb, plugin_folder, servers::OpcuaServer, standalone_connector};
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

impl oibus_core::connector::DataSink for Counting {
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

/// CPU seconds (user + system) of a process, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let plugins = plugin_folder(&["oibus_opcua"]);
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = PluginRegistry::discover(
        plugins.path(),
        &oibus_core::plugin::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    println!(
        "| case | values | seconds | values/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let report = |case: &str, values: usize, secs: f64, gateway: f64, server: f64| {
        println!(
            "| {case} | {values} | {secs:.2} | {:.0} | {gateway:.2} | {server:.2} | {:.0} |",
            values as f64 / secs,
            memory_mb("VmHWM")
        );
    };

    // DA: 10,000 nodes a scan.
    let server = OpcuaServer::start(&["--many", "10000"]);
    let spid = server.pid().unwrap().to_string();
    let items: Vec<Item> = (0..10_000)
        .map(|i| {
            serde_json::from_value(json!({"name": format!("m{i}"), "scanMode": "bench",
                "settings": {"node_id": format!("ns=2;s=Plant.Many.{i}")}}))
            .unwrap()
        })
        .collect();
    for per_read in [0u32, 1000] {
        let counted = Arc::new(Counting::default());
        rt.block_on(async {
            let c = standalone_connector(
                &registry,
                ("bench", "opcua"),
                &json!({"url": server.url(), "max_nodes_per_read": per_read, "request_timeout_ms": 60000}),
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
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let (g0, s0, began) = (cpu_seconds("self"), cpu_seconds(&spid), Instant::now());
            let scans = 5;
            let before = counted.0.load(Ordering::Relaxed);
            for _ in 0..scans {
                c.last_point_query(items.clone()).await.unwrap();
            }
            assert_eq!(counted.0.load(Ordering::Relaxed) - before, scans * items.len());
            let secs = began.elapsed().as_secs_f64();
            let label = if per_read == 0 {
                "DA, 10,000 nodes/scan, Reads of the server's advertised limit (10,000), cut to what its message size takes".to_string()
            } else {
                format!("DA, 10,000 nodes/scan, Reads of {per_read}")
            };
            report(
                &label,
                scans * items.len(),
                secs,
                cpu_seconds("self") - g0,
                cpu_seconds(&spid) - s0,
            );
            c.stop().await.unwrap();
        });
    }
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
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let now = Timestamp::now().as_nanos();
        let hour = 3_600_000_000_000i64;
        let (g0, s0, began) = (cpu_seconds("self"), cpu_seconds(&spid), Instant::now());
        let mut start = now - (day + 60) * 1_000_000_000;
        let mut windows = 0;
        while start < now {
            c.history_query(item.clone(), Timestamp::from_nanos(start), Timestamp::from_nanos(start + hour))
                .await
                .unwrap();
            start += hour;
            windows += 1;
        }
        let secs = began.elapsed().as_secs_f64();
        let values = counted.0.load(Ordering::Relaxed);
        assert!(values >= day as usize, "{values}");
        report(
            &format!("HA, one day of 1 s values, {windows} windows of an hour"),
            values,
            secs,
            cpu_seconds("self") - g0,
            cpu_seconds(&spid) - s0,
        );
        c.stop().await.unwrap();
    });
}
