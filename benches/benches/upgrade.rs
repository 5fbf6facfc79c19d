//! Hot upgrade of running connectors: `cargo bench -p oibus-benches --bench upgrade`.
//!
//! A probe South streams into a probe North (both from the probe plugin) in an engine running in
//! this process; the probe plugin is then upgraded 5 times by dropping a newer version into the
//! plugins folder (the same library with the version in its declaration rewritten). For each
//! upgrade: each connector's downtime (its old instance stopped → its new one connected), and the
//! process's resident memory before and after (every version stays mapped until the process exits).

use oibus_benches::{InProcess, Scratch};
use oibus_engine::engine;
use std::{fs, path::Path, time::Duration};

const UPGRADES: usize = 5;

fn plugin_of(data: &Path, id: &str) -> Option<(String, f64)> {
    let snap = engine::read_status(data).ok()?;
    let c = snap.connectors.into_iter().find(|c| c.id == id)?;
    let downtime = c.last_upgrade.map_or(0.0, |u| u.downtime_ms);
    (c.state == engine::State::Connected).then_some((c.plugin, downtime))
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &["oibus_test_probe"]);
    let (data, plugins) = (scratch.data.clone(), scratch.plugins.clone());
    // Every version is written before the engine starts (the benchmark's own 20 MB buffers must
    // not count as the engine's memory); each is then renamed into the plugins folder.
    let staging = scratch.path("staging");
    fs::create_dir_all(&staging).unwrap();
    {
        let original = fs::read(oibus_tests::library("oibus_test_probe")).unwrap();
        for i in 2..UPGRADES + 2 {
            let version = format!("0.{i}.0");
            let bytes =
                oibus_tests::patch_declaration(&original, "oibus-test-probe", "", Some(&version));
            fs::write(staging.join(format!("probe-{version}.so")), bytes).unwrap();
        }
    }
    let text = r#"
[engine]
log_level = "warn"
[[south]]
id = "src"
type = "probe-south"
settings = { batch_size = 100, interval_ms = 1 }
items = [{ name = "a", scan_mode = "subscription" }]
[[north]]
id = "dst"
type = "probe-north"
caching = { group_count = 1000, send_interval = "10ms" }
"#;
    let engine = InProcess::start(text, &data, plugins.clone(), Vec::new());
    let wait_for = |version: &str| -> (f64, f64) {
        let want = format!("oibus-test-probe {version}");
        for _ in 0..600 {
            if let (Some((p1, d1)), Some((p2, d2))) =
                (plugin_of(&data, "src"), plugin_of(&data, "dst"))
                && p1 == want
                && p2 == want
            {
                return (d1, d2);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the engine did not reach {want}");
    };
    wait_for("0.1.0");
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "| upgrade         | South downtime | North downtime | RSS before | RSS after | added   |"
    );
    println!(
        "|-----------------|---------------:|---------------:|-----------:|----------:|--------:|"
    );
    let mut added = Vec::new();
    for i in 2..UPGRADES + 2 {
        let version = format!("0.{i}.0");
        let before = oibus_tests::memory_mb("VmRSS");
        let name = format!("probe-{version}.so");
        fs::rename(staging.join(&name), plugins.join(&name)).unwrap();
        let (south, north) = wait_for(&version);
        std::thread::sleep(Duration::from_secs(1));
        let after = oibus_tests::memory_mb("VmRSS");
        added.push(after - before);
        println!(
            "| 0.{}.0 → {version:<6} | {south:>11.2} ms | {north:>11.2} ms | {before:>7.1} MB | {after:>6.1} MB | {:>+4.1} MB |",
            i - 1,
            after - before
        );
    }
    added.sort_by(f64::total_cmp);
    println!(
        "median resident memory added per upgrade: {:.1} MB",
        added[added.len() / 2]
    );
    engine.stop();
}
