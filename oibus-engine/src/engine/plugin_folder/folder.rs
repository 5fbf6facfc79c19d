//! The plugins folder while the engine runs and what was loaded from it: looking at it again,
//! installing a file, forcing a version, the connectors waiting for a type.

use super::upload::PluginUpload;
use super::{
    choices::{load_choices, save_choices},
    stamp::{Stamp, stamp},
};
use crate::engine::{
    loaded_version::LoadedVersion,
    slot::{Shared, Slot},
    status::State,
};
use crate::loader::Choices;
use crate::loader::{
    LoadError, LoadedPlugin, PluginRegistry, PluginReport, PluginStatus, library, registry,
};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

/// A file younger than this may still be being copied: it is looked at again later.
const SETTLE: Duration = Duration::from_millis(500);

/// The report of a file from what [`PluginFolder::consider`] decided.
pub(super) fn report_of(path: &Path, plugin: &LoadedPlugin, status: PluginStatus) -> PluginReport {
    match status {
        PluginStatus::Ok => PluginReport::ok(path.to_path_buf(), plugin),
        PluginStatus::Standby { reason } => {
            PluginReport::standby(path.to_path_buf(), plugin, reason)
        }
        PluginStatus::Refused { reason } => PluginReport::refused_because(
            path.to_path_buf(),
            reason,
            Some(plugin.manifest().clone()),
            None,
        ),
    }
}

/// Why a file of the folder was not removed.
#[derive(Debug)]
pub enum RemoveError {
    /// Not a plugin file name.
    Invalid(String),
    /// No such file.
    NotFound(String),
    /// A connector runs on the plugin it holds.
    InUse(String),
    /// The system refused.
    Failed(String),
}

/// The plugins folder and what was loaded from it.
pub struct PluginFolder {
    pub(super) dir: PathBuf,
    pub(super) options: crate::loader::LoadOptions,
    /// Where the choices are recorded, and what they are.
    pub(super) choices_file: PathBuf,
    pub(super) choices: Choices,
    /// The plugin versions in use.
    pub registry: PluginRegistry,
    pub(super) seen: HashMap<PathBuf, (Stamp, PluginReport)>,
    pub(super) loaded: Vec<LoadedPlugin>,
    /// Files written whole by [`PluginFolder::install`]: the next scan need not wait for them
    /// to settle.
    pub(super) installed: std::collections::HashSet<PathBuf>,
}

pub(super) fn semver(v: &str) -> semver::Version {
    semver::Version::parse(v).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
}

impl PluginFolder {
    /// The folder with what discovery found at start-up.
    pub fn new(
        dir: PathBuf,
        options: crate::loader::LoadOptions,
        choices_file: PathBuf,
        registry: PluginRegistry,
        reports: Vec<PluginReport>,
    ) -> Self {
        let choices = load_choices(&choices_file);
        let seen = reports
            .into_iter()
            .filter_map(|r| Some((r.file.clone(), (stamp(&r.file)?, r))))
            .collect();
        let loaded = registry
            .plugins()
            .chain(registry.standby())
            .cloned()
            .collect();
        Self {
            dir,
            options,
            choices_file,
            choices,
            registry,
            seen,
            loaded,
            installed: Default::default(),
        }
    }

    /// Starts an upload of a plugin file or its signature (`<file>.minisig`) named `name`, of at
    /// most `limit` bytes: the front end streams it into the returned [`PluginUpload`].
    pub async fn open_upload(&self, name: &str, limit: u64) -> Result<PluginUpload, String> {
        PluginUpload::open(&self.dir, name, limit).await
    }

    /// Takes a finished upload: synced, checked to be a plugin library (else removed, and `Err`
    /// says why), renamed into place, replacing a file of that name. The next rescan takes it.
    pub async fn install(&mut self, mut upload: PluginUpload) -> Result<PathBuf, String> {
        let target = self.dir.join(&upload.name);
        upload.finish(&target).await?;
        oibus_platform::durable::rename(&upload.part, &target)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        tracing::info!(
            "{:?} written into the plugins folder ({} bytes, on request)",
            target,
            upload.written()
        );
        self.installed.insert(target.clone());
        Ok(target)
    }

    /// Removes the file `name` of the folder (a library or a signature) on an operator's
    /// request, unless a connector runs on the plugin it holds. The next rescan forgets it.
    pub fn remove(&mut self, name: &str, slots: &[Slot]) -> Result<PathBuf, RemoveError> {
        super::upload::check_name(name).map_err(RemoveError::Invalid)?;
        let target = self.dir.join(name);
        if !target.is_file() {
            return Err(RemoveError::NotFound(format!(
                "the plugins folder has no file {}",
                crate::config::limits::quoted(name)
            )));
        }
        let users: Vec<&str> = slots
            .iter()
            .filter(|s| s.plugin().is_some_and(|p| p.file() == target))
            .map(|s| s.id())
            .collect();
        if !users.is_empty() {
            return Err(RemoveError::InUse(format!(
                "{name} holds the plugin that connectors {} run on: delete or move them first, \
                 or upload a newer version of it",
                users.join(", ")
            )));
        }
        std::fs::remove_file(&target)
            .map_err(|e| RemoveError::Failed(format!("cannot remove {}: {e}", target.display())))?;
        tracing::info!("{:?} removed from the plugins folder (on request)", target);
        Ok(target)
    }

