//! Time to discover and load a folder of plugins, each run in a fresh process (a library loads
//! once per process): `cargo bench -p oibus-benches --bench loading`.
//!
//! Rows: the four product plugins, and 50 distinct plugins generated from the `test-bench`
//! fixture by rewriting the plugin id in its declaration. "cold" starts with an empty shadow-copy
//! cache (every file is hashed and copied), "warm" with the copies already there (hashed only).
//!
//! Then the size of every plugin file as built (`target/release`), and the threads and resident
//! memory the generated plugins cost: loaded and idle, then with a started North in 1, 10 and 50
//! of them, and a second North in one.

use oibus_engine::loader::PluginRegistry;
use oibus_tests::{PRODUCT_PLUGINS, library, plugin_folder, with_plugin_id_suffix};
use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

const RUNS: usize = 7;

/// Child process: load `dir` with `cache` and print the elapsed nanoseconds.
fn child(dir: &Path, cache: &Path, expected: usize) {
    let began = Instant::now();
    let (registry, reports) =
        PluginRegistry::discover(dir, &oibus_engine::loader::LoadOptions::unchecked(cache))
            .expect("plugins folder");
    let elapsed = began.elapsed();
    assert_eq!(registry.plugins().count(), expected, "{reports:#?}");
    println!("{}", elapsed.as_nanos());
}

/// The threads of this process and its resident memory in MB.
fn threads_and_rss() -> (usize, f64) {
    let threads = fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (threads, kb / 1e3)
}

/// Child process: load the generated plugins in `dir`, start Norths in more and more of them,
/// and print a table row at each step.
fn threads_child(dir: &Path, cache: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let row = |what: &str| {
        let (threads, rss) = threads_and_rss();
        println!("| {what:<34} | {threads:>7} | {rss:>8.1} |");
    };
    row("host runtime, no plugin");
    let (registry, reports) =
        PluginRegistry::discover(dir, &oibus_engine::loader::LoadOptions::unchecked(cache))
            .expect("plugins folder");
    assert_eq!(registry.plugins().count(), 50, "{reports:#?}");
    row("50 plugins loaded, no connector");
    let mut started = Vec::new();
    rt.block_on(async {
        for (n, upto) in [(0, 1), (1, 10), (10, 50)] {
            for i in n..upto {
                let north = oibus_tests::standalone_connector(
                    &registry,
                    (&format!("n{i}"), &format!("oibus-test-bench-{i:02}-north")),
                    &serde_json::json!({}),
                    cache.join(format!("n{i}")),
                    std::sync::Arc::new(oibus_tests::AcceptAll),
                );
                north.start().await.expect("start");
                north.handle_values(Vec::new()).await.expect("a call");
                started.push(north);
            }
            row(&format!("a North started in {upto} of them"));
        }
        let second = oibus_tests::standalone_connector(
            &registry,
            ("second", "oibus-test-bench-00-north"),
            &serde_json::json!({}),
            cache.join("second"),
            std::sync::Arc::new(oibus_tests::AcceptAll),
        );
        second.start().await.expect("start");
        row("and a second North in one of them");
    });
}

fn run_child(dir: &Path, cache: &Path, expected: usize) -> Duration {
    let out = oibus_benches::run_self_child(&[
        dir.to_str().unwrap(),
        cache.to_str().unwrap(),
        &expected.to_string(),
    ]);
    Duration::from_nanos(out.trim().parse().unwrap())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(name: &str, dir: &Path, expected: usize) {
    let bytes: u64 = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let cache = tempfile::tempdir().unwrap();
        cold.push(run_child(dir, cache.path(), expected));
        warm.push(run_child(dir, cache.path(), expected));
    }
    println!(
        "| {name:<28} | {expected:>7} | {:>8.1} | {:>10.1} | {:>10.1} |",
        bytes as f64 / 1e6,
        median(cold).as_secs_f64() * 1e3,
        median(warm).as_secs_f64() * 1e3
    );
}

fn main() {
    let as_child = |args: &[String]| match args[0].as_str() {
        "threads" => threads_child(Path::new(&args[1]), Path::new(&args[2])),
        _ => child(
            Path::new(&args[0]),
            Path::new(&args[1]),
            args[2].parse().expect("a count"),
        ),
    };
    if !oibus_benches::main_goes_on(as_child) {
        return;
    }
    let four = plugin_folder(PRODUCT_PLUGINS);
    let fifty = tempfile::tempdir().unwrap();
    let fixture = fs::read(library("oibus_test_bench")).unwrap();
    for i in 0..50 {
        let copy = with_plugin_id_suffix(&fixture, &format!("-{i:02}"));
        fs::write(fifty.path().join(format!("bench-{i:02}.so")), copy).unwrap();
    }
    println!("median of {RUNS} runs, each in a fresh process");
    println!("| folder                       | plugins | total MB | cold (ms)  | warm (ms)  |");
    println!("|------------------------------|--------:|---------:|-----------:|-----------:|");
    measure("4 product plugins", four.path(), 4);
    measure("50 generated plugins", fifty.path(), 50);

    println!();
    println!("| plugin file (release)            |    MB |");
    println!("|----------------------------------|------:|");
    let mut files: Vec<_> = fs::read_dir(oibus_tests::build())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("liboibus_") && name.ends_with(".so") && !name.contains("_test_")
        })
        .collect();
    files.sort_by_key(|e| e.file_name());
    for f in files {
        let mb = f.metadata().unwrap().len() as f64 / 1e6;
        println!("| {:<32} | {mb:>5.1} |", f.file_name().to_string_lossy());
    }

    println!();
    println!("| generated plugins                  | threads | RSS (MB) |");
    println!("|------------------------------------|--------:|---------:|");
    let cache = tempfile::tempdir().unwrap();
    print!(
        "{}",
        oibus_benches::run_self_child(&[
            "threads",
            fifty.path().to_str().unwrap(),
            cache.path().to_str().unwrap()
        ])
    );
}
