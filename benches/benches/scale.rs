//! Many connectors in one engine: `cargo bench -p oibus-benches --bench scale`.
//!
//! Each case runs in a fresh process, an engine with probe connectors from the probe plugin:
//!
//! * **500 → 500**: 500 `probe-south`s, each emitting 10 values every 100 ms, each into its own
//!   `probe-north` (`subscriptions = ["s<n>"]`): 1,000 connectors, 50,000 values/s in all;
//! * **1 → 10,000**: one `probe-south` emitting 100 values every 100 ms into 10,000
//!   `probe-north`s that all receive every South: each value is queued 10,000 times.
//!
//! Start-up runs from the engine's start to its first status document (written once every
//! connector was started). Then, after 20 s: `add_values` latency (from the engine's histogram,
//! start-up included), resident memory, threads, CPU, and the size of the status document.

use oibus_benches::{InProcess, Scratch};
use std::{
    fs,
    time::{Duration, Instant},
};

const RUN: Duration = Duration::from_secs(20);

fn config(souths: usize, norths: usize, per_south_routes: bool, batch: usize) -> String {
    let mut text = String::from("[engine]\nlog_level = \"warn\"\n");
    for s in 0..souths {
        text.push_str(&format!(
            "[[south]]\nid = \"s{s}\"\ntype = \"probe-south\"\nsettings = {{ batch_size = {batch}, interval_ms = 100 }}\nitems = [{{ name = \"a\", scan_mode = \"subscription\" }}]\n"
        ));
    }
    for n in 0..norths {
        let subscriptions = if per_south_routes {
            format!("subscriptions = [\"s{n}\"]\n")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "[[north]]\nid = \"n{n}\"\ntype = \"probe-north\"\n{subscriptions}caching = {{ send_interval = \"1s\" }}\n"
        ));
    }
    text
}

/// Bytes this process has had written to disk (`write_bytes` of `/proc/self/io`).
fn written_bytes() -> u64 {
    fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("write_bytes: ").map(str::to_string))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Child process: one case; prints `start-up-s p50-ms p99-ms RSS-MB threads cpu-% status-MB
/// disk-writes-MB/s`.
fn child(case: &str) {
    let text = match case {
        "500-500" => config(500, 500, true, 10),
        "1-10000" => config(1, 10_000, false, 100),
        other => panic!("no case {other}"),
    };
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let began = Instant::now();
    let engine = InProcess::start(&text, &scratch.data, scratch.plugins.clone(), Vec::new());
    while oibus_engine::engine::read_status(&scratch.data).is_err() {
        assert!(began.elapsed() < Duration::from_secs(600), "no status");
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = began.elapsed();
    let cpu0 = oibus_benches::cpu_seconds("/proc/self/stat");
    let written0 = written_bytes();
    std::thread::sleep(RUN);
    let cpu = oibus_benches::cpu_seconds("/proc/self/stat") - cpu0;
    let written = (written_bytes() - written0) as f64 / 1e6 / RUN.as_secs_f64();
    let snap = oibus_engine::engine::read_status(&scratch.data).expect("status");
    let status_mb =
        fs::metadata(scratch.data.join("status.json")).map_or(0, |m| m.len()) as f64 / 1e6;
    let threads = fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
    let rss = oibus_tests::memory_mb("VmRSS");
    engine.stop();
    let [p50, p99, _] = snap.add_values_latency_us;
    println!(
        "{:.2} {:.2} {:.2} {rss:.1} {threads} {:.0} {status_mb:.2} {written:.1}",
        started.as_secs_f64(),
        p50 as f64 / 1e3,
        p99 as f64 / 1e3,
        cpu / RUN.as_secs_f64() * 100.0
    );
}

fn main() {
    if !oibus_benches::main_goes_on(|args| child(&args[0])) {
        return;
    }
    oibus_tests::build();
    println!(
        "probe connectors, each case a fresh engine process measured {} s after its start",
        RUN.as_secs()
    );
    println!(
        "| case | connectors | start-up | add_values p50 | p99 | RSS | threads | CPU (% of a core) | status document | disk writes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (case, label, connectors) in [
        ("500-500", "500 Souths → 500 Norths (one each)", 1000),
        ("1-10000", "1 South → 10,000 Norths (all of them)", 10_001),
    ] {
        let out = oibus_benches::run_self_child(&[case]);
        let f: Vec<&str> = out.split_whitespace().collect();
        println!(
            "| {label} | {connectors} | {} s | {} ms | {} ms | {} MB | {} | {} | {} MB | {} MB/s |",
            f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
        );
    }
}
