//! End-to-end throughput: `cargo bench -p oibus-benches --bench pipeline`.
//!
//! A `probe-south` emits numbered values as fast as the engine accepts them (4 subscribed items,
//! each its own task, batches of 1,000), through the fsync'd cache, to a `probe-north` that counts
//! them. The same pipeline runs twice, each in a fresh process: with the probe plugin loaded from
//! its `.so` (the plugin boundary), and with the same crate linked into the benchmark binary (no
//! boundary). Throughput is measured on the values the North received after a warm-up.
//!
//! `OIBUS_BENCH_BASELINE=<file>` measures another build of this benchmark in the same run, its
//! children alternating with these: for a side-by-side comparison with an earlier commit, check
//! it out in a worktree (`git worktree add ../baseline <commit>`), run `cargo bench -p
//! oibus-benches --bench pipeline --no-run` there (its own `target/`: two checkouts sharing one
//! target folder overwrite each other's crates), and pass the executable that command names.

use oibus_benches::{InProcess, Scratch};
use oibus_engine::{engine, loader::library};
use std::{
    path::Path,
    time::{Duration, Instant},
};

const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(8);
const ROUNDS: usize = 5;

fn counters(data: &Path) -> Option<(f64, u64, u64, u64)> {
    let snap = engine::read_status(data).ok()?;
    let updated = snap.updated.as_nanos() as f64 / 1e9;
    let get = |id: &str, f: fn(&engine::status::Counters) -> u64| {
        snap.connectors
            .iter()
            .find(|c| c.id == id)
            .map(|c| f(&c.counters))
            .unwrap_or(0)
    };
    let sent = get("dst", |c| {
        c.values_sent.load(std::sync::atomic::Ordering::Relaxed)
    });
    let received = get("src", |c| {
        c.values_in.load(std::sync::atomic::Ordering::Relaxed)
    });
    Some((updated, sent, received, snap.add_values_latency_us[1]))
}

/// Child process: runs the pipeline and prints `values/s p99-µs peak-RSS-MB`.
fn child(variant: &str) {
    let linked = variant == "static";
    let scratch = Scratch::new(
        env!("CARGO_TARGET_TMPDIR"),
        if linked { &[] } else { &["oibus_test_probe"] },
    );
    let data = scratch.data.clone();
    let static_plugins = if linked {
        let (declaration, module) = oibus_test_probe::__oibus_static_plugin();
        vec![library::from_static("<linked>", declaration, module).unwrap()]
    } else {
        Vec::new()
    };
    let engine = InProcess::start(
        &oibus_benches::pipeline_config(""),
        &data,
        scratch.plugins.clone(),
        static_plugins,
    );
    std::thread::sleep(WARM_UP);
    let (t0, sent0, _, _) = counters(&data).expect("status");
    let began = Instant::now();
    while began.elapsed() < MEASURE {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (t1, sent1, _, p99) = counters(&data).expect("status");
    engine.stop();
    let rate = (sent1 - sent0) as f64 / (t1 - t0);
    println!("{rate:.0} {p99} {:.1}", oibus_tests::memory_mb("VmHWM"));
}

fn run_child(exe: Option<&Path>, variant: &str) -> (f64, u64, f64) {
    let text = match exe {
        Some(exe) => oibus_benches::run_child_of(exe, &[variant]),
        None => oibus_benches::run_self_child(&[variant]),
    };
    let f: Vec<&str> = text.split_whitespace().collect();
    (
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
    )
}

fn main() {
    if !oibus_benches::main_goes_on(|args| child(&args[0])) {
        return;
    }
    oibus_tests::build();
    println!(
        "probe-south (4 items, batches of 1000) → fsync'd cache → probe-north; {ROUNDS} rounds \
         alternating the variants, each a fresh process measured {}s after {}s of warm-up",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    let baseline = std::env::var_os("OIBUS_BENCH_BASELINE").map(std::path::PathBuf::from);
    let mut variants = vec![
        (None, "plugin", "plugin (.so, abi_stable)"),
        (None, "static", "linked statically"),
    ];
    if let Some(b) = &baseline {
        println!("baseline: {}", b.display());
        variants.push((Some(b.as_path()), "plugin", "baseline: plugin"));
        variants.push((Some(b.as_path()), "static", "baseline: linked"));
    }
    let mut results: Vec<Vec<(f64, u64, f64)>> = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (i, (exe, variant, _)) in variants.iter().enumerate() {
            results[i].push(run_child(*exe, variant));
        }
    }
    println!(
        "| variant                  | values/s median | min – max             | add_values p99 | peak RSS  |"
    );
    println!(
        "|--------------------------|----------------:|-----------------------|---------------:|----------:|"
    );
    let mut medians = Vec::new();
    for ((_, _, label), runs) in variants.iter().zip(&results) {
        let mut rates: Vec<f64> = runs.iter().map(|r| r.0).collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let mut p99: Vec<u64> = runs.iter().map(|r| r.1).collect();
        p99.sort();
        let rss = runs.iter().map(|r| r.2).fold(0.0, f64::max);
        println!(
            "| {label:<24} | {median:>15.0} | {:>9.0} – {:<9.0} | {:>11.1} ms | {rss:>6.1} MB |",
            rates[0],
            rates[rates.len() - 1],
            p99[p99.len() / 2] as f64 / 1000.0
        );
        medians.push(median);
    }
    println!(
        "plugin / static (medians): {:.3}, the boundary costs {:.1}%",
        medians[0] / medians[1],
        (1.0 - medians[0] / medians[1]) * 100.0
    );
    if baseline.is_some() {
        println!(
            "this build / baseline (medians): plugin {:.3}, linked {:.3}",
            medians[0] / medians[2],
            medians[1] / medians[3]
        );
    }
}
