//! The running engine's state: its configuration, store, plugins folder, connectors (slots) and
//! North queues, and what the main loop and the commands both do with them (route, start a
//! connector, publish the plugins, look at the folder, stop everything).

use super::{
    data_dir::DataDir,
    plugin_folder::PluginFolder,
    router::{self},
    slot::{Role, Shared, Slot},
    status::{self, State},
    status::{ConnectorStatus, StatusBoard},
};
use crate::{
    cache::{NorthQueue, Store},
    config::{self, Config},
    connector::{self},
    loader::PluginRegistry,
};
use oibus_plugin_api::{Capability, ConnectorKind};
use std::{collections::HashMap, path::PathBuf, sync::Arc};

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
    pub(super) async fn stop_all(&mut self) {
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

pub(super) fn new_status(
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