    /// One report per file of the folder.
    pub fn reports(&self) -> Vec<PluginReport> {
        let mut r: Vec<PluginReport> = self.seen.values().map(|(_, r)| r.clone()).collect();
        r.sort_by(|a, b| a.file.cmp(&b.file));
        r
    }

    /// Every plugin version loaded in the process.
    pub fn loaded_versions(&self) -> Vec<LoadedVersion> {
        self.loaded
            .iter()
            .map(|p| LoadedVersion {
                id: p.manifest().id.clone(),
                version: p.manifest().version.clone(),
                bytes: p.size(),
                in_use: self
                    .registry
                    .get(&p.manifest().id)
                    .is_some_and(|c| c.sha256() == p.sha256()),
                forced: self.choices.forced.get(&p.manifest().id) == Some(&p.sha256().to_string()),
                signer: p.signer().short(),
                runtime: None,
                plugin: Some(p.clone()),
            })
            .collect()
    }

    /// The plugin version `slot` runs on: the one in use for its type, or, if the slot is pinned
    /// to other versions, the highest loaded version that its pin allows.
    pub fn plugin_for(&self, slot: &Slot) -> Option<LoadedPlugin> {
        let (current, _) = self.registry.connector_type(slot.type_id())?;
        if slot.allows(current) {
            return Some(current.clone());
        }
        let id = &current.manifest().id;
        let pinned = self
            .loaded
            .iter()
            .filter(|p| p.manifest().id == *id && slot.allows(p))
            .filter(|p| p.file().exists())
            .max_by_key(|p| p.version().clone())
            .cloned();
        if pinned.is_none() {
            let why = format!(
                "pinned to plugin {id} {} (plugin_version), which is not in the plugins folder \
                 (in use: {})",
                slot.pin().map(|r| r.to_string()).unwrap_or_default(),
                current.manifest().version
            );
            tracing::warn!(connector = slot.id(), "{why}");
            slot.status.error(why);
        }
        pinned
    }

    /// Starts every slot waiting for its plugin (or for its removed plugin to come back) whose
    /// type a loaded plugin now provides. Connectors stopped by the operator stay stopped.
    pub fn start_waiting(&self, slots: &mut [Slot], shared: &Shared) {
        let waiting = |s: &Slot| {
            s.plugin().is_none()
                && matches!(
                    s.status.state(),
                    State::WaitingForPlugin | State::PluginRemoved
                )
        };
        for slot in slots.iter_mut().filter(|s| waiting(s)) {
            let Some(plugin) = self.plugin_for(slot) else {
                continue;
            };
            if let Err(e) = slot.start(&plugin, shared) {
                tracing::error!("{e}");
                slot.status.error(e.to_string());
                slot.status.set(State::Failed);
            }
        }
    }

