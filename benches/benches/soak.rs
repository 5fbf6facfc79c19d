//! The pipeline at full speed for a long time, sampled every 10 s:
//! `cargo bench -p oibus-benches --bench soak` (2 minutes), or
//! `OIBUS_SOAK_SECS=3600 cargo bench -p oibus-benches --bench soak` (the hour-long soak).
//!
//! The pipeline of the `pipeline` benchmark (a `probe-south` flooding 4 items into the fsync'd
//! cache, a `probe-north` counting) runs in an engine in a fresh process. Every 10 s the row gives
//! the values delivered, the process's resident memory, its threads, and the size of the cache
//! (its store, `cache.redb`, and the folder of files beside it). The summary compares the first and the last quarter of the run: a gateway that runs for
//! months must level off.

use oibus_benches::{InProcess, Scratch};
use oibus_engine::engine;
use std::{
    fs,
    io::Write as _,
    path::Path,
    time::{Duration, Instant},
};

const SAMPLE: Duration = Duration::from_secs(10);

/// The size of the files under `dir`, in bytes.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn values_sent(data: &Path) -> u64 {
    engine::read_status(data)
        .ok()
        .and_then(|s| {
            s.connectors.iter().find(|c| c.id == "dst").map(|c| {
                c.counters
                    .values_sent
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
        })
        .unwrap_or(0)
}

struct Sample {
    at: Duration,
    rss_mb: f64,
    threads: usize,
    store_mb: f64,
}

fn main() {
    if !oibus_benches::main_goes_on(|_| {}) {
        return;
    }
    let secs: u64 = std::env::var("OIBUS_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    oibus_tests::build();
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let engine = InProcess::start(
        &oibus_benches::pipeline_config(""),
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
    );
    println!(
        "probe-south (4 items, batches of 1000) → fsync'd cache → probe-north for {secs} s, \
         sampled every {} s",
        SAMPLE.as_secs()
    );
    println!("|   time | values delivered | values/s (10 s) | RSS (MB) | threads | cache (MB) |");
    println!("|-------:|-----------------:|----------------:|---------:|--------:|-----------:|");
    let began = Instant::now();
    let mut samples = Vec::new();
    let mut last = (Duration::ZERO, 0);
    while began.elapsed() < Duration::from_secs(secs) {
        let next = SAMPLE * (samples.len() as u32 + 1);
        std::thread::sleep(next.saturating_sub(began.elapsed()));
        let at = began.elapsed();
        let sent = values_sent(&scratch.data);
        let s = Sample {
            at,
            rss_mb: oibus_tests::memory_mb("VmRSS"),
            threads: fs::read_dir("/proc/self/task").map_or(0, |d| d.count()),
            store_mb: (fs::metadata(scratch.data.join("cache.redb")).map_or(0, |m| m.len())
                + folder_bytes(&scratch.data.join("cache"))) as f64
                / 1e6,
        };
        let rate = (sent - last.1) as f64 / (at - last.0).as_secs_f64();
        println!(
            "| {:>5.0}s | {sent:>16} | {rate:>15.0} | {:>8.1} | {:>7} | {:>10.1} |",
            at.as_secs_f64(),
            s.rss_mb,
            s.threads,
            s.store_mb
        );
        let _ = std::io::stdout().flush();
        last = (at, sent);
        samples.push(s);
    }
    engine.stop();
    let quarter = (samples.len() / 4).max(1);
    let (first, tail) = (&samples[..quarter], &samples[samples.len() - quarter..]);
    let peak = |s: &[Sample], f: fn(&Sample) -> f64| s.iter().map(f).fold(0.0, f64::max);
    println!(
        "first quarter (to {:.0} s): RSS ≤ {:.1} MB, threads ≤ {}, cache ≤ {:.1} MB; \
         last quarter: RSS ≤ {:.1} MB, threads ≤ {}, cache ≤ {:.1} MB; {} values in all",
        first[first.len() - 1].at.as_secs_f64(),
        peak(first, |s| s.rss_mb),
        first.iter().map(|s| s.threads).max().unwrap_or(0),
        peak(first, |s| s.store_mb),
        peak(tail, |s| s.rss_mb),
        tail.iter().map(|s| s.threads).max().unwrap_or(0),
        peak(tail, |s| s.store_mb),
        last.1
    );
}
