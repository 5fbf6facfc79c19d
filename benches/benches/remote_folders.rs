//! Files collected from servers, beside the same files from a local folder:
//! `cargo bench -p oibus-benches --bench remote_folders`.
//!
//! Each connector, loaded from its `.so` in this process, empties a folder of fresh files with
//! one item (`.*`, no minimum age, delete after reading), one scan after the other: the local
//! `folder-scanner`, `sftp` against Debian's OpenSSH server and `ftp` against vsftpd, both on
//! 127.0.0.1 and started by the benchmark. The host accepts each file without copying it, so the
//! figures are the connector's: list, download into its state folder, check the file unchanged,
//! delete it on the server. Two cases: many small files (the per-file round trips) and a few
//! large ones (the transfer).
//!
//! Then `sftp-north` writes the other way: files of each size, and batches of 1,000 values as
//! JSON files, each under a temporary name, flushed on the server and renamed.
//!
//! CPU is user + system time of each side during the run, the server's with every process it
//! forked for the session.

use oibus_benches::{cpu_seconds, tree_cpu_seconds};
use oibus_plugin_api::Item;
use oibus_tests::{
    AcceptAll, memory_mb,
    servers::{Sshd, Vsftpd, open_to_test_user},
    standalone_connector,
};
use serde_json::json;
use std::{fs, sync::Arc, time::Instant};

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let sshd = Sshd::start();
    let ftp = Vsftpd::start();
    let user = sshd.user();
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&[
        "oibus_south_folder_scanner",
        "oibus_sftp",
        "oibus_south_ftp",
    ]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "| connector | files | MB | seconds | files/s | MB/s | gateway CPU (s) | server CPU (s) | peak RSS (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let cases = [("1 KiB", 2_000, 1024), ("8 MiB", 25, 8 << 20)];
    for (case, files, size) in cases {
        for kind in ["folder-scanner", "sftp", "ftp"] {
            let dir = tempfile::tempdir().expect("temp dir");
            let folder = dir.path().join("in");
            fs::create_dir(&folder).expect("in");
            open_to_test_user(&folder);
            let content = vec![b'x'; size];
            for i in 0..files {
                fs::write(folder.join(format!("f{i:05}.csv")), &content).expect("file");
            }
            let remote = folder.display().to_string();
            let (settings, server) = match kind {
                "folder-scanner" => (json!({"input_folder": remote}), None),
                "sftp" => (
                    json!({"host": "127.0.0.1", "port": sshd.port, "username": user.name,
                        "authentication": {"type": "password", "password": user.password},
                        "remote_folder": remote}),
                    sshd.pid(),
                ),
                _ => (
                    json!({"host": "127.0.0.1", "port": ftp.port, "username": user.name,
                        "password": user.password, "remote_folder": remote}),
                    ftp.pid(),
                ),
            };
            let item: Item = serde_json::from_value(json!({"name": "all", "scanMode": "bench",
                "settings": {"regex": ".*", "min_age_ms": 0}}))
            .expect("item");
            rt.block_on(async {
                let c = standalone_connector(
                    &registry,
                    ("bench", kind),
                    &settings,
                    cache.path().join(format!("state-{kind}-{case}")),
                    Arc::new(AcceptAll),
                );
                c.start().await.expect("connects");
                let (g0, s0) = (
                    cpu_seconds("/proc/self/stat"),
                    server.map_or(0.0, tree_cpu_seconds),
                );
                let began = Instant::now();
                while fs::read_dir(&folder).expect("in").next().is_some() {
                    c.file_query(vec![item.clone()]).await.expect("a scan");
                }
                let secs = began.elapsed().as_secs_f64();
                let (g, s) = (
                    cpu_seconds("/proc/self/stat") - g0,
                    server.map_or(0.0, |p| tree_cpu_seconds(p) - s0),
                );
                c.stop().await.expect("stops");
                let mb = (files * size) as f64 / 1e6;
                println!(
                    "| {kind}, {files} × {case} | {files} | {mb:.0} | {secs:.2} | {:.0} | {:.0} | {g:.2} | {} | {:.0} |",
                    files as f64 / secs,
                    mb / secs,
                    if server.is_some() { format!("{s:.2}") } else { "-".into() },
                    memory_mb("VmHWM")
                );
            });
        }
    }
    upload(&rt, &registry, cache.path(), &sshd);
}

/// `sftp-north` writing files of each size, then batches of values, into a folder of `sshd`.
fn upload(
    rt: &tokio::runtime::Runtime,
    registry: &oibus_engine::loader::PluginRegistry,
    cache: &std::path::Path,
    sshd: &Sshd,
) {
    let user = sshd.user();
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, local) = (dir.path().join("out"), dir.path().join("local"));
    fs::create_dir(&out).expect("out");
    fs::create_dir(&local).expect("local");
    open_to_test_user(&out);
    let settings = json!({"host": "127.0.0.1", "port": sshd.port, "username": user.name,
        "authentication": {"type": "password", "password": user.password},
        "remote_folder": out.display().to_string(), "unique_names": true});
    rt.block_on(async {
        let c = standalone_connector(
            registry,
            ("bench", "sftp-north"),
            &settings,
            cache.join("state-sftp-north"),
            Arc::new(AcceptAll),
        );
        c.start().await.expect("connects");
        let server = sshd.pid();
        let measure = |label: &str, n: usize, mb: f64, began: Instant, g0: f64, s0: f64| {
            let secs = began.elapsed().as_secs_f64();
            let g = cpu_seconds("/proc/self/stat") - g0;
            let s = server.map_or(0.0, |p| tree_cpu_seconds(p) - s0);
            println!(
                "| sftp-north, {label} | {n} | {mb:.0} | {secs:.2} | {:.0} | {:.0} | {g:.2} | {s:.2} | {:.0} |",
                n as f64 / secs,
                mb / secs,
                memory_mb("VmHWM")
            );
        };
        for (label, files, size) in [("2000 × 1 KiB", 2_000, 1024), ("25 × 8 MiB", 25, 8 << 20)] {
            let path = local.join(format!("f{size}.csv"));
            fs::write(&path, vec![b'x'; size]).expect("file");
            let (g0, s0) = (
                cpu_seconds("/proc/self/stat"),
                server.map_or(0.0, tree_cpu_seconds),
            );
            let began = Instant::now();
            for _ in 0..files {
                c.handle_file(&path).await.expect("a file written");
            }
            measure(label, files, (files * size) as f64 / 1e6, began, g0, s0);
        }
        let batch: Vec<oibus_plugin_api::OibusValue> = (0..1000)
            .map(|i| oibus_plugin_api::OibusValue::new(format!("p{}", i % 10), oibus_plugin_api::Timestamp::now(), f64::from(i)))
            .collect();
        let (g0, s0) = (
            cpu_seconds("/proc/self/stat"),
            server.map_or(0.0, tree_cpu_seconds),
        );
        let began = Instant::now();
        let batches = 200;
        for _ in 0..batches {
            c.handle_values(batch.clone()).await.expect("values written");
        }
        measure("200 batches of 1,000 values (files)", batches, 0.0, began, g0, s0);
        println!(
            "(values: {:.0} values/s)",
            200_000.0 / began.elapsed().as_secs_f64()
        );
        c.stop().await.expect("stops");
    });
}
