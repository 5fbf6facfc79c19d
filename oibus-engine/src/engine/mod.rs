//! The engine: plugins, connectors, caches and schedules assembled from a configuration, run
//! until shutdown.

mod background;
pub mod commands;
mod data_dir;
pub mod durations;
pub mod frontend;
pub mod history;
pub mod history_edge;
pub mod loaded_version;
mod north;
pub mod plugin_folder;
mod router;
mod running;
mod slot;
mod south;
pub mod status;
mod supervisor;

pub use data_dir::DataDir;
pub use frontend::{Frontend, RunningFrontend};
pub use running::Engine;
pub(crate) use slot::Role;
pub use status::{ConnectorSnapshot, Snapshot, State};
pub use supervisor::backoff;

use crate::{
    cache::Store,
    config::{self, Config},
    connector::Timeouts,
    loader::{PluginRegistry, PluginStatus},
};
use anyhow::Context as _;
use oibus_plugin_api::Timestamp;
use plugin_folder::PluginFolder;
use router::Router;
use slot::Shared;
use status::StatusBoard;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// What `oibus run` starts from.
pub struct EngineOptions {
    /// The configuration (variables already expanded).
    pub config: Config,
    /// Where it came from (for messages).
    pub origin: String,
    /// The file it is saved to when changed by a command (`None`: the embedded demo,
    /// which cannot be changed).
    pub config_file: Option<PathBuf>,
    /// The variables expanded in `config` (`data_dir`, `config_dir`), so that a save through the
    /// front end recognises the unchanged text that uses them and keeps it.
    pub variables: Vec<(&'static str, String)>,
    /// The data folder.
    pub data: DataDir,
    /// The plugins folder.
    pub plugins: PathBuf,
    /// Plugins linked into the binary, registered after those of the folder (benchmarks).
    pub static_plugins: Vec<crate::loader::LoadedPlugin>,
    /// What is served beside the engine once its connectors run (the admin API, for `oibus run`).
    pub frontends: Vec<Box<dyn Frontend>>,
    /// The `oibus` executable, which runs plugin hosts (isolated connectors, probes of files not
    /// signed by a trusted key); `None`: every plugin runs in this process.
    pub host_exe: Option<PathBuf>,
}

/// How the engine loads plugin files: its private copies, the trust store of `<data>/trusted-keys`
/// and the configuration, and (with the `oibus` executable) throwaway processes for the first
/// opening of files not signed by a trusted key.
pub fn load_options(
    config: &Config,
    data: &DataDir,
    host_exe: Option<&std::path::Path>,
) -> anyhow::Result<crate::loader::LoadOptions> {
    let p = &config.engine.plugins;
    let trust =
        crate::loader::Trust::load(p.signatures, Some(&data.trusted_keys()), &p.trusted_keys)
            .map_err(anyhow::Error::msg)?;
    if p.signatures != crate::loader::SignaturePolicy::Off {
        tracing::info!(
            "plugin signatures: {:?}, {} trusted key(s){}",
            p.signatures,
            trust.keys().len(),
            trust
                .keys()
                .iter()
                .map(|k| format!(" {} ({})", k.id, k.source))
                .collect::<String>()
        );
    }
    Ok(crate::loader::LoadOptions {
        cache_dir: data.plugin_cache(),
        trust: Arc::new(trust),
        probe: host_exe.map(|exe| crate::loader::Probe {
            prober: Arc::new(crate::isolation::ChildProber::new(
                exe.to_path_buf(),
                p.probe_timeout.0,
                Some(data.plugin_cache().join("verdicts")),
            )),
            always: false,
        }),
    })
}

/// Loads the plugins, validates the configuration, creates every enabled connector and runs them
/// until `shutdown` is cancelled. Fails before starting anything if the configuration or a
/// connector cannot be set up.
pub async fn run(options: EngineOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    // `oibus run` did it before its threads started; an engine embedded elsewhere does it here.
    oibus_platform::allocator::limit_arenas();
    let EngineOptions {
        config,
        origin,
        config_file,
        variables,
        data,
        plugins,
        static_plugins,
        frontends,
        host_exe,
    } = options;
    std::fs::create_dir_all(&data.0)
        .with_context(|| format!("cannot create the data folder {}", data.0.display()))?;
    // Removed when this function returns, whatever way: only a process that ended under it
    // leaves it behind.
    let _marker = running_marker(&data)?;
    let load_options = load_options(&config, &data, host_exe.as_deref())?;
    let choices_file = data.plugin_choices();
    let forced = plugin_folder::load_choices(&choices_file);
    // Checked away from the runtime's threads, so that a stop asked meanwhile ends the checks
    // in progress at once instead of waiting for their time-outs.
    let discovery = {
        let (plugins, load_options) = (plugins.clone(), load_options.clone());
        tokio::task::spawn_blocking(move || {
            PluginRegistry::discover_choosing(&plugins, &load_options, &forced)
        })
    };
    tokio::pin!(discovery);
    let discovered = tokio::select! {
        r = &mut discovery => r,
        () = shutdown.cancelled() => {
            if let Some(probe) = &load_options.probe {
                probe.prober.cancel();
            }
            tracing::info!("stopping while the plugins are checked");
            let _ = discovery.await;
            return Ok(());
        }
    };
    let (mut registry, reports) = discovered
        .context("the plugins folder check failed")?
        .with_context(|| format!("cannot read the plugins folder {}", plugins.display()))?;
    for p in static_plugins {
        registry.register(p)?;
    }
    let count = |f: fn(&PluginStatus) -> bool| reports.iter().filter(|r| f(&r.status)).count();
    // Counted as `oibus plugins list` counts them.
    tracing::info!(
        "plugins of {}: {} ok, {} standby, {} refused",
        plugins.display(),
        count(|s| matches!(s, PluginStatus::Ok)),
        count(|s| matches!(s, PluginStatus::Standby { .. })),
        count(|s| matches!(s, PluginStatus::Refused { .. })),
    );
    config::validate(&config, &registry, &origin)?;
    let mut frontends = frontends;
    for f in &mut frontends {
        f.bind()?;
    }

    let store = Store::open_with_cache(
        &data.store(),
        usize::try_from(config.engine.store_cache.0).unwrap_or(usize::MAX),
    )?;
    let latency = Arc::new(Mutex::new(
        hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .context("latency histogram")?,
    ));
    let shared = Shared {
        router: Arc::new(Router::new(store.clone(), latency.clone())),
        store: store.clone(),
        data: data.clone(),
        timeouts: Timeouts {
            lifecycle: config.engine.timeouts.lifecycle.0,
            data: config.engine.timeouts.data.0,
        },
        reconnect: config.engine.reconnect.clone(),
        scan_modes: config.scan_modes.clone(),
        isolation: slot::Isolating {
            plugins: config.engine.plugins.clone(),
            exe: host_exe,
        },
    };
    let board = Arc::new(StatusBoard {
        engine: config.engine.name.clone(),
        started: Timestamp::now(),
        connectors: Mutex::default(),
        queues: Mutex::default(),
        logs: Mutex::default(),
        latency,
        plugins: Mutex::default(),
    });
    let mut engine = Engine {
        config,
        config_file,
        variables,
        data,
        store,
        shared,
        folder: PluginFolder::new(
            plugins.clone(),
            load_options,
            choices_file,
            registry,
            reports,
        ),
        slots: Vec::new(),
        queues: HashMap::new(),
        logs: Mutex::default(),
        moved_in: Arc::default(),
        board,
    };

    // Connectors: Norths first, so that the Souths' data has somewhere to go.
    let norths: Vec<_> = engine
        .config
        .north
        .iter()
        .filter(|n| n.enabled)
        .cloned()
        .collect();
    for n in norths {
        let queue = engine.open_queue(&n)?;
        let slot = engine.new_slot(Role::North(Box::new(n), queue))?;
        engine.slots.push(slot);
    }
    let souths: Vec<_> = engine
        .config
        .south
        .iter()
        .filter(|s| s.enabled)
        .cloned()
        .collect();
    for s in souths {
        let slot = engine.new_slot(Role::South(Arc::new(s)))?;
        engine.slots.push(slot);
    }
    engine.reroute();
    for i in 0..engine.slots.len() {
        if let Err(e) = engine.start_slot(i) {
            // Never half-configured: stop what started, report.
            engine.stop_all().await;
            return Err(e.into());
        }
    }
    engine.publish_plugins();

    let background = background::spawn(
        engine.board.clone(),
        engine.store.clone(),
        engine.data.status(),
    );
    let (commands_tx, mut commands) = tokio::sync::mpsc::channel(16);
    let mut running_frontends = Vec::with_capacity(frontends.len());
    for f in frontends {
        let started = f
            .start(
                engine.data.clone(),
                commands_tx.clone(),
                engine.board.clone(),
            )
            .await?;
        running_frontends.push(started);
    }
    oibus_platform::allocator::release_freed();
    tracing::info!(
        "engine {:?} running: {} South(s), {} North(s)",
        engine.config.engine.name,
        engine.slots.iter().filter(|s| s.is_south()).count(),
        engine.slots.iter().filter(|s| !s.is_south()).count(),
    );

    // The plugins folder is watched. A change schedules a look 200 ms later (a burst of events,
    // a copy in progress, is one look); a file still being copied schedules another; without
    // events, the folder is looked at every SAFETY_INTERVAL. Commands are served meanwhile.
    let (_watcher, mut changes) = plugin_folder::watch(&plugins)
        .with_context(|| format!("cannot watch the plugins folder {}", plugins.display()))?;
    let settle = Duration::from_millis(200);
    let mut next_look = tokio::time::Instant::now() + plugin_folder::SAFETY_INTERVAL;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(command) = commands.recv() => {
                commands::handle(&mut engine, command).await;
                continue;
            }
            Some(()) = changes.recv() => {
                next_look = next_look.min(tokio::time::Instant::now() + settle);
                continue;
            }
            () = tokio::time::sleep_until(next_look) => {}
        }
        while changes.try_recv().is_ok() {}
        let pending = engine.rescan().await;
        next_look = tokio::time::Instant::now()
            + if pending {
                settle * 3
            } else {
                plugin_folder::SAFETY_INTERVAL
            };
    }
    tracing::info!("stopping");
    for f in running_frontends {
        f.stop().await;
    }
    engine.stop_all().await;
    engine.board.persist_counters(&engine.store).await;
    engine.store.flush().await?;
    background.stop().await;
    engine.board.write(&engine.data.status())?;
    tracing::info!("stopped");
    Ok(())
}

