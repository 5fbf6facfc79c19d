//! The engine: plugins, connectors, caches and schedules assembled from a configuration, run
//! until shutdown.

mod background;
pub mod commands;
pub mod durations;
pub mod frontend;
pub mod history;
pub mod history_edge;
pub mod memory;
mod north;
pub mod plugins;
mod router;
pub mod schedule;
mod slot;
mod south;
pub mod status;
mod supervisor;

pub use frontend::{Frontend, RunningFrontend};
pub(crate) use slot::Role;
pub use status::{ConnectorSnapshot, Snapshot, State};
pub use supervisor::backoff;

use crate::{
    cache::{NorthQueue, Store},
    config::{self, Config},
    connector::{self, Timeouts},
    plugin::{PluginRegistry, PluginStatus},
};
use anyhow::Context as _;
use oibus_plugin_api::{Capability, ConnectorKind, Timestamp};
use plugins::PluginFolder;
use router::Router;
use slot::{Shared, Slot};
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
    /// The versions forced by the operator (`oibus plugins force`), kept across restarts.
    pub fn plugin_choices(&self) -> PathBuf {
        self.0.join("plugin-choices.json")
    }
    /// Trusted public keys of plugin signers (`*.pub`, minisign's format).
    pub fn trusted_keys(&self) -> PathBuf {
        self.0.join("trusted-keys")
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
    /// The folders plugins share between their connectors (`ctx.plugin_dir()`), one per plugin.
    pub fn plugins_data(&self) -> PathBuf {
        self.0.join("plugin-data")
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
    /// The file it is saved to when changed through the admin API (`None`: the embedded demo,
    /// which cannot be changed).
    pub config_file: Option<PathBuf>,
    /// The variables expanded in `config` (`data_dir`, `config_dir`), so that a save through the
    /// admin API recognises the unchanged text that uses them and keeps it.
    pub variables: Vec<(&'static str, String)>,
    /// The data folder.
    pub data: DataDir,
    /// The plugins folder.
    pub plugins: PathBuf,
    /// Plugins linked into the binary, registered after those of the folder (benchmarks).
    pub static_plugins: Vec<crate::plugin::LoadedPlugin>,
    /// What is served beside the engine once its connectors run (the admin API).
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
) -> anyhow::Result<crate::plugin::LoadOptions> {
    let p = &config.engine.plugins;
    let trust =
        crate::plugin::Trust::load(p.signatures, Some(&data.trusted_keys()), &p.trusted_keys)
            .map_err(anyhow::Error::msg)?;
    if p.signatures != crate::plugin::SignaturePolicy::Off {
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
    Ok(crate::plugin::LoadOptions {
        cache_dir: data.plugin_cache(),
        trust: Arc::new(trust),
        probe: host_exe.map(|exe| crate::plugin::Probe {
            prober: Arc::new(crate::isolation::ChildProber::new(
                exe.to_path_buf(),
                p.probe_timeout.0,
                Some(data.plugin_cache().join("verdicts")),
            )),
            always: false,
        }),
    })
}

/// The running engine: what the main loop and the admin API's commands act on.
pub struct Engine {
    pub(crate) config: Config,
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) variables: Vec<(&'static str, String)>,
    pub(crate) data: DataDir,
    pub(crate) store: Store,
    pub(crate) shared: Shared,
    pub(crate) folder: PluginFolder,
    pub(crate) slots: Vec<Slot>,
    pub(crate) queues: HashMap<String, Arc<NorthQueue>>,
    pub(crate) board: Arc<StatusBoard>,
}

impl Engine {
    /// Rebuilds the routes and the status list from the configuration and the slots.
    pub(crate) fn reroute(&self) {
        let mut table = router::Table::default();
        for slot in &self.slots {
            if let Role::South(s) = &slot.role {
                table.souths.insert(s.id.clone(), slot.status.clone());
            }
        }
        for n in self.config.north.iter().filter(|n| n.enabled) {
            let Some(queue) = self.queues.get(&n.id) else {
                continue;
            };
            // A North whose plugin is not there yet queues both values and files meanwhile.
            let caps = self
                .folder
                .registry
                .connector_type(&n.type_id)
                .map(|(_, m)| m.capabilities.clone())
                .unwrap_or_else(|| vec![Capability::HandlesValues, Capability::HandlesFile]);
            for s in self.config.south.iter().filter(|s| s.enabled) {
                if n.subscriptions.is_empty() || n.subscriptions.contains(&s.id) {
                    let r = table.routes.entry(s.id.clone()).or_default();
                    if caps.contains(&Capability::HandlesValues) {
                        r.values.push(queue.clone());
                    }
                    if caps.contains(&Capability::HandlesFile) {
                        r.files.push(queue.clone());
                    }
                }
            }
        }
        for s in self.config.south.iter().filter(|s| s.enabled) {
            if table
                .routes
                .get(&s.id)
                .is_none_or(|r| r.values.is_empty() && r.files.is_empty())
            {
                tracing::warn!(
                    "South {:?} feeds no enabled North: its data will be refused and stay at the source",
                    s.id
                );
            }
        }
        self.shared.router.set(table);
        if let Ok(mut c) = self.board.connectors.lock() {
            *c = self.slots.iter().map(|s| s.status.clone()).collect();
        }
        if let Ok(mut q) = self.board.queues.lock() {
            *q = self.queues.values().cloned().collect();
        }
    }

    /// A slot for a North (opening its queue) or a South, not started.
    pub(crate) fn new_slot(&mut self, role: Role) -> anyhow::Result<Slot> {
        let (id, kind, type_id, pin) = match &role {
            Role::South(s) => (
                s.id.clone(),
                ConnectorKind::South,
                s.type_id.clone(),
                s.plugin_version.clone(),
            ),
            Role::North(n, _) => (
                n.id.clone(),
                ConnectorKind::North,
                n.type_id.clone(),
                n.plugin_version.clone(),
            ),
        };
        let status = new_status(&self.folder.registry, &id, kind, &type_id, pin);
        if let Ok(Some(stored)) = self.store.state(&status::counters_key(&id)) {
            status.restore_counters(&stored);
        }
        Ok(Slot::new(role, status))
    }

    /// Opens (or reopens) the queue of a North.
    pub(crate) fn open_queue(
        &mut self,
        n: &config::NorthConfig,
    ) -> anyhow::Result<Arc<NorthQueue>> {
        let queue = Arc::new(NorthQueue::open(
            &n.id,
            self.store.clone(),
            n.caching.clone(),
            self.data.north_files(&n.id),
        )?);
        self.queues.insert(n.id.clone(), queue.clone());
        Ok(queue)
    }

    /// Starts a slot on the plugin providing its type, or marks it waiting.
    pub(crate) fn start_slot(&mut self, index: usize) -> Result<(), connector::ConnectorError> {
        let slot = &mut self.slots[index];
        let Some(plugin) = self.folder.plugin_for(slot) else {
            slot.status.set(State::WaitingForPlugin);
            return Ok(());
        };
        slot.start(&plugin, &self.shared)
    }

    /// Publishes the plugins folder's state to the status.
    pub(crate) fn publish_plugins(&self) {
        if let Ok(mut p) = self.board.plugins.lock() {
            *p = (self.folder.reports(), self.folder.loaded_versions());
        }
    }

    /// Stops every connector: Souths first, so that nothing new arrives; then the Norths (their
    /// queues stay on disk). The connectors of each side stop together, so that one whose stop
    /// takes its whole time-out does not hold up the others (nor keeps them retrying meanwhile).
    async fn stop_all(&mut self) {
        futures_util::future::join_all(
            self.slots
                .iter_mut()
                .filter(|s| s.is_south())
                .map(|s| s.stop(State::Stopped)),
        )
        .await;
        futures_util::future::join_all(
            self.slots
                .iter_mut()
                .filter(|s| !s.is_south())
                .map(|s| s.stop(State::Stopped)),
        )
        .await;
    }
}

/// Loads the plugins, validates the configuration, creates every enabled connector and runs them
/// until `shutdown` is cancelled. Fails before starting anything if the configuration or a
/// connector cannot be set up.
pub async fn run(options: EngineOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    // `oibus run` did it before its threads started; an engine embedded elsewhere does it here.
    memory::limit_arenas();
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
    let forced = plugins::load_choices(&choices_file);
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
    memory::release_freed();
    tracing::info!(
        "engine {:?} running: {} South(s), {} North(s)",
        engine.config.engine.name,
        engine.slots.iter().filter(|s| s.is_south()).count(),
        engine.slots.iter().filter(|s| !s.is_south()).count(),
    );

    // The plugins folder is watched. A change schedules a look 200 ms later (a burst of events,
    // a copy in progress, is one look); a file still being copied schedules another; without
    // events, the folder is looked at every SAFETY_INTERVAL. Commands are served meanwhile.
    let (_watcher, mut changes) = plugins::watch(&plugins)
        .with_context(|| format!("cannot watch the plugins folder {}", plugins.display()))?;
    let settle = Duration::from_millis(200);
    let mut next_look = tokio::time::Instant::now() + plugins::SAFETY_INTERVAL;
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
                plugins::SAFETY_INTERVAL
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

impl Engine {
    /// Looks at the plugins folder again and applies what changed.
    /// Returns whether a file was left for later (still being copied).
    pub(crate) async fn rescan(&mut self) -> bool {
        tracing::debug!("looking at the plugins folder");
        let pending = self.folder.rescan(&mut self.slots, &self.shared).await;
        self.reroute();
        self.publish_plugins();
        pending
    }
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

fn new_status(
    registry: &PluginRegistry,
    id: &str,
    kind: ConnectorKind,
    type_id: &str,
    pin: Option<String>,
) -> Arc<ConnectorStatus> {
    let plugin = registry
        .connector_type(type_id)
        .map(|(p, _)| format!("{} {}", p.manifest().id, p.manifest().version))
        .unwrap_or_default();
    let mut status = ConnectorStatus::new(id, kind, type_id, &plugin);
    status.pin = pin;
    Arc::new(status)
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
