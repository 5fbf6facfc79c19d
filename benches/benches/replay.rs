//! A replay of 10 million values to a new North: `cargo bench -p oibus-benches --bench replay`.
//!
//! First run: a `probe-south` emits 10,000,000 values (4 items, 250 batches of 10,000 each)
//! as fast as the engine accepts them into its log (retention 4 GB), sent by a `probe-north`
//! `dst`. Second run, in a fresh process, the South stopped: a new `probe-north` with
//! `start_from = "oldest"` sends the whole retained log. Both rates are measured from the status
//! documents (values sent between the first one showing progress and the one showing all).

use oibus_benches::{InProcess, Scratch};
use oibus_engine::engine;
use std::{
    path::Path,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

const TOTAL: u64 = 10_000_000;

fn config(producing: bool, newcomer: bool) -> String {
    let new = if newcomer {
        "[[north]]\nid = \"new\"\ntype = \"probe-north\"\ncaching = { group_count = 20000, max_send_count = 50000, send_interval = \"20ms\", max_size = \"4GiB\", start_from = \"oldest\" }\n"
    } else {
        ""
    };
    format!(
        r#"
[engine]
log_level = "warn"

[[south]]
id = "src"
type = "probe-south"
enabled = {producing}
settings = {{ batch_size = 10000, batches = 250, interval_ms = 0 }}
retention = {{ max_size = "4GB" }}
items = [
  {{ name = "a", scan_mode = "subscription" }},
  {{ name = "b", scan_mode = "subscription" }},
  {{ name = "c", scan_mode = "subscription" }},
  {{ name = "d", scan_mode = "subscription" }},
]

[[north]]
id = "dst"
type = "probe-north"
caching = {{ group_count = 20000, max_send_count = 50000, send_interval = "20ms", max_size = "4GiB" }}
{new}"#
    )
}

/// `(updated, values_sent)` of North `id` in the last status document.
fn sent(data: &Path, id: &str) -> Option<(f64, u64)> {
    let snap = engine::read_status(data).ok()?;
    let c = snap.connectors.iter().find(|c| c.id == id)?;
    Some((
        snap.updated.as_nanos() as f64 / 1e9,
        c.counters.values_sent.load(Ordering::Relaxed),
    ))
}

/// Waits until North `id` sent `TOTAL`; returns its rate (values/s) between the first status
/// with progress and the last, and `TOTAL` over the time since the engine's start (a lower
/// bound: start-up included, status documents one second apart).
fn rate_until_all_sent(data: &Path, id: &str, began: Instant) -> (f64, f64) {
    let mut first: Option<(f64, u64)> = None;
    loop {
        assert!(
            began.elapsed() < Duration::from_secs(600),
            "{id} did not send {TOTAL} values"
        );
        std::thread::sleep(Duration::from_millis(20));
        let Some((t, n)) = sent(data, id) else {
            continue;
        };
        if n > 0 && first.is_none() {
            first = Some((t, n));
        }
        if n >= TOTAL {
            let (t0, n0) = first.expect("progress seen");
            let overall = n as f64 / began.elapsed().as_secs_f64();
            // Sent within one status period: only the overall rate says something.
            let between = if t > t0 && n > n0 {
                (n - n0) as f64 / (t - t0)
            } else {
                overall
            };
            return (between, overall);
        }
    }
}

/// Child process: prints `first-run-values/s replay-values/s log-MB`.
fn child() {
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let began = Instant::now();
    let engine = InProcess::start(
        &config(true, false),
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
    );
    let first = rate_until_all_sent(&scratch.data, "dst", began);
    engine.stop();
    let store_mb =
        std::fs::metadata(scratch.data.join("cache.redb")).map_or(0, |m| m.len()) as f64 / 1e6;
    let began = Instant::now();
    let engine = InProcess::start(
        &config(false, true),
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
    );
    let replay = rate_until_all_sent(&scratch.data, "new", began);
    engine.stop();
    println!(
        "{:.0} {:.0} {:.0} {:.0} {store_mb:.0}",
        first.0, first.1, replay.0, replay.1
    );
}

fn main() {
    if !oibus_benches::main_goes_on(|_| child()) {
        return;
    }
    oibus_tests::build();
    let out = oibus_benches::run_self_child(&[]);
    let f: Vec<&str> = out.split_whitespace().collect();
    println!("10,000,000 values (4 items, batches of 10,000) through one South's log, fsync'd");
    println!("| run | values/s (between status documents) | values/s (from the engine's start) |");
    println!("|---|---:|---:|");
    println!(
        "| first send, to `dst` (the South producing) | {} | {} |",
        f[0], f[1]
    );
    println!(
        "| replay to a new North (`start_from = \"oldest\"`, the South stopped) | {} | {} |",
        f[2], f[3]
    );
    println!("store file after the first run: {} MB", f[4]);
}
