//! `s3-north` and `azure-blob-north` against moto's S3 server and Azurite (both on the same
//! machine, in memory): `cargo bench -p oibus-benches --bench object_storage`.
//!
//! The connector, loaded from its `.so` in this process: 50 batches of 1,000 values (one object
//! each, JSON then CSV), 200 files of 1 KiB, and 3 files of 24 MiB (multipart / block list, parts
//! of 8 MiB). CPU is user + system time of each side during the run; peak RSS is this process's
//! (the plugin runs in it), reset before each row: the large files show the memory does not grow
//! with the file.

use oibus_plugin_api::Timestamp;
use oibus_tests::{
    AcceptAll, memory_mb,
    servers::{AZURITE_KEY, Azurite, MotoS3},
    standalone_connector,
};
use serde_json::json;
use std::{sync::Arc, time::Instant};

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
    let cpu = |pid: &str| oibus_benches::cpu_seconds(&format!("/proc/{pid}/stat"));
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
            let report = |case: &str, calls: u64, amount: f64, secs: f64, g: f64, s: f64| {
                println!(
                    "| {label} | {case} | {calls} | {amount:.0} | {secs:.2} | {:.0} | {g:.2} | {s:.2} | {:.0} |",
                    amount / secs,
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
                let _ = std::fs::write("/proc/self/clear_refs", "5");
                let (g0, s0, began) = (cpu("self"), cpu(&spid), Instant::now());
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
                    began.elapsed().as_secs_f64(),
                    cpu("self") - g0,
                    cpu(&spid) - s0,
                );
                if format == "json" {
                    let _ = std::fs::write("/proc/self/clear_refs", "5");
                    let (g0, s0, began) = (cpu("self"), cpu(&spid), Instant::now());
                    for _ in 0..200 {
                        n.handle_file(&small).await.unwrap();
                    }
                    report(
                        "files of 1 KiB (files)",
                        200,
                        200.0,
                        began.elapsed().as_secs_f64(),
                        cpu("self") - g0,
                        cpu(&spid) - s0,
                    );
                    let _ = std::fs::write("/proc/self/clear_refs", "5");
                    let (g0, s0, began) = (cpu("self"), cpu(&spid), Instant::now());
                    for _ in 0..3 {
                        n.handle_file(&large).await.unwrap();
                    }
                    report(
                        "files of 24 MiB in parts of 8 MiB (MB)",
                        3,
                        3.0 * 24.0 * 1.048_576,
                        began.elapsed().as_secs_f64(),
                        cpu("self") - g0,
                        cpu(&spid) - s0,
                    );
                }
                n.stop().await.unwrap();
            }
        }
    });
}
