//! The plugins folder while the engine runs: a new plugin's connector types become available
//! (and the connectors waiting for them start); a higher version of a loaded plugin takes over its
//! running connectors, which roll back to the old version if the new one does not connect; a lower
//! version is refused; a removed file stops its connectors until it comes back.

use super::{
    loaded_version::LoadedVersion,
    slot::{Shared, Slot},
    status::{State, UpgradeRecord},
};
use crate::plugin::Choices;
use crate::plugin::{
    LoadError, LoadedPlugin, PluginRegistry, PluginReport, PluginStatus, library, registry,
};
use notify::{RecursiveMode, Watcher as _};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};
use tokio::sync::mpsc;

/// A file younger than this may still be being copied: it is looked at again later.
const SETTLE: Duration = Duration::from_millis(500);

/// How often an idle engine looks at its plugins folder without any event: a safety net for file
/// systems whose events do not reach the watcher (network shares).
pub const SAFETY_INTERVAL: Duration = Duration::from_secs(30);

/// Whether a folder event can mean a plugin file changed. Reads are not changes: the engine's
/// own rescans open the folder and the files, and their events must not wake it again.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watches `dir`; every change sends a unit on the returned channel. Keep the watcher alive.
pub fn watch(dir: &Path) -> notify::Result<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
    let (tx, rx) = mpsc::channel(16);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| is_change(&e.kind)) {
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok((watcher, rx))
}

/// The report of a file from what [`PluginFolder::consider`] decided.
fn report_of(path: &Path, plugin: &LoadedPlugin, status: PluginStatus) -> PluginReport {
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

/// The choices recorded in `file` (none if it is missing; an unreadable one is said and ignored).
pub fn load_choices(file: &Path) -> Choices {
    match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(
                "{}: not a record of plugin version choices ({e}): ignored",
                file.display()
            );
            Choices::default()
        }),
        Err(_) => Choices::default(),
    }
}

/// Records the choices in `file`, atomically.
fn save_choices(file: &Path, choices: &Choices) -> std::io::Result<()> {
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(choices).unwrap_or_default())?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, file)
}

#[derive(Clone, PartialEq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Mode and change time: a `chmod` that makes a refused file readable changes them.
    changed: (u32, i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    // A link to nothing is stamped by the link itself, so that it is reported once.
    let meta = std::fs::metadata(path)
        .or_else(|_| std::fs::symlink_metadata(path))
        .ok()?;
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt as _;
        (meta.mode(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = (0, 0, 0);
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        changed,
    })
}

/// The plugins folder and what was loaded from it.
pub struct PluginFolder {
    dir: PathBuf,
    options: crate::plugin::LoadOptions,
    /// Where the choices are recorded, and what they are.
    choices_file: PathBuf,
    choices: Choices,
    /// The plugin versions in use.
    pub registry: PluginRegistry,
    seen: HashMap<PathBuf, (Stamp, PluginReport)>,
    loaded: Vec<LoadedPlugin>,
    /// Files written whole by [`PluginFolder::install`]: the next scan need not wait for them
    /// to settle.
    installed: std::collections::HashSet<PathBuf>,
}

fn semver(v: &str) -> semver::Version {
    semver::Version::parse(v).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
}

impl PluginFolder {
    /// The folder with what discovery found at start-up.
    pub fn new(
        dir: PathBuf,
        options: crate::plugin::LoadOptions,
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

    /// Writes a plugin file or its signature (`<file>.minisig`) into the folder under `name`:
    /// into a hidden file first, synced, then renamed, so that no scan sees half a library. A
    /// file of that name is replaced. The next rescan takes it.
    pub fn install(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let library = |n: &str| {
            Path::new(n)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| crate::plugin::LIBRARY_EXTENSIONS.contains(&e))
        };
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name)
            && !name.contains(['/', '\\', '\0']);
        let signature = name.strip_suffix(".minisig").is_some_and(library);
        if !plain || !(library(name) || signature) {
            return Err(format!(
                "{name:?} is not a plugin file name: a plain file name ending in {} (the \
                 library), or that name with .minisig (its signature)",
                crate::plugin::LIBRARY_EXTENSIONS
                    .iter()
                    .map(|e| format!(".{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let target = self.dir.join(name);
        let part = self.dir.join(format!(".{name}.upload"));
        let write = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&part)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&part, &target)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&part);
            format!("cannot write {}: {e}", target.display())
        })?;
        tracing::info!(
            "{} written into the plugins folder ({} bytes, through the admin API)",
            target.display(),
            bytes.len()
        );
        self.installed.insert(target.clone());
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
                    crate::plugin::registry::say_loaded(&path, &plugin);
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

    /// The file `path` no longer holds the plugin of `report` (`how`: removed, overwritten…):
    /// if that plugin was in use from it, its connectors stop until it comes back, unless another
    /// file of `files` has the same content.
    async fn file_gone(
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
    fn continue_from_copy(&mut self, id: &str, gone: &Path, files: &[PathBuf]) -> bool {
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

    /// Uses `path` whatever its version, and records nothing.
    async fn use_file(
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

    /// Marks every other usable file of plugin `id` as on standby behind the version in use.
    fn mark_standby(&mut self, id: &str) {
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

    fn save_choices(&self) {
        if let Err(e) = save_choices(&self.choices_file, &self.choices) {
            tracing::error!(
                "cannot record the plugin version choices in {}: {e}",
                self.choices_file.display()
            );
        }
    }

    /// What to do with a freshly loaded plugin file.
    async fn consider(
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
    async fn switch(
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
