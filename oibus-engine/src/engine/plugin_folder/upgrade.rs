//! Taking a file into use: a new plugin's types offered, a higher version taking over its
//! running connectors (rolled back if it does not connect), a lower one refused, a removed file
//! stopping its connectors until it comes back, a renamed copy continuing.

use super::{
    folder::{PluginFolder, report_of},
    stamp::stamp,
};
use crate::engine::{
    slot::{Shared, Slot},
    status::{State, UpgradeRecord},
};
use crate::loader::{LoadedPlugin, PluginReport, PluginStatus, library, registry};
use std::{
    path::{Path, PathBuf},
    time::Instant,
};

impl PluginFolder {
    /// The file `path` no longer holds the plugin of `report` (`how`: removed, overwritten…):
    /// if that plugin was in use from it, its connectors stop until it comes back, unless another
    /// file of `files` has the same content.
    pub(super) async fn file_gone(
        &mut self,
        path: &Path,
        report: PluginReport,
        how: &str,
        files: &[PathBuf],
        slots: &mut [Slot],
    ) {
        let Some(m) = report
            .manifest
            .filter(|_| report.status == PluginStatus::Ok)
        else {
            return;
        };
        let in_use = self
            .registry
            .get(&m.id)
            .is_some_and(|p| p.file() == path && p.manifest().version == m.version);
        if in_use && self.continue_from_copy(&m.id, path, files) {
            return;
        }
        if in_use {
            tracing::warn!(
                "plugin {} {} {how} ({}): its connectors stop until it comes back",
                m.id,
                m.version,
                path.display()
            );
            for slot in slots.iter_mut() {
                if slot.plugin().is_some_and(|p| p.manifest().id == m.id) {
                    slot.stop(State::PluginRemoved).await;
                }
            }
            self.registry.remove(&m.id);
        }
    }

    /// When the file in use of plugin `id` is gone but another file of the folder has the same
    /// content (a copy, a rename), the plugin continues from that file: its connectors go on.
    pub(super) fn continue_from_copy(&mut self, id: &str, gone: &Path, files: &[PathBuf]) -> bool {
        let Some(current) = self.registry.get(id).cloned() else {
            return false;
        };
        for file in files.iter().filter(|f| f.as_path() != gone) {
            let known_other = self.seen.get(file).is_some_and(|(_, r)| {
                r.manifest.as_ref().is_none_or(|m| m.id != id)
                    || matches!(r.status, PluginStatus::Refused { .. })
            });
            if known_other {
                continue;
            }
            let Ok(copy) = library::load(file, &self.options) else {
                continue;
            };
            if copy.sha256() != current.sha256() || self.registry.replace(copy.clone()).is_err() {
                continue;
            }
            tracing::info!(
                "plugin {id} {} continues from {} (the same content as the removed {})",
                copy.manifest().version,
                file.display(),
                gone.display()
            );
            if let Some(now) = stamp(file) {
                self.seen
                    .insert(file.clone(), (now, PluginReport::ok(file.clone(), &copy)));
            }
            if !self.loaded.iter().any(|p| p.sha256() == copy.sha256()) {
                self.loaded.push(copy);
            }
            return true;
        }
        false
    }

    /// Uses `path` whatever its version, and records nothing.
    pub(super) async fn use_file(
        &mut self,
        path: &Path,
        slots: &mut [Slot],
        shared: &Shared,
    ) -> Result<(PluginReport, LoadedPlugin), String> {
        // A file unchanged since it was loaded is used as loaded: loading it again would map
        // another copy of the library, listed twice, for every force and unforce.
        let unchanged = self
            .seen
            .get(path)
            .is_some_and(|(s, _)| stamp(path).is_some_and(|now| *s == now));
        let known = self
            .loaded
            .iter()
            .find(|p| unchanged && p.file() == path)
            .cloned();
        let plugin = match known {
            Some(p) => p,
            None => {
                let p = library::load(path, &self.options).map_err(|e| e.to_string())?;
                self.loaded.push(p.clone());
                p
            }
        };
        let status = self.consider(plugin.clone(), slots, shared, true).await;
        let report = report_of(path, &plugin, status);
        if let Some(now) = stamp(path) {
            self.seen.insert(path.to_path_buf(), (now, report.clone()));
        }
        Ok((report, plugin))
    }

