//! The set of loaded plugins and the connector types they offer.

use super::{
    error::LoadError, inspect::LIBRARY_EXTENSIONS, library, library::LoadedPlugin,
    options::LoadOptions,
};
use oibus_plugin_api::ConnectorTypeManifest;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

/// The outcome for one file of the plugins folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum PluginStatus {
    /// Loaded; its connector types are available.
    Ok,
    /// Refused, with one line saying why.
    Refused {
        /// Why, naming plugin and versions where known.
        reason: String,
    },
    /// A valid version of a plugin of which another version is in use: kept ready (an
    /// operator can force it, and it is used if the other goes away).
    Standby {
        /// Which version is in use instead, and why.
        reason: String,
    },
}

/// One row of `oibus plugins list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PluginReport {
    /// The file.
    pub file: PathBuf,
    /// The plugin's manifest, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<oibus_plugin_api::Manifest>,
    /// `plugin-id version` from the library's declaration, when it was refused before its
    /// manifest could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// Who signed the file, when it was loaded (`signature`: trusted, unknown-key, unsigned,
    /// not-checked; with the `key_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<super::trust::Signer>,
    /// Ok or refused.
    #[serde(flatten)]
    pub status: PluginStatus,
}

impl PluginReport {
    /// A file whose plugin was loaded.
    pub fn ok(file: PathBuf, plugin: &LoadedPlugin) -> Self {
        Self {
            file,
            manifest: Some(plugin.manifest().clone()),
            declared: None,
            signer: Some(plugin.signer().clone()),
            status: PluginStatus::Ok,
        }
    }

    /// A refused file.
    pub fn refused(
        file: PathBuf,
        error: &LoadError,
        manifest: Option<oibus_plugin_api::Manifest>,
    ) -> Self {
        Self::refused_because(file, error.reason(), manifest, error.declared_plugin())
    }

    /// A file whose plugin is on standby behind another version.
    pub fn standby(file: PathBuf, plugin: &LoadedPlugin, reason: String) -> Self {
        Self {
            file,
            manifest: Some(plugin.manifest().clone()),
            declared: None,
            signer: Some(plugin.signer().clone()),
            status: PluginStatus::Standby { reason },
        }
    }

    /// A refused file, with the reason in words.
    pub fn refused_because(
        file: PathBuf,
        reason: String,
        manifest: Option<oibus_plugin_api::Manifest>,
        declared: Option<String>,
    ) -> Self {
        Self {
            file,
            manifest,
            declared,
            signer: None,
            status: PluginStatus::Refused { reason },
        }
    }
}

/// What the operator and the engine decided about versions, kept across restarts so that a
/// start chooses as the running engine did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Choices {
    /// Plugin id → SHA-256 of the file forced by the operator (`oibus plugins force`).
    #[serde(default)]
    pub forced: BTreeMap<String, String>,
    /// SHA-256 of a file whose upgrade was rolled back → why: not chosen again at start-up.
    #[serde(default)]
    pub rolled_back: BTreeMap<String, String>,
}

/// A file the registry refused.
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub error: LoadError,
    /// The plugin's manifest, when it was read before the refusal (a duplicate, for example).
    pub manifest: Option<oibus_plugin_api::Manifest>,
}

/// Plugins loaded from a folder, indexed by plugin id and by connector type id.
#[derive(Default)]
pub struct PluginRegistry {
    plugins: BTreeMap<String, LoadedPlugin>,
    types: BTreeMap<String, String>,
    standby: Vec<LoadedPlugin>,
}

