//! One configured connector: its configuration and status, and its running instance (the
//! connector in one plugin version, with its supervisor and its scan timers or sender), which can
//! be stopped and started again on another version. A North's queue belongs to the slot, not to
//! the instance: it survives stops and upgrades untouched.

use super::{
    data_dir::DataDir,
    north::NorthSender,
    router::Router,
    south::{self, SouthHooks, SouthRunner},
    status::{ConnectorStatus, State},
    supervisor::{Hooks, NoHooks, supervise},
};
use crate::{
    cache::{NorthQueue, Store},
    config::{self, NorthConfig, ReconnectConfig, ScanModeConfig, SouthConfig},
    connector::{self, ConnectorError, ConnectorSpec, Timeouts},
    loader::LoadedPlugin,
};
use oibus_plugin_api::Capability;
use std::{sync::Arc, time::Duration};
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// What every connector start needs.
pub struct Shared {
    /// Where Souths' data goes.
    pub router: Arc<Router>,
    /// The store (history instants).
    pub store: Store,
    /// The data folder.
    pub data: DataDir,
    /// Time-outs of plugin calls.
    pub timeouts: Timeouts,
    /// Reconnection back-off.
    pub reconnect: ReconnectConfig,
    /// The scan modes.
    pub scan_modes: Vec<ScanModeConfig>,
    /// Where connectors run, and how their child processes start.
    pub isolation: Isolating,
}

/// The engine's isolation settings.
#[derive(Clone, Default)]
pub struct Isolating {
    /// `[engine.plugins]`.
    pub plugins: crate::config::PluginsConfig,
    /// The `oibus` executable that runs plugin hosts; `None` where the engine is embedded
    /// without it (benchmarks), where process isolation is refused.
    pub exe: Option<std::path::PathBuf>,
}

impl Isolating {
    /// The child settings of a connector of `plugin` whose own setting is `own`; `None`: it runs
    /// in this process.
    pub fn for_connector(
        &self,
        connector: &str,
        plugin: &LoadedPlugin,
        own: Option<crate::config::Isolation>,
    ) -> Result<Option<crate::connector::ChildSettings>, ConnectorError> {
        let mode = self.plugins.isolation_of(&plugin.manifest().id, own);
        if mode == crate::config::Isolation::InProcess {
            return Ok(None);
        }
        let exe = self.exe.clone().ok_or_else(|| ConnectorError::Host {
            connector: connector.to_string(),
            message: "isolation = \"process\" needs the oibus executable, which this embedding \
                      of the engine does not have"
                .into(),
        })?;
        Ok(Some(crate::connector::ChildSettings {
            exe,
            limits: crate::isolation::process::Limits {
                max_memory: self.plugins.max_memory.map(|b| b.0),
            },
            crash_limit: self.plugins.crash_limit,
            crash_window: self.plugins.crash_window.0,
        }))
    }
}

/// South or North, with its configuration.
pub enum Role {
    /// A source (shared with its scan timers: a South's items can be 100,000).
    South(Arc<SouthConfig>),
    /// A destination and its queue.
    North(Box<NorthConfig>, Arc<NorthQueue>),
}

struct Running {
    plugin: LoadedPlugin,
    connector: Arc<crate::connector::ConnectorHandle>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    connected: watch::Receiver<bool>,
}

/// One configured connector.
pub struct Slot {
    /// Its role and configuration.
    pub role: Role,
    /// Its status.
    pub status: Arc<ConnectorStatus>,
    running: Option<Running>,
}

impl Slot {
    /// A slot, not running.
    pub fn new(role: Role, status: Arc<ConnectorStatus>) -> Self {
        Self {
            role,
            status,
            running: None,
        }
    }

    /// The connector id.
    pub fn id(&self) -> &str {
        match &self.role {
            Role::South(s) => &s.id,
            Role::North(n, _) => &n.id,
        }
    }

    /// The connector type.
    pub fn type_id(&self) -> &str {
        match &self.role {
            Role::South(s) => &s.type_id,
            Role::North(n, _) => &n.type_id,
        }
    }

    /// The requirement on its plugin's version (`plugin_version`), if it is pinned. Checked
    /// when the configuration is validated.
    pub fn pin(&self) -> Option<semver::VersionReq> {
        let pin = match &self.role {
            Role::South(s) => s.plugin_version.as_deref(),
            Role::North(n, _) => n.plugin_version.as_deref(),
        }?;
        semver::VersionReq::parse(pin).ok()
    }

    /// Whether its pin (if any) allows `plugin`.
    pub fn allows(&self, plugin: &LoadedPlugin) -> bool {
        self.pin().is_none_or(|req| req.matches(plugin.version()))
    }

    /// Whether this is a South.
    pub fn is_south(&self) -> bool {
        matches!(self.role, Role::South(_))
    }

    /// The plugin version it runs on, if running.
    pub fn plugin(&self) -> Option<&LoadedPlugin> {
        self.running.as_ref().map(|r| &r.plugin)
    }

    /// The token cancelled when the running instance stops, if any.
    pub fn cancel_token(&self) -> Option<CancellationToken> {
        self.running.as_ref().map(|r| r.cancel.clone())
    }

    /// The running connector, if any.
    pub fn connector(&self) -> Option<Arc<crate::connector::ConnectorHandle>> {
        self.running.as_ref().map(|r| r.connector.clone())
    }

    /// Whether it runs and is connected now.
    pub fn is_connected(&self) -> bool {
        self.running.as_ref().is_some_and(|r| *r.connected.borrow())
    }