/// Writes `<data>/engine.running` for this run, first reporting a marker an earlier run left: that
/// run did not stop cleanly (killed, crashed, or ended by a plugin's abort, segfault or exit).
fn running_marker(data: &DataDir) -> anyhow::Result<RunningMarker> {
    let marker = data.0.join("engine.running");
    if let Ok(earlier) = std::fs::read_to_string(&marker) {
        let last = read_status(&data.0)
            .map(|s| format!("; its last status is of {}", s.updated))
            .unwrap_or_default();
        tracing::error!(
            "the previous run ({}) did not stop cleanly: it was killed, crashed, or a plugin ended \
             the process (abort, segfault, exit){last}; nothing it acknowledged is lost",
            earlier.trim()
        );
    }
    std::fs::write(
        &marker,
        format!("pid {}, started {}", std::process::id(), Timestamp::now()),
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(RunningMarker(marker))
}

/// `<data>/engine.running`, removed when dropped.
struct RunningMarker(PathBuf);

impl Drop for RunningMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads the status document of a data folder.
pub fn read_status(data: &Path) -> anyhow::Result<Snapshot> {
    let path = DataDir(data.to_path_buf()).status();
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (has `oibus run --data {}` ever run?)",
            path.display(),
            data.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a status document", path.display()))
}
