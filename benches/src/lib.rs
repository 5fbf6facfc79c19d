//! What the benchmarks in `benches/` share: an engine running inside the benchmark process.

use oibus_core::{
    config,
    engine::{self, DataDir, EngineOptions},
    plugin::LoadedPlugin,
};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

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
        let options = EngineOptions {
            config: config::parse(config, "benchmark configuration")
                .unwrap_or_else(|e| panic!("{e}")),
            origin: "benchmark configuration".into(),
            config_file: None,
            variables: Vec::new(),
            data: DataDir(data.to_path_buf()),
            plugins,
            static_plugins,
            admin: None,
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
