//! What the benchmarks in `benches/` share: an engine running inside the benchmark process.

pub mod lateness;
pub mod stopwatch;

use oibus_engine::{
    config,
    engine::{self, DataDir, EngineOptions},
    loader::LoadedPlugin,
};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The start of the configuration of the connector benchmarks: warnings only, and a South `src`
/// (`probe-south`) emitting batches of 500 numbered values for two items as fast as the engine
/// accepts them. The benchmark adds the connector under test.
pub const FLOODING_SOURCE: &str = r#"[engine]
log_level = "warn"
[[south]]
id = "src"
type = "probe-south"
settings = { batch_size = 500, interval_ms = 0 }
items = [{ name = "a", scan_mode = "subscription" }, { name = "b", scan_mode = "subscription" }]
"#;

/// The configuration of the pipeline benchmarks: a `probe-south` with 4 subscribed items
/// emitting batches of 1,000 values as fast as the engine accepts them, into a `probe-north`
/// that counts them. `engine_extra` goes into `[engine]`'s table (for example an
/// `[engine.plugins]` table after it).
pub fn pipeline_config(engine_extra: &str) -> String {
    format!(
        r#"
[engine]
log_level = "warn"
{engine_extra}

[[south]]
id = "src"
type = "probe-south"
settings = {{ batch_size = 1000, interval_ms = 0 }}
items = [
  {{ name = "a", scan_mode = "subscription" }},
  {{ name = "b", scan_mode = "subscription" }},
  {{ name = "c", scan_mode = "subscription" }},
  {{ name = "d", scan_mode = "subscription" }},
]

[[north]]
id = "dst"
type = "probe-north"
caching = {{ group_count = 20000, max_send_count = 50000, send_interval = "20ms", max_size = "256MiB" }}
"#
    )
}

/// CPU seconds (user + system) of a `/proc/…/stat` file (`/proc/self/stat` for the process,
/// `/proc/thread-self/stat` for the calling thread); 0 if it cannot be read.
pub fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds (user + system) of process `pid` and all its descendants now: a server that
/// forks a process per connection (sshd, vsftpd) is measured while its sessions are open.
pub fn tree_cpu_seconds(pid: u32) -> f64 {
    let mut parent = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = text
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent.insert(p, ppid);
        }
    }
    let descends = |mut p: u32| loop {
        if p == pid {
            return true;
        }
        match parent.get(&p) {
            Some(&pp) if pp != 0 && pp != p => p = pp,
            _ => return false,
        }
    };
    parent
        .keys()
        .filter(|&&p| descends(p))
        .map(|p| cpu_seconds(&format!("/proc/{p}/stat")))
        .sum()
}

/// What a benchmark's `main` does first: limits the allocator's heaps as `oibus run` does; then,
/// when this process is a measurement child started by
/// [`run_self_child`], runs `child` with its arguments (those after `--child`). Answers whether
/// the caller is the benchmark itself and goes on: not for a child, nor for `cargo test
/// --benches`' smoke run (`--test`, `--list`).
pub fn main_goes_on(child: impl FnOnce(&[String])) -> bool {
    // What `oibus run` does first, before any thread starts.
    oibus_platform::allocator::limit_arenas();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1..]);
        return false;
    }
    !args.iter().any(|a| a == "--test" || a == "--list")
}

/// Runs this benchmark binary again with `--child` and `args` (a measurement in a fresh
/// process), and returns what it printed; panics with its standard error if it failed.
pub fn run_self_child(args: &[&str]) -> String {
    run_child_of(
        &std::env::current_exe().expect("the benchmark binary"),
        args,
    )
}

/// [`run_self_child`] with another build of the benchmark (`exe`): a baseline measured in the
/// same run, one child after the other.
pub fn run_child_of(exe: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("the child benchmark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A benchmark's folder, under `root` (pass `env!("CARGO_TARGET_TMPDIR")`: a real disk, for the
/// cache's fsyncs, rather than a memory file system), with `data/` for the engine and `plugins/`
/// holding copies of the named plugin libraries. Deleted when dropped.
pub struct Scratch {
    dir: tempfile::TempDir,
    /// The engine's data folder (created by the engine).
    pub data: PathBuf,
    /// The plugins folder.
    pub plugins: PathBuf,
}

impl Scratch {
    /// Creates the folder and copies the plugins (library names: `oibus_test_probe`…).
    pub fn new(root: &str, plugins: &[&str]) -> Self {
        let dir = tempfile::tempdir_in(root).expect("a temporary folder");
        let (data, folder) = (dir.path().join("data"), dir.path().join("plugins"));
        std::fs::create_dir_all(&folder).expect("the plugins folder");
        for p in plugins {
            oibus_tests::copy_plugin(p, &folder);
        }
        Self {
            dir,
            data,
            plugins: folder,
        }
    }

    /// Another path in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An engine running on its own runtime in this process, from a configuration text, without
/// admin API or configuration file. Stopped (cleanly) by [`InProcess::stop`].
pub struct InProcess {
    runtime: tokio::runtime::Runtime,
    shutdown: CancellationToken,
    engine: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Starts an engine with `config` (TOML), its data in `data`, its plugins from `plugins`,
    /// and `static_plugins` linked into the benchmark.
    pub fn start(
        config: &str,
        data: &Path,
        plugins: PathBuf,
        static_plugins: Vec<LoadedPlugin>,
    ) -> Self {
        Self::start_with_host(config, data, plugins, static_plugins, None)
    }

    /// [`InProcess::start`], with the `oibus` executable that runs isolated connectors.
    pub fn start_with_host(
        config: &str,
        data: &Path,
        plugins: PathBuf,
        static_plugins: Vec<LoadedPlugin>,
        host_exe: Option<PathBuf>,
    ) -> Self {
        let config =
            config::parse(config, "benchmark configuration").unwrap_or_else(|e| panic!("{e}"));
        Self::start_loaded(config, data, plugins, static_plugins, host_exe)
    }

    /// [`InProcess::start_with_host`] with a configuration already read (by
    /// `oibus_engine::config::load`, say, which reads items files too).
    pub fn start_loaded(
        config: config::Config,
        data: &Path,
        plugins: PathBuf,
        static_plugins: Vec<LoadedPlugin>,
        host_exe: Option<PathBuf>,
    ) -> Self {
        let options = EngineOptions {
            config,
            origin: "benchmark configuration".into(),
            config_file: None,
            variables: Vec::new(),
            data: DataDir(data.to_path_buf()),
            plugins,
            static_plugins,
            frontends: Vec::new(),
            host_exe,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let shutdown = CancellationToken::new();
        let engine = runtime.spawn(engine::run(options, shutdown.clone()));
        Self {
            runtime,
            shutdown,
            engine,
        }
    }

    /// Stops the engine as a SIGTERM would, and waits for it; panics if it failed.
    pub fn stop(self) {
        self.shutdown.cancel();
        self.runtime
            .block_on(self.engine)
            .expect("the engine task")
            .expect("the engine");
    }
}
