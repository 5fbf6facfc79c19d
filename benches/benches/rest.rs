//! `rest` throughput against the tests' HTTP/JSON API (Python's standard library server,
//! on the same machine): `cargo bench -p oibus-benches --bench rest`.
//!
//! The connector, loaded from its `.so` in this process (the host accepts the values without
//! caching them):
//! - last point: one item whose answer holds three records, scanned back to back for 5 s;
//! - history: one hour of one value a second (3,600 values) read through 72 cursor pages of 50,
//!   five times;
//! - the North (`rest-north`) against `tests/servers/sink_server.py`: 100 batches of 1,000
//!   values POSTed as JSON (plain, then gzip), and 500 files of 1 KiB (raw).
//!
//! CPU is user + system time of each side during the run; the server is single-threaded Python
//! per request, so where its CPU is near the run's time, it is the bottleneck.

use oibus_benches::stopwatch::{Lap, Stopwatch, send_file};
use oibus_plugin_api::{Item, Timestamp};
use oibus_tests::{AcceptAll, memory_mb, servers::ScriptServer, standalone_connector};
use serde_json::json;
use std::sync::Arc;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = ScriptServer::start("rest_server.py", &[]);
    let spid = server.pid().expect("the server runs").to_string();
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_rest"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let item = |settings: serde_json::Value| -> Item {
        serde_json::from_value(json!({"name": "bench", "scanMode": "bench", "settings": settings}))
            .unwrap()
    };
    println!(
        "| case | requests | values | seconds | values/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    rt.block_on(async {
        let c = standalone_connector(
            &registry,
            ("bench", "rest"),
            &json!({"base_url": format!("http://127.0.0.1:{}", server.port)}),
            cache.path().join("state"),
            Arc::new(AcceptAll),
        );
        c.start().await.unwrap();
        let report = |case: &str, requests: u64, values: u64, lap: Lap| {
            println!(
                "| {case} | {requests} | {values} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} |",
                lap.secs,
                values as f64 / lap.secs,
                lap.gateway_cpu,
                lap.server_cpu,
                memory_mb("VmHWM")
            );
        };

        let last = vec![item(
            json!({"path": "/values", "records": "$.data[*]", "value": "$.v",
            "timestamp": "$.t", "quality": "$.q", "point_id": "$.tag"}),
        )];
        c.last_point_query(last.clone()).await.unwrap();
        let watch = Stopwatch::start(&spid);
        let mut scans = 0u64;
        while watch.elapsed() < 5.0 {
            c.last_point_query(last.clone()).await.unwrap();
            scans += 1;
        }
        report(
            "last point, 3 records an answer",
            scans,
            scans * 3,
            watch.lap(),
        );

        let history = vec![item(json!({"path": "/history",
            "query": {"from": "@StartTime", "to": "@EndTime"}, "records": "$.items[*]",
            "value": "$.value", "timestamp": "$.ts",
            "pagination": {"type": "cursor", "next": "$.next_cursor", "parameter": "cursor"}}))];
        let end = Timestamp::parse("2026-12-05T11:00:00Z").unwrap();
        let start = Timestamp::parse("2026-12-05T10:00:00Z").unwrap();
        let watch = Stopwatch::start(&spid);
        let runs = 5u64;
        for _ in 0..runs {
            let newest = c.history_query(history.clone(), start, end).await.unwrap();
            assert_eq!(newest, Some(end));
        }
        report(
            "history, 1 h in 72 cursor pages",
            runs * 72,
            runs * 3600,
            watch.lap(),
        );
        c.stop().await.unwrap();

        let sink_dir = tempfile::tempdir().unwrap();
        let record = sink_dir.path().join("record");
        let files = sink_dir.path().join("files");
        let sink = ScriptServer::start(
            "sink_server.py",
            &[
                "--record",
                &record.display().to_string(),
                "--files",
                &files.display().to_string(),
            ],
        );
        let kpid = sink.pid().expect("the sink runs").to_string();
        let batch: Vec<oibus_plugin_api::OibusValue> = (0..1000)
            .map(|i| {
                oibus_plugin_api::OibusValue::new(
                    format!("line{}.speed", i % 10),
                    Timestamp::now(),
                    f64::from(i),
                )
            })
            .collect();
        for gzip in [false, true] {
            let n = standalone_connector(
                &registry,
                ("bench-north", "rest-north"),
                &json!({"base_url": format!("http://127.0.0.1:{}", sink.port), "gzip": gzip}),
                cache.path().join("state-north"),
                Arc::new(AcceptAll),
            );
            n.start().await.unwrap();
            let watch = Stopwatch::start(&kpid);
            let batches = 100u64;
            for _ in 0..batches {
                n.handle_values(batch.clone()).await.unwrap();
            }
            report(
                if gzip {
                    "north: batches of 1,000 values, gzip"
                } else {
                    "north: batches of 1,000 values"
                },
                batches,
                batches * 1000,
                watch.lap(),
            );
            if !gzip {
                let file = sink_dir.path().join("report.csv");
                std::fs::write(&file, vec![b'x'; 1024]).unwrap();
                let lap = send_file(&n, &file, 500, &kpid).await;
                report("north: files of 1 KiB, raw (values = files)", 500, 500, lap);
            }
            n.stop().await.unwrap();
        }
    });
}