    /// What to do with a freshly loaded plugin file.
    pub(super) async fn consider(
        &mut self,
        plugin: LoadedPlugin,
        slots: &mut [Slot],
        shared: &Shared,
        force: bool,
    ) -> PluginStatus {
        let m = plugin.manifest().clone();
        let refused = |reason: String| {
            tracing::warn!(
                "plugin {} {} ({}): {reason}",
                m.id,
                m.version,
                plugin.file().display()
            );
            PluginStatus::Refused { reason }
        };
        let Some(current) = self.registry.get(&m.id).cloned() else {
            return match self.registry.register(plugin.clone()) {
                Ok(()) => {
                    tracing::info!(
                        "plugin {} {} added ({})",
                        m.id,
                        m.version,
                        plugin.file().display()
                    );
                    PluginStatus::Ok
                }
                Err(e) => refused(e.reason()),
            };
        };
        let (new, old) = (plugin.version(), current.version());
        if current.sha256() == plugin.sha256() {
            return PluginStatus::Ok; // the same library under another name, or touched
        }
        if new == old {
            return refused(format!(
                "version {} is already loaded from {}",
                m.version,
                current.file().display()
            ));
        }
        let is_forced = self
            .choices
            .forced
            .get(&m.id)
            .is_some_and(|sha| sha == current.sha256());
        if (new < old || is_forced) && !force {
            let reason = registry::standby_reason(&current, current.file(), is_forced);
            tracing::info!(
                "plugin {} {} ({}) on standby: {reason}",
                m.id,
                m.version,
                plugin.file().display()
            );
            return PluginStatus::Standby { reason };
        }
        match self.switch(&current, &plugin, slots, shared).await {
            Ok(()) => {
                if let Err(e) = self.registry.replace(plugin.clone()) {
                    return refused(e.reason());
                }
                PluginStatus::Ok
            }
            Err(reason) => {
                // Not chosen again at the next start either.
                self.choices
                    .rolled_back
                    .insert(plugin.sha256().to_string(), reason.clone());
                self.save_choices();
                refused(reason)
            }
        }
    }

    /// Moves every connector running on `from` to `to`; if one does not start or connect in time,
    /// moves them all back and says why.
    pub(super) async fn switch(
        &mut self,
        from: &LoadedPlugin,
        to: &LoadedPlugin,
        slots: &mut [Slot],
        shared: &Shared,
    ) -> Result<(), String> {
        let (id, a, b) = (
            &from.manifest().id,
            &from.manifest().version,
            &to.manifest().version,
        );
        let limit = shared.timeouts.lifecycle;
        let mut moved: Vec<usize> = Vec::new();
        let mut failure = None;
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.plugin().is_none_or(|p| p.sha256() != from.sha256()) || !slot.allows(to) {
                continue; // not on this version, or pinned to it
            }
            let began = Instant::now();
            slot.stop(State::Stopped).await;
            moved.push(i);
            let connected = match slot.start(to, shared) {
                Ok(()) => slot.wait_connected(limit).await,
                Err(e) => {
                    failure = Some(format!("connector {:?}: {e}", slot.id()));
                    break;
                }
            };
            if !connected {
                let why = slot
                    .status
                    .last_error()
                    .unwrap_or_else(|| format!("not connected within {limit:?}"));
                failure = Some(format!("connector {:?}: {why}", slot.id()));
                break;
            }
            let downtime = began.elapsed();
            slot.status.upgraded(UpgradeRecord {
                from: format!("{id} {a}"),
                to: format!("{id} {b}"),
                downtime_ms: downtime.as_secs_f64() * 1e3,
                at: oibus_plugin_api::Timestamp::now(),
            });
            tracing::info!(
                "connector {:?} moved from {id} {a} to {b} (downtime {downtime:?})",
                slot.id()
            );
        }
        let Some(why) = failure else {
            let how = if to.version() < from.version() {
                "downgraded"
            } else {
                "upgraded"
            };
            tracing::info!("plugin {id} {how} from {a} to {b}");
            return Ok(());
        };
        tracing::error!("plugin {id} {b} failed ({why}): rolling back to {a}");
        for i in moved {
            slots[i].stop(State::Stopped).await;
            if let Err(e) = slots[i].start(from, shared) {
                tracing::error!("rollback of {:?} failed: {e}", slots[i].id());
                slots[i].status.set(State::Failed);
            }
            slots[i]
                .status
                .error(format!("upgrade to {id} {b} rolled back: {why}"));
        }
        Err(format!("upgrade from {a} rolled back: {why}"))
    }
}
