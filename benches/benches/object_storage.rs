//! `s3-north` and `azure-blob-north` against moto's S3 server and Azurite (both on the same
//! machine, in memory): `cargo bench -p oibus-benches --bench object_storage`.
//!
//! The connector, loaded from its `.so` in this process: 50 batches of 1,000 values (one object
//! each, JSON then CSV), 200 files of 1 KiB, and 3 files of 24 MiB (multipart / block list, parts
//! of 8 MiB). CPU is user + system time of each side during the run; peak RSS is this process's
//! (the plugin runs in it), reset before each row: the large files show the memory does not grow
//! with the file.

use oibus_benches::stopwatch::{Lap, Stopwatch, send_file};
use oibus_plugin_api::Timestamp;
use oibus_tests::{
    AcceptAll, memory_mb,
    servers::{AZURITE_KEY, Azurite, MotoS3},
    standalone_connector,
};
use serde_json::json;
use std::sync::Arc;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let s3 = MotoS3::start();
    s3.create_bucket("bench", None);
    let azure = Azurite::start();
    azure.create_container("bench");
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_object_storage"]);
    let size = std::fs::metadata(oibus_tests::library("oibus_object_storage"))
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("report.csv");
    std::fs::write(&small, vec![b'x'; 1024]).unwrap();
    let large = dir.path().join("archive.bin");
    std::fs::write(&large, vec![7u8; 24 * 1024 * 1024]).unwrap();
    let batch: Vec<oibus_plugin_api::OibusValue> = (0..1000)
        .map(|i| {
            oibus_plugin_api::OibusValue::new(
                format!("line{}.speed", i % 10),
                Timestamp::from_millis(1_796_486_400_000 + i64::from(i)),
                f64::from(i),
            )
        })
        .collect();
    println!("plugin file liboibus_object_storage.so: {size:.1} MB");
    println!();
    println!(
        "| store | case | calls | values or MB | seconds | per second | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let stores = [
        (
            "S3 (moto)",
            "s3-north",
            json!({"bucket": "bench", "endpoint": format!("http://127.0.0.1:{}", s3.port),
                "access_key_id": "k", "secret_access_key": "s"}),
            s3.pid(),
        ),
        (
            "Azure (Azurite)",
            "azure-blob-north",
            json!({"account": "devstoreaccount1", "container": "bench", "access_key": AZURITE_KEY,
                "endpoint": azure.endpoint()}),
            azure.pid(),
        ),
    ];
    rt.block_on(async {
        for (label, kind, settings, pid) in stores {
            let spid = pid.expect("the server runs").to_string();
            let report = |case: &str, calls: u64, amount: f64, lap: Lap| {
                println!(
                    "| {label} | {case} | {calls} | {amount:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} |",
                    lap.secs,
                    amount / lap.secs,
                    lap.gateway_cpu,
                    lap.server_cpu,
                    memory_mb("VmHWM")
                );
            };
            for format in ["json", "csv"] {
                let mut settings = settings.clone();
                settings["values_format"] = json!(format);
                let n = standalone_connector(
                    &registry,
                    ("bench", kind),
                    &settings,
                    cache.path().join(format!("state-{kind}-{format}")),
                    Arc::new(AcceptAll),
                );
                n.start().await.unwrap();
                let watch = Stopwatch::start(&spid);
                let calls = 50u64;
                for i in 0..calls {
                    let mut b = batch.clone();
                    b[0].timestamp = Timestamp::from_millis(1_796_486_400_000 + i as i64 * 1000);
                    n.handle_values(b).await.unwrap();
                }
                report(
                    &format!("batches of 1,000 values, {format} (values)"),
                    calls,
                    (calls * 1000) as f64,
                    watch.lap(),
                );
                if format == "json" {
                    let lap = send_file(&n, &small, 200, &spid).await;
                    report("files of 1 KiB (files)", 200, 200.0, lap);
                    let lap = send_file(&n, &large, 3, &spid).await;
                    report(
                        "files of 24 MiB in parts of 8 MiB (MB)",
                        3,
                        3.0 * 24.0 * 1.048_576,
                        lap,
                    );
                }
                n.stop().await.unwrap();
            }
        }
    });
}
