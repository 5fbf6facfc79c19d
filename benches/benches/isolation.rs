//! What process isolation and signatures cost: `cargo bench -p oibus-benches --bench isolation`.
//!
//! * the pipeline of the `pipeline` benchmark (probe-south, 4 items, batches of 1,000 → fsync'd
//!   cache → probe-north) with both probes isolated against both in-process, alternating rounds,
//!   each a fresh process;
//! * one call's round trip (`handle_values` with one value) in-process and isolated;
//! * an isolated connector's child: start time (spawn, open the library, create, `start`) and
//!   resident memory;
//! * the time to verify a minisign signature on a 20 MB plugin file.

use oibus_benches::{InProcess, Scratch};
use oibus_engine::{
    connector::ChildSettings,
    connector::{self, ConnectorSpec, Timeouts},
    engine,
    isolation::process::Limits,
    loader::{LoadOptions, PluginRegistry, SignaturePolicy, Trust},
};
use oibus_plugin_api::{OibusValue, Timestamp};
use oibus_tests::AcceptAll;
use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(8);
const ROUNDS: usize = 3;

fn config(isolation: &str) -> String {
    oibus_benches::pipeline_config(&format!("[engine.plugins]\nisolation = \"{isolation}\""))
}

fn sent(data: &Path) -> (f64, u64) {
    let snap = engine::read_status(data).expect("status");
    let sent = snap
        .connectors
        .iter()
        .find(|c| c.id == "dst")
        .map(|c| {
            c.counters
                .values_sent
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .unwrap_or(0);
    (snap.updated.as_nanos() as f64 / 1e9, sent)
}

/// Child process: the pipeline in one variant; prints values/s.
fn child(isolation: &str) {
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let engine = InProcess::start_with_host(
        &config(isolation),
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
        Some(oibus_tests::oibus()),
    );
    std::thread::sleep(WARM_UP);
    let (t0, s0) = sent(&scratch.data);
    std::thread::sleep(MEASURE);
    let (t1, s1) = sent(&scratch.data);
    engine.stop();
    println!("{:.0}", (s1 - s0) as f64 / (t1 - t0));
}

fn run_child(isolation: &str) -> f64 {
    oibus_benches::run_self_child(&[isolation])
        .trim()
        .parse()
        .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident memory of this process's children (kB), from /proc.
fn children_rss_kb() -> Vec<u64> {
    let me = std::process::id();
    let mut out = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{me}/task")).unwrap();
    for t in tasks.flatten() {
        let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
            {
                out.push(kb);
            }
        }
    }
    out
}

fn calls() {
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let (registry, _) = PluginRegistry::discover(
        &scratch.plugins,
        &LoadOptions::unchecked(scratch.path("cache")),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let settings = serde_json::json!({});
    rt.block_on(async {
        let make = |id: &str, isolation: Option<ChildSettings>| {
            connector::create(
                &registry,
                ConnectorSpec {
                    id,
                    type_id: "probe-north",
                    settings: &settings,
                    state_dir: scratch.path(id),
                    plugins_data: scratch.path("plugin-data"),
                    timeouts: Timeouts::default(),
                    reports: Default::default(),
                    isolation,
                },
                Arc::new(AcceptAll),
                tokio::runtime::Handle::current(),
            )
            .unwrap()
        };
        let child = || ChildSettings {
            exe: oibus_tests::oibus(),
            limits: Limits::default(),
            crash_limit: 0,
            crash_window: Duration::from_secs(60),
        };
        let value = || vec![OibusValue::new("p", Timestamp::now(), 1.5)];
        println!("| call (handle_values, one value) | calls | µs/call (median of 5 runs) |");
        println!("|---|---:|---:|");
        for (label, isolation) in [
            ("in-process", None),
            ("isolated (child process)", Some(child())),
        ] {
            let c = make(label, isolation);
            c.start().await.unwrap();
            const N: u32 = 20_000;
            let mut runs = Vec::new();
            for _ in 0..5 {
                let began = Instant::now();
                for _ in 0..N {
                    c.handle_values(value()).await.unwrap();
                }
                runs.push(began.elapsed().as_secs_f64() * 1e6 / f64::from(N));
            }
            println!("| {label} | {N} | {:.1} |", median(runs));
            c.stop().await.unwrap();
        }

        // Child start and memory.
        let mut starts = Vec::new();
        let mut kept = Vec::new();
        for i in 0..10 {
            let c = make(&format!("child-{i}"), Some(child()));
            let began = Instant::now();
            c.start().await.unwrap();
            starts.push(began.elapsed().as_secs_f64() * 1e3);
            kept.push(c);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss = children_rss_kb();
        println!();
        println!("| isolated child | median | min – max |");
        println!("|---|---:|---|");
        let (lo, hi) = (
            starts.iter().copied().fold(f64::MAX, f64::min),
            starts.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "| start to connected (spawn, open, create, start) | {:.1} ms | {lo:.1} – {hi:.1} ms |",
            median(starts.clone())
        );
        let rss_mb: Vec<f64> = rss.iter().map(|k| *k as f64 / 1024.0).collect();
        println!(
            "| resident memory ({} children) | {:.1} MB | {:.1} – {:.1} MB |",
            rss_mb.len(),
            median(rss_mb.clone()),
            rss_mb.iter().copied().fold(f64::MAX, f64::min),
            rss_mb.iter().copied().fold(0.0, f64::max)
        );
        for c in kept {
            c.stop().await.unwrap();
        }
    });
}

fn signature() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = dir.path().join("libbig.so");
    let bytes: Vec<u8> = (0..20u64 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &bytes).unwrap();
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let sig = minisign::sign(None, &kp.sk, &bytes[..], Some("bench"), None).unwrap();
    std::fs::write(
        oibus_engine::loader::trust::signature_file(&file),
        sig.into_string(),
    )
    .unwrap();
    let trust = Trust::load(SignaturePolicy::Require, None, &[kp.pk.to_base64()]).unwrap();
    let mut runs = Vec::new();
    for _ in 0..7 {
        let began = Instant::now();
        assert!(trust.check(&file, &file).unwrap().is_trusted());
        runs.push(began.elapsed().as_secs_f64() * 1e3);
    }
    println!();
    println!("| signature check (minisign, ed25519 over BLAKE2b-512) | median of 7 |");
    println!("|---|---:|");
    println!(
        "| 20 MiB plugin file (page cache warm) | {:.1} ms |",
        median(runs)
    );
}

fn main() {
    if !oibus_benches::main_goes_on(|args| child(&args[0])) {
        return;
    }
    oibus_tests::build();
    println!(
        "probe-south (4 items, batches of 1000) → fsync'd cache → probe-north; {ROUNDS} rounds \
         alternating, each a fresh process measured {}s after {}s of warm-up",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    let mut results = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        results[0].push(run_child("in-process"));
        results[1].push(run_child("process"));
    }
    println!("| both probes | values/s median | min – max |");
    println!("|---|---:|---|");
    let mut medians = Vec::new();
    for (label, runs) in ["in-process", "isolated"].iter().zip(results) {
        let lo = runs.iter().copied().fold(f64::MAX, f64::min);
        let hi = runs.iter().copied().fold(0.0, f64::max);
        let m = median(runs);
        println!("| {label} | {m:.0} | {lo:.0} – {hi:.0} |");
        medians.push(m);
    }
    println!(
        "isolated / in-process (medians): {:.2}",
        medians[1] / medians[0]
    );
    println!();
    calls();
    signature();
}