/// Every library file of `dir`, sorted by name so that the first of two duplicates is predictable.
pub fn library_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let is_lib = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| LIBRARY_EXTENSIONS.contains(&e));
        // Not only regular files: a directory or a broken link named like a library gets a
        // refusal line instead of silence.
        if is_lib {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Files checked at once: each may wait on a throwaway process for seconds (a constructor that
/// hangs costs the whole `probe_timeout`), and a folder is read before the engine starts.
const PARALLEL_LOADS: usize = 4;

/// Loads `files` with `options`, up to [`PARALLEL_LOADS`] at a time; the results in the files'
/// order.
fn load_all(files: &[PathBuf], options: &LoadOptions) -> Vec<Result<LoadedPlugin, LoadError>> {
    let workers = files.len().min(PARALLEL_LOADS);
    if workers <= 1 {
        return files.iter().map(|f| library::load(f, options)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<LoadedPlugin, LoadError>>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = library::load(file, options);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .zip(files)
        .map(|(slot, file)| {
            slot.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| {
                    Err(LoadError::Io {
                        file: file.clone(),
                        source: io::Error::other("its check ended without a result"),
                    })
                })
        })
        .collect()
}

/// Why a version waits behind `chosen` (of `file`).
pub fn standby_reason(chosen: &LoadedPlugin, file: &Path, forced: bool) -> String {
    if forced {
        format!(
            "{} (from {}) is forced; `oibus plugins unforce {}` goes back to the highest version",
            chosen.manifest().version,
            file.display(),
            chosen.manifest().id
        )
    } else {
        format!(
            "{} (from {}) is in use; `oibus plugins force` uses this one",
            chosen.manifest().version,
            file.display()
        )
    }
}

/// The lines of a file that loads: that it did, then its warnings: no trusted signature (under
/// the `warn` policy), a plugin id without a vendor prefix.
pub fn say_loaded(file: &Path, plugin: &LoadedPlugin) {
    tracing::info!(
        file = %file.display(), plugin = %plugin.manifest().id,
        version = %plugin.manifest().version, signer = %plugin.signer().short(),
        "plugin loaded"
    );
    warn_untrusted(file, plugin);
    let id = &plugin.manifest().id;
    if !has_vendor_prefix(id) {
        tracing::warn!(
            "{}: plugin id {id:?} has no vendor prefix: plugin and connector type ids are global              in a gateway, so a plugin of another vendor with the same id would be taken for a              version of this one (name the crate \"<vendor>-{id}\")",
            file.display()
        );
    }
}

/// Whether a plugin id starts with a vendor's name and a separator (`acme-gauge`).
pub fn has_vendor_prefix(id: &str) -> bool {
    id.split_once(['-', '_'])
        .is_some_and(|(vendor, rest)| !vendor.is_empty() && !rest.is_empty())
}

/// The warning of the `warn` policy for a file loaded without a trusted signature.
fn warn_untrusted(file: &Path, plugin: &LoadedPlugin) {
    match plugin.signer() {
        super::trust::Signer::Unsigned => tracing::warn!(
            "{}: plugin {} {} is not signed; it was opened first in a throwaway process \
             (engine.plugins.signatures = \"require\" refuses unsigned plugins)",
            file.display(),
            plugin.manifest().id,
            plugin.manifest().version
        ),
        super::trust::Signer::UnknownKey { key_id } => tracing::warn!(
            "{}: plugin {} {} is signed by key {key_id}, which is not trusted; it was opened \
             first in a throwaway process",
            file.display(),
            plugin.manifest().id,
            plugin.manifest().version
        ),
        _ => {}
    }
}

impl PluginRegistry {
    /// Loads every library of `dir` with `options`. A refused file never prevents the others from
    /// loading. Fails only if `dir` cannot be read. Of several files of one plugin id, the
    /// highest version is used whatever the file names, unless `forced` names the content
    /// (SHA-256) of another one; the others are on standby.
    pub fn discover(dir: &Path, options: &LoadOptions) -> io::Result<(Self, Vec<PluginReport>)> {
        Self::discover_choosing(dir, options, &Choices::default())
    }

    /// [`PluginRegistry::discover`] with the recorded choices: forced versions, and versions
    /// whose upgrade was rolled back (refused again, with their reason).
    pub fn discover_choosing(
        dir: &Path,
        options: &LoadOptions,
        choices: &Choices,
    ) -> io::Result<(Self, Vec<PluginReport>)> {
        let forced = &choices.forced;
        let files = library_files(dir)?;
        let mut reports: Vec<Option<PluginReport>> = vec![None; files.len()];
        let mut loaded: Vec<(usize, LoadedPlugin)> = Vec::new();
        for (i, (file, result)) in files.iter().zip(load_all(&files, options)).enumerate() {
            match result {
                Ok(p) if let Some(why) = choices.rolled_back.get(p.sha256()) => {
                    let reason = format!(
                        "plugin {} {}: {why} (recorded; replace the file, or force it)",
                        p.manifest().id,
                        p.manifest().version
                    );
                    tracing::warn!("plugin refused: {}: {reason}", file.display());
                    reports[i] = Some(PluginReport::refused_because(
                        file.clone(),
                        reason,
                        Some(p.manifest().clone()),
                        None,
                    ));
                }
                Ok(p) => {
                    say_loaded(file, &p);
                    loaded.push((i, p));
                }
                Err(error) => {
                    tracing::warn!("plugin refused: {error}");
                    reports[i] = Some(PluginReport::refused(file.clone(), &error, None));
                }
            }
        }
        let mut registry = Self::default();
        let mut ids: Vec<String> = loaded
            .iter()
            .map(|(_, p)| p.manifest().id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let versions: Vec<&(usize, LoadedPlugin)> = loaded
                .iter()
                .filter(|(_, p)| p.manifest().id == id)
                .collect();
            let by_force = forced
                .get(&id)
                .and_then(|sha| versions.iter().find(|(_, p)| p.sha256() == sha));
            // The highest version; of equal ones, the first by file name.
            let highest = versions.iter().copied().reduce(|best, next| {
                if next.1.version() > best.1.version() {
                    next
                } else {
                    best
                }
            });
            let Some(&(chosen_at, ref chosen)) = by_force.copied().or(highest) else {
                continue;
            };
            if by_force.is_some() {
                tracing::info!(
                    "plugin {id} {} is forced (oibus plugins unforce {id} to use the highest version)",
                    chosen.manifest().version
                );
            }
            reports[chosen_at] = Some(match registry.register(chosen.clone()) {
                Ok(()) => PluginReport::ok(files[chosen_at].clone(), chosen),
                Err(error) => {
                    tracing::warn!("plugin refused: {error}");
                    PluginReport::refused(
                        files[chosen_at].clone(),
                        &error,
                        Some(chosen.manifest().clone()),
                    )
                }
            });
            for (i, other) in versions.iter().filter(|(i, _)| *i != chosen_at) {
                let file = files[*i].clone();
                reports[*i] = Some(if other.sha256() == chosen.sha256() {
                    // The same library under another name.
                    PluginReport::ok(file, other)
                } else if other.manifest().version == chosen.manifest().version {
                    let error = LoadError::Duplicate {
                        file: file.clone(),
                        reason: format!(
                            "version {} is already loaded from {} with other content",
                            chosen.manifest().version,
                            files[chosen_at].display()
                        ),
                    };
                    tracing::warn!("plugin refused: {error}");
                    PluginReport::refused(file, &error, Some(other.manifest().clone()))
                } else {
                    let reason = standby_reason(chosen, &files[chosen_at], by_force.is_some());
                    tracing::info!(
                        "plugin {id} {} ({}) on standby: {reason}",
                        other.manifest().version,
                        file.display()
                    );
                    registry.standby.push(other.clone());
                    PluginReport::standby(file, other, reason)
                });
            }
        }
        Ok((registry, reports.into_iter().flatten().collect()))
    }

    /// Loads one file and registers it, refusing duplicates of a plugin id or connector type.
    pub fn load_file(
        &mut self,
        file: &Path,
        options: &LoadOptions,
    ) -> Result<LoadedPlugin, Box<Refused>> {
        let plugin = library::load(file, options).map_err(|error| {
            Box::new(Refused {
                error,
                manifest: None,
            })
        })?;
        self.register(plugin.clone()).map_err(|error| {
            Box::new(Refused {
                error,
                manifest: Some(plugin.manifest().clone()),
            })
        })?;
        Ok(plugin)
    }

    /// Adds a loaded plugin, refusing a duplicate plugin id or connector type.
    pub fn register(&mut self, plugin: LoadedPlugin) -> Result<(), LoadError> {
        let m = plugin.manifest();
        let duplicate = |reason: String| LoadError::Duplicate {
            file: plugin.file().to_path_buf(),
            reason,
        };
        if let Some(other) = self.plugins.get(&m.id) {
            return Err(duplicate(format!(
                "plugin {:?} {} is already loaded from {} (version {})",
                m.id,
                m.version,
                other.file().display(),
                other.manifest().version
            )));
        }
        for t in &m.connector_types {
            if let Some(owner) = self.types.get(&t.id) {
                return Err(duplicate(format!(
                    "connector type {:?} of plugin {:?} is already provided by plugin {owner:?}",
                    t.id, m.id
                )));
            }
        }
        for t in &m.connector_types {
            self.types.insert(t.id.clone(), m.id.clone());
        }
        self.plugins.insert(m.id.clone(), plugin);
        Ok(())
    }

    /// Makes `plugin` the version used for its id (an upgrade, a rollback, a forced downgrade).
    /// The previous version stays loaded (libraries are never unloaded) and is returned.
    pub fn replace(&mut self, plugin: LoadedPlugin) -> Result<Option<LoadedPlugin>, LoadError> {
        let m = plugin.manifest();
        for t in &m.connector_types {
            if let Some(owner) = self.types.get(&t.id)
                && owner != &m.id
            {
                return Err(LoadError::Duplicate {
                    file: plugin.file().to_path_buf(),
                    reason: format!(
                        "connector type {:?} of plugin {:?} is already provided by plugin {owner:?}",
                        t.id, m.id
                    ),
                });
            }
        }
        let previous = self.remove(&m.id);
        for t in &m.connector_types {
            self.types.insert(t.id.clone(), m.id.clone());
        }
        self.plugins.insert(m.id.clone(), plugin);
        Ok(previous)
    }

    /// Forgets plugin `id` (its file was removed); returns the version that was used.
    pub fn remove(&mut self, id: &str) -> Option<LoadedPlugin> {
        self.types.retain(|_, owner| owner != id);
        self.plugins.remove(id)
    }

    /// The versions found beside the ones in use (for connectors pinned to them, and forcing).
    pub fn standby(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.standby.iter()
    }

    /// The version of plugin `id` in use.
    pub fn get(&self, id: &str) -> Option<&LoadedPlugin> {
        self.plugins.get(id)
    }

    /// The loaded plugins, by id.
    pub fn plugins(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.plugins.values()
    }

    /// The plugin offering connector type `type_id`, with that type's manifest.
    pub fn connector_type(&self, type_id: &str) -> Option<(&LoadedPlugin, &ConnectorTypeManifest)> {
        let plugin = self.plugins.get(self.types.get(type_id)?)?;
        let t = plugin.manifest().connector_type(type_id)?;
        Some((plugin, t))
    }

    /// Every connector type id available.
    pub fn type_ids(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::has_vendor_prefix;

    #[test]
    fn a_vendor_prefix_is_a_name_and_a_separator_before_the_rest() {
        for id in ["acme-gauge", "oibus-south-modbus", "acme_gauge"] {
            assert!(has_vendor_prefix(id), "{id}");
        }
        for id in ["gauge", "-gauge", "gauge-", "gauge_"] {
            assert!(!has_vendor_prefix(id), "{id}");
        }
    }
}
