//! Admin API latency of an idle engine: `cargo bench -p oibus-benches --bench admin`.
//!
//! A real `oibus run` (the demo's console North, idle otherwise) is asked for
//! `GET /api/connector-types`: first by one client, 200 requests one after the other, then by 200
//! concurrent clients for 10 s. Set `OIBUS_BEFORE=/path/to/an/older/oibus` to measure that
//! binary in the same run, before this one.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

struct Running {
    child: Child,
    url: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(exe: &Path) -> Running {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    oibus_tests::copy_plugin("oibus_north_console", &plugins);
    let config = dir.path().join("oibus.toml");
    std::fs::write(
        &config,
        "[engine]\nlog_level = \"warn\"\n\n[[north]]\nid = \"out\"\ntype = \"console\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let child = Command::new(exe)
        .args(["run", "--admin-listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .arg("--plugins")
        .arg(&plugins)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !(data.join("admin-url").exists() && data.join("admin-token").exists()) {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the admin API did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    Running {
        child,
        url: std::fs::read_to_string(data.join("admin-url")).unwrap(),
        token: std::fs::read_to_string(data.join("admin-token")).unwrap(),
        _dir: dir,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn get(agent: &ureq::Agent, e: &Running) -> Duration {
    let began = Instant::now();
    let mut r = agent
        .get(&format!("{}/api/connector-types", e.url))
        .header("Authorization", &format!("Bearer {}", e.token))
        .call()
        .expect("GET /api/connector-types");
    let _ = r.body_mut().read_to_string().expect("a body");
    began.elapsed()
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
}

fn measure(label: &str, exe: &Path) {
    let engine = start(exe);
    let one = agent();
    let mut idle: Vec<Duration> = (0..200).map(|_| get(&one, &engine)).collect();
    idle.sort();
    let engine = Arc::new(engine);
    let all = Arc::new(Mutex::new(Vec::new()));
    let began = Instant::now();
    let clients: Vec<_> = (0..200)
        .map(|_| {
            let (engine, all) = (engine.clone(), all.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut mine = Vec::new();
                while began.elapsed() < Duration::from_secs(10) {
                    mine.push(get(&agent, &engine));
                }
                all.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let elapsed = began.elapsed().as_secs_f64();
    let mut loaded = all.lock().unwrap().clone();
    loaded.sort();
    println!(
        "| {label} | {:.2} ms | {:.2} ms | {:.0} | {:.1} ms | {:.1} ms |",
        quantile(&idle, 0.5),
        quantile(&idle, 0.99),
        loaded.len() as f64 / elapsed,
        quantile(&loaded, 0.5),
        quantile(&loaded, 0.99),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    oibus_tests::build();
    println!("GET /api/connector-types on an idle engine (one console North)");
    println!("| binary | 1 client p50 | 1 client p99 | 200 clients: requests/s | p50 | p99 |");
    println!("|---|---:|---:|---:|---:|---:|");
    if let Some(before) = std::env::var_os("OIBUS_BEFORE") {
        measure("before (OIBUS_BEFORE)", &PathBuf::from(before));
    }
    measure("this build", &oibus_tests::oibus());
}
