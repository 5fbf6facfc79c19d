//! Time to discover and load a folder of plugins, each run in a fresh process (a library loads
//! once per process): `cargo bench -p oibus-benches --bench loading`.
//!
//! Rows: the four product plugins, and 50 distinct plugins generated from the `test-bench`
//! fixture by rewriting the plugin id in its declaration. "cold" starts with an empty shadow-copy
//! cache (every file is hashed and copied), "warm" with the copies already there (hashed only).

use oibus_core::plugin::PluginRegistry;
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
        PluginRegistry::discover(dir, &oibus_core::plugin::LoadOptions::unchecked(cache))
            .expect("plugins folder");
    let elapsed = began.elapsed();
    assert_eq!(registry.plugins().count(), expected, "{reports:#?}");
    println!("{}", elapsed.as_nanos());
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
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let expected = args[i + 3].parse().unwrap();
        child(Path::new(&args[i + 1]), Path::new(&args[i + 2]), expected);
        return;
    }
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return; // `cargo test --benches` smoke run: nothing to list.
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
}
