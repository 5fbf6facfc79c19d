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
    cache::{NorthQueue, Store, ValueLog},
    config::{self, Config},
    connector::{self},
    loader::PluginRegistry,
};
use oibus_plugin_api::{Capability, ConnectorKind};
use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::Arc,
};

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
    /// The Souths' logs, by South id (opened when first routed, or found in the store).
    pub(crate) logs: std::sync::Mutex<HashMap<String, Arc<ValueLog>>>,
    /// Norths into whose own queue a South's log moved values (a North that left it) since
    /// the queues were last published; changed only with `board.queues` locked.
    pub(crate) moved_in: Arc<std::sync::Mutex<HashSet<String>>>,
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
        // Each South's log is read by the Norths receiving its values, disabled Souths
        // included (their Norths still send what the log holds).
        let mut readers: HashMap<&str, Vec<&config::NorthConfig>> = HashMap::new();
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
            for s in &self.config.south {
                if !n.subscriptions.is_empty() && !n.subscriptions.contains(&s.id) {
                    continue;
                }
                if caps.contains(&Capability::HandlesValues) {
                    readers.entry(s.id.as_str()).or_default().push(n);
                }
                if !s.enabled {
                    continue;
                }
                let r = table.routes.entry(s.id.clone()).or_default();
                if caps.contains(&Capability::HandlesValues) {
                    r.values.push(queue.clone());
                }
                if caps.contains(&Capability::HandlesFile) {
                    r.files.push(queue.clone());
                }
            }
        }
        let logs = self.route_logs(&readers);
        for (south, r) in &mut table.routes {
            r.log = logs.get(south).cloned();
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
            // A queue opened before a move into it committed, and published only now, has
            // not seen the moved batches (the move found no queue to tell): it reads them.
            let moved =
                std::mem::take(&mut *self.moved_in.lock().unwrap_or_else(|p| p.into_inner()));
            for queue in q.iter().filter(|q| moved.contains(q.id())) {
                if let Err(e) = queue.catch_up_values() {
                    tracing::error!(north = queue.id(), "{e}");
                }
            }
        }
        if let Ok(mut l) = self.board.logs.lock() {
            *l = logs.values().cloned().collect();
        }
    }

    /// Opens every South's log (of the configuration, and any the store holds), makes the
    /// Norths of `readers` read their South's log and the others leave it once they have sent
    /// what they had, and tells each North the logs it reads. Returns the logs by South.
    fn route_logs(
        &self,
        readers: &HashMap<&str, Vec<&config::NorthConfig>>,
    ) -> HashMap<String, Arc<ValueLog>> {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        let mut souths: Vec<String> = self.config.south.iter().map(|s| s.id.clone()).collect();
        match crate::cache::log::souths_in(&self.store) {
            Ok(found) => souths.extend(found),
            Err(e) => tracing::error!("{e}"),
        }
        for south in souths {
            if logs.contains_key(&south) {
                continue;
            }
            match ValueLog::open(self.store.clone(), &south) {
                Ok(log) => {
                    logs.insert(south, log);
                }
                Err(e) => tracing::error!(south, "cannot open the South's log: {e}"),
            }
        }
        for (south, log) in logs.iter() {
            let wanted = readers.get(south.as_str()).map_or(&[][..], Vec::as_slice);
            let retention = self
                .config
                .south
                .iter()
                .find(|s| &s.id == south)
                .map(|s| s.retention.clone())
                .unwrap_or_default();
            let chunk = wanted
                .iter()
                .map(|n| n.caching.max_send_count)
                .min()
                .unwrap_or(config::CachingConfig::default().max_send_count);
            log.configure(retention, chunk);
            for n in wanted {
                if let Err(e) = log.start_for(&n.id, n.caching.start_from) {
                    tracing::error!(south, north = n.id, "{e}");
                }
            }
            for north in log.readers() {
                if wanted.iter().any(|n| n.id == north) {
                    continue;
                }
                // What it has not sent moves to its own queue, once appends in flight are in.
                let (log, board, moved_in) =
                    (log.clone(), self.board.clone(), self.moved_in.clone());
                let own = NorthQueue::own_values_table(&north);
                tokio::spawn(async move {
                    match log.stop_for(&north, &own).await {
                        Ok(Some((op, keys))) => {
                            tracing::info!(
                                south = log.south(),
                                north,
                                "{} batch(es) it had not sent moved to its own queue",
                                keys.len()
                            );
                            // The North's queue as published now (it may have been opened
                            // again meanwhile) indexes them; one opened after the commit read
                            // them already; one opened before and published later catches up
                            // when it is published (`moved_in`, under the same lock).
                            let queues = board.queues.lock().unwrap_or_else(|p| p.into_inner());
                            moved_in
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(north.clone());
                            if let Some(q) = queues.iter().find(|q| q.id() == north) {
                                q.appended_values(&op, &keys);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(south = log.south(), north, "{e}"),
                    }
                });
            }
        }
        for (id, q) in &self.queues {
            q.set_logs(
                logs.values()
                    .filter(|l| l.is_read_by(id))
                    .cloned()
                    .collect(),
            );
        }
        logs.clone()
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
