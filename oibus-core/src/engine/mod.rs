//! The engine: plugins, connectors, caches and schedules assembled from a configuration, run
//! until shutdown.

pub mod history;
mod north;
pub mod plugins;
mod router;
pub mod schedule;
mod slot;
mod south;
pub mod status;
mod supervisor;

pub use status::{Snapshot, State};
pub use supervisor::backoff;

use crate::{
    cache::{NorthQueue, Store},
    config::{self, Config},
    connector::Timeouts,
    plugin::{PluginRegistry, PluginStatus},
};
use anyhow::Context as _;
use oibus_plugin_api::{Capability, ConnectorKind, Timestamp};
use plugins::PluginFolder;
use router::{Router, Routes};
use slot::{Role, Shared, Slot};
use status::{ConnectorStatus, StatusBoard};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// Where the engine keeps its state.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// The cache store file.
    pub fn store(&self) -> PathBuf {
        self.0.join("cache.redb")
    }
    /// Shadow copies of plugins.
    pub fn plugin_cache(&self) -> PathBuf {
        self.0.join("plugin-cache")
    }
    /// The default plugins folder.
    pub fn plugins(&self) -> PathBuf {
        self.0.join("plugins")
    }
    /// A connector's private folder.
    pub fn connector_state(&self, id: &str) -> PathBuf {
        self.0.join("connectors").join(id)
    }
    /// A North's cached files.
    pub fn north_files(&self, id: &str) -> PathBuf {
        self.0.join("cache").join(id)
    }
    /// The status document.
    pub fn status(&self) -> PathBuf {
        self.0.join("status.json")
    }
}

/// What `oibus run` starts from.
pub struct EngineOptions {
    /// The configuration (variables already expanded).
    pub config: Config,
    /// Where it came from (for messages).
    pub origin: String,
    /// The data folder.
    pub data: DataDir,
    /// The plugins folder.
    pub plugins: PathBuf,
    /// Plugins linked into the binary, registered after those of the folder (benchmarks).
    pub static_plugins: Vec<crate::plugin::LoadedPlugin>,
}