    /// Looks at the folder again and applies what changed.
    ///
    /// Returns whether a file was left for later (still being copied): then look again soon.
    pub async fn rescan(&mut self, slots: &mut [Slot], shared: &Shared) -> bool {
        let mut pending = false;
        let files = match registry::library_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot read the plugins folder {}: {e}", self.dir.display());
                return false;
            }
        };
        // Removed files.
        let gone: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|p| !files.contains(p))
            .cloned()
            .collect();
        for path in gone {
            let Some((_, report)) = self.seen.remove(&path) else {
                continue;
            };
            self.file_gone(&path, report, "removed", &files, slots)
                .await;
        }
        // New or changed files.
        for path in files.iter().cloned() {
            let Some(now) = stamp(&path) else { continue };
            if self.seen.get(&path).is_some_and(|(s, _)| *s == now) {
                continue;
            }
            let whole = self.installed.remove(&path);
            let young = !whole
                && now
                    .modified
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age < SETTLE);
            if young {
                pending = true;
                continue; // still being written: next scan
            }
            let report = match library::load(&path, &self.options) {
                Err(e @ (LoadError::Truncated { .. } | LoadError::NotALibrary { .. }))
                    if !whole
                        && now
                            .modified
                            .and_then(|m| m.elapsed().ok())
                            .is_some_and(|age| age < SETTLE * 10) =>
                {
                    tracing::debug!("{e}: waiting for the copy to complete");
                    pending = true;
                    continue;
                }
                Err(e) => {
                    tracing::warn!("plugin refused: {e}");
                    PluginReport::refused(path.clone(), &e, None)
                }
                Ok(plugin) => {
                    crate::loader::registry::say_loaded(&path, &plugin);
                    // The file held another plugin (overwritten in place): that one is gone.
                    let before = self
                        .seen
                        .get(&path)
                        .filter(|(_, r)| {
                            r.manifest
                                .as_ref()
                                .is_some_and(|m| m.id != plugin.manifest().id)
                        })
                        .map(|(_, r)| r.clone());
                    if let Some(before) = before {
                        let overwritten = format!(
                            "overwritten by {} {}",
                            plugin.manifest().id,
                            plugin.manifest().version
                        );
                        self.file_gone(&path, before, &overwritten, &files, slots)
                            .await;
                    }
                    self.loaded.push(plugin.clone());
                    let status = self.consider(plugin.clone(), slots, shared, false).await;
                    report_of(&path, &plugin, status)
                }
            };
            // A file now in use in place of another (an upgrade): the other is on standby behind
            // it, as at start-up. (A copy of the file in use changes nothing.)
            let upgraded = report
                .manifest
                .as_ref()
                .map(|m| m.id.clone())
                .filter(|id| self.registry.get(id).is_some_and(|p| p.file() == path));
            self.seen.insert(path, (now, report));
            if let Some(id) = upgraded {
                self.mark_standby(&id);
            }
        }
        self.start_waiting(slots, shared);
        pending
    }

    /// Forgets what was decided about refused files, so that the next rescan looks at each of
    /// them again (an operator's rescan: a refusal may have been fixed in a way the file's
    /// stamp does not show).
    pub fn retry_refused(&mut self) {
        self.seen
            .retain(|_, (_, r)| !matches!(r.status, PluginStatus::Refused { .. }));
    }

    /// Uses the plugin in `file` (of the plugins folder) even if its version is lower than the
    /// loaded one: a forced downgrade.
    pub async fn force(
        &mut self,
        file: &Path,
        slots: &mut [Slot],
        shared: &Shared,
    ) -> Result<PluginReport, String> {
        let path = self.dir.join(file.file_name().ok_or("no file name")?);
        let (report, plugin) = self.use_file(&path, slots, shared).await?;
        let id = plugin.manifest().id.clone();
        if report.status == PluginStatus::Ok {
            self.choices
                .forced
                .insert(id.clone(), plugin.sha256().to_string());
            self.choices.rolled_back.remove(plugin.sha256());
            self.save_choices();
        }
        self.mark_standby(&id);
        Ok(report)
    }

    /// Forgets the forced choice of plugin `id` and goes back to its highest version in the
    /// folder.
    pub async fn unforce(
        &mut self,
        id: &str,
        slots: &mut [Slot],
        shared: &Shared,
    ) -> Result<PluginReport, String> {
        if self.choices.forced.remove(id).is_none() {
            return Err(format!("plugin {id:?} has no forced version"));
        }
        self.save_choices();
        let highest = self
            .seen
            .iter()
            .filter(|(_, (_, r))| {
                matches!(r.status, PluginStatus::Ok | PluginStatus::Standby { .. })
            })
            .filter_map(|(f, (_, r))| Some((f.clone(), r.manifest.as_ref()?)))
            .filter(|(_, m)| m.id == id)
            .max_by_key(|(_, m)| semver(&m.version))
            .map(|(f, _)| f);
        let Some(path) = highest else {
            return Err(format!("no file of plugin {id:?} in the plugins folder"));
        };
        tracing::info!("plugin {id}: the forced choice is cleared");
        let (report, _) = self.use_file(&path, slots, shared).await?;
        self.mark_standby(id);
        Ok(report)
    }

    /// Marks every other usable file of plugin `id` as on standby behind the version in use.
    pub(super) fn mark_standby(&mut self, id: &str) {
        let Some(current) = self.registry.get(id).cloned() else {
            return;
        };
        let forced = self.choices.forced.contains_key(id);
        for (file, (_, report)) in self.seen.iter_mut() {
            let of_id = report.manifest.as_ref().is_some_and(|m| m.id == id);
            let usable = matches!(
                report.status,
                PluginStatus::Ok | PluginStatus::Standby { .. }
            );
            if !of_id || !usable {
                continue;
            }
            report.status = if *file == current.file() {
                PluginStatus::Ok
            } else {
                PluginStatus::Standby {
                    reason: registry::standby_reason(&current, current.file(), forced),
                }
            };
        }
    }

    pub(super) fn save_choices(&self) {
        if let Err(e) = save_choices(&self.choices_file, &self.choices) {
            tracing::error!(
                "cannot record the plugin version choices in {}: {e}",
                self.choices_file.display()
            );
        }
    }
}