    /// Creates the connector in `plugin` and starts its tasks. Fails, starting nothing, if the
    /// settings do not fit the plugin's schema or the plugin refuses to create it.
    pub fn start(&mut self, plugin: &LoadedPlugin, shared: &Shared) -> Result<(), ConnectorError> {
        let (id, type_id, settings, own) = match &self.role {
            Role::South(s) => (&s.id, &s.type_id, &s.settings, s.isolation),
            Role::North(n, _) => (&n.id, &n.type_id, &n.settings, n.isolation),
        };
        let isolation = shared.isolation.for_connector(id, plugin, own)?;
        let state_dir = shared.data.connector_state(id);
        std::fs::create_dir_all(&state_dir).map_err(|e| ConnectorError::Engine {
            connector: id.clone(),
            message: format!("cannot create {}: {e}", state_dir.display()),
        })?;
        let connector = Arc::new(connector::create_in(
            plugin,
            ConnectorSpec {
                id,
                type_id,
                settings,
                state_dir,
                plugins_data: shared.data.plugins_data(),
                timeouts: shared.timeouts,
                reports: self.status.reports.clone(),
                isolation,
            },
            shared.router.clone(),
            tokio::runtime::Handle::current(),
        )?);
        self.status.set_plugin(connector.plugin());
        self.status.clear_error();
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (connected_tx, connected_rx) = watch::channel(false);
        let (lost_tx, lost_rx) = mpsc::channel(4);
        let span = connector.span().clone();
        let handle = connector.clone();
        // The plugin's own reports of a lost connection go to the supervisor like ours.
        if let Some(mut reports) = connector.take_connection_lost() {
            let (lost, cancel) = (lost_tx.clone(), cancel.clone());
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        r = reports.recv() => match r {
                            Some(reason) => { let _ = lost.try_send(reason); }
                            None => return,
                        },
                    }
                }
            });
        }
        let scans = tokio_util::task::TaskTracker::new();
        // The items as the plugin receives them, made once per start.
        let (mut scanned, subscribed) = match &self.role {
            Role::South(s) => {
                let schema = plugin
                    .manifest()
                    .connector_type(&s.type_id)
                    .and_then(|m| m.item_schema.as_ref());
                south::items(s, schema)
                    .into_iter()
                    .partition(|i| i.scan_mode.as_str() != config::SUBSCRIPTION)
            }
            Role::North(..) => (Vec::new(), Vec::new()),
        };
        let hooks: Arc<dyn Hooks> = match &self.role {
            Role::South(_) => Arc::new(SouthHooks {
                connector: connector.clone(),
                subscribed,
                scans: scans.clone(),
                status: self.status.clone(),
            }),
            Role::North(..) => Arc::new(NoHooks),
        };
        tasks.spawn(
            supervise(
                connector.clone(),
                self.status.clone(),
                shared.reconnect.clone(),
                hooks,
                connected_tx,
                lost_rx,
                cancel.clone(),
            )
            .instrument(span.clone()),
        );
        match &self.role {
            Role::South(s) => {
                let query = plugin
                    .manifest()
                    .connector_type(&s.type_id)
                    .and_then(|m| config::query_kind(s.query, m).ok().flatten());
                // Read from the store only for a South that reads history.
                let history = query == Some(config::QueryKind::History);
                let edge = Arc::new(match history {
                    true => super::history_edge::Edge::load(
                        &s.id,
                        shared
                            .store
                            .state(&super::history_edge::state_key(&s.id))
                            .ok()
                            .flatten()
                            .as_deref(),
                    ),
                    false => super::history_edge::Edge::new(&s.id),
                });
                shared.router.set_edge(&s.id, history.then(|| edge.clone()));
                SouthRunner {
                    connector,
                    config: Arc::clone(s),
                    query,
                    status: self.status.clone(),
                    store: shared.store.clone(),
                    connected: connected_rx.clone(),
                    lost: lost_tx,
                    scans,
                    edge,
                }
                .spawn(
                    std::mem::take(&mut scanned),
                    &shared.scan_modes,
                    &cancel,
                    &mut tasks,
                );
            }
            Role::North(n, queue) => {
                let file_batches = plugin
                    .manifest()
                    .connector_type(&n.type_id)
                    .is_some_and(|m| m.capabilities.contains(&Capability::HandlesFileBatches));
                let sender = NorthSender {
                    file_batches,
                    connector,
                    queue: queue.clone(),
                    caching: n.caching.clone(),
                    status: self.status.clone(),
                    connected: connected_rx.clone(),
                    lost: lost_tx,
                };
                tasks.spawn(sender.run(cancel.clone()).instrument(span));
            }
        }
        self.running = Some(Running {
            plugin: plugin.clone(),
            connector: handle,
            cancel,
            tasks,
            connected: connected_rx,
        });
        Ok(())
    }

    /// Waits up to `limit` for the running instance to be connected.
    pub async fn wait_connected(&mut self, limit: Duration) -> bool {
        let Some(r) = &mut self.running else {
            return false;
        };
        let mut rx = r.connected.clone();
        tokio::time::timeout(limit, rx.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stops the running instance (if any) and waits for its tasks; then sets `state`.
    pub async fn stop(&mut self, state: State) {
        if let Some(mut r) = self.running.take() {
            r.cancel.cancel();
            while r.tasks.join_next().await.is_some() {}
        }
        self.status.set(state);
    }
}