/// Loads the plugins, validates the configuration, creates every enabled connector and runs them
/// until `shutdown` is cancelled. Fails before starting anything if the configuration or a
/// connector cannot be set up.
pub async fn run(options: EngineOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let EngineOptions {
        config,
        origin,
        data,
        plugins,
        static_plugins,
    } = options;
    std::fs::create_dir_all(&data.0)
        .with_context(|| format!("cannot create the data folder {}", data.0.display()))?;
    let (mut registry, reports) = PluginRegistry::discover(&plugins, &data.plugin_cache())
        .with_context(|| format!("cannot read the plugins folder {}", plugins.display()))?;
    for p in static_plugins {
        registry.register(p)?;
    }
    let loaded = reports
        .iter()
        .filter(|r| matches!(r.status, PluginStatus::Ok))
        .count();
    tracing::info!(
        "{loaded} plugin(s) loaded from {} ({} refused)",
        plugins.display(),
        reports.len() - loaded
    );
    config::validate(&config, &registry, &origin)?;

    let store = Store::open(&data.store())?;
    let timeouts = Timeouts {
        lifecycle: config.engine.timeouts.lifecycle.0,
        data: config.engine.timeouts.data.0,
    };
    let latency = Arc::new(Mutex::new(
        hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .context("latency histogram")?,
    ));

    // Norths and their queues.
    let mut queues = Vec::new();
    let mut routes: HashMap<String, Routes> = HashMap::new();
    for n in config.north.iter().filter(|n| n.enabled) {
        let queue = Arc::new(NorthQueue::open(
            &n.id,
            store.clone(),
            n.caching.clone(),
            data.north_files(&n.id),
        )?);
        // A North whose plugin is not there yet queues both values and files meanwhile.
        let caps = registry
            .connector_type(&n.type_id)
            .map(|(_, m)| m.capabilities.clone())
            .unwrap_or_else(|| vec![Capability::HandlesValues, Capability::HandlesFile]);
        for s in config.south.iter().filter(|s| s.enabled) {
            if n.subscriptions.is_empty() || n.subscriptions.contains(&s.id) {
                let r = routes.entry(s.id.clone()).or_default();
                if caps.contains(&Capability::HandlesValues) {
                    r.values.push(queue.clone());
                }
                if caps.contains(&Capability::HandlesFile) {
                    r.files.push(queue.clone());
                }
            }
        }
        queues.push((n, queue));
    }
    for s in config.south.iter().filter(|s| s.enabled) {
        if routes
            .get(&s.id)
            .is_none_or(|r| r.values.is_empty() && r.files.is_empty())
        {
            tracing::warn!(
                "South {:?} feeds no enabled North: its data will be refused and stay at the source",
                s.id
            );
        }
    }

    // Connectors: Norths first, so that the Souths' data has somewhere to go.
    let mut statuses = Vec::new();
    let mut south_statuses = HashMap::new();
    let mut slots = Vec::new();
    for (n, q) in &queues {
        let status = new_status(&registry, &n.id, ConnectorKind::North, &n.type_id);
        statuses.push(status.clone());
        slots.push(Slot::new(Role::North((*n).clone(), q.clone()), status));
    }
    for s in config.south.iter().filter(|s| s.enabled) {
        let status = new_status(&registry, &s.id, ConnectorKind::South, &s.type_id);
        south_statuses.insert(s.id.clone(), status.clone());
        statuses.push(status.clone());
        slots.push(Slot::new(Role::South(s.clone()), status));
    }
    let shared = Shared {
        router: Arc::new(Router::new(
            store.clone(),
            routes,
            south_statuses,
            latency.clone(),
        )),
        store: store.clone(),
        data: data.clone(),
        timeouts,
        reconnect: config.engine.reconnect.clone(),
        scan_modes: config.scan_modes.clone(),
    };
    let mut folder = PluginFolder::new(plugins.clone(), data.plugin_cache(), registry, reports);
    for i in 0..slots.len() {
        let Some((plugin, _)) = folder.registry.connector_type(slots[i].type_id()) else {
            slots[i].status.set(State::WaitingForPlugin);
            continue;
        };
        let plugin = plugin.clone();
        if let Err(e) = slots[i].start(&plugin, &shared) {
            // Never half-configured: stop what started, report.
            for started in &mut slots[..i] {
                started.stop(State::Stopped).await;
            }
            return Err(e.into());
        }
    }

    let board = Arc::new(StatusBoard {
        engine: config.engine.name.clone(),
        started: Timestamp::now(),
        connectors: statuses,
        queues: queues.iter().map(|(_, q)| q.clone()).collect(),
        latency,
        plugins: Mutex::new((folder.reports(), folder.loaded_versions())),
    });

    // Status document, archive retention.
    let status_path = data.status();
    let status_board = board.clone();
    let status_cancel = CancellationToken::new();
    let status_task = {
        let cancel = status_cancel.clone();
        let queues: Vec<Arc<NorthQueue>> = board.queues.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut n = 0u64;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if let Err(e) = status_board.write(&status_path) {
                    tracing::warn!("cannot write {}: {e}", status_path.display());
                }
                n += 1;
                // Removals of sent records are committed without fsync; a periodic durable
                // commit bounds what a crash resends and lets the store reuse their pages.
                if n.is_multiple_of(10)
                    && let Err(e) = store.flush().await
                {
                    tracing::warn!("{e}");
                }
                if n % 600 == 1 {
                    for q in &queues {
                        q.purge_archive();
                    }
                }
            }
        })
    };
    tracing::info!(
        "engine {:?} running: {} South(s), {} North(s)",
        config.engine.name,
        config.south.iter().filter(|s| s.enabled).count(),
        queues.len()
    );

    // The plugins folder is watched; a periodic look catches files that were still being copied.
    let (_watcher, mut changes) = plugins::watch(&plugins)
        .with_context(|| format!("cannot watch the plugins folder {}", plugins.display()))?;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(()) = changes.recv() => {
                // Let a burst of events (a copy in progress) settle.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while changes.try_recv().is_ok() {}
            }
            _ = tick.tick() => {}
        }
        folder.rescan(&mut slots, &shared).await;
        if let Ok(mut p) = board.plugins.lock() {
            *p = (folder.reports(), folder.loaded_versions());
        }
    }
    tracing::info!("stopping");
    // Souths first, so that nothing new arrives; then the Norths (their queues stay on disk).
    for slot in slots.iter_mut().filter(|s| s.is_south()) {
        slot.stop(State::Stopped).await;
    }
    for slot in slots.iter_mut().filter(|s| !s.is_south()) {
        slot.stop(State::Stopped).await;
    }
    store.flush().await?;
    status_cancel.cancel();
    let _ = status_task.await;
    board.write(&data.status())?;
    tracing::info!("stopped");
    Ok(())
}

fn new_status(
    registry: &PluginRegistry,
    id: &str,
    kind: ConnectorKind,
    type_id: &str,
) -> Arc<ConnectorStatus> {
    let plugin = registry
        .connector_type(type_id)
        .map(|(p, _)| format!("{} {}", p.manifest().id, p.manifest().version))
        .unwrap_or_default();
    Arc::new(ConnectorStatus::new(id, kind, type_id, &plugin))
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
