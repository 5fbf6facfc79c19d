//! Loading one plugin library: system loader, declaration and API rule, abi_stable check, manifest.

use super::{error::LoadError, inspect, options::LoadOptions, shadow, trust::Signer};
use abi_stable::{
    library::{LibraryError, RawLibrary, lib_header_from_raw_library},
    std_types::{RResult, RStr},
};
use oibus_plugin_api::{
    ConnectorKind, Manifest, PluginError,
    ffi::{ConnectorBox, HostBox, PluginDeclaration, PluginModuleRef},
    version::{check_compatibility, host_api_version},
};
use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

/// A plugin library loaded into the process. Libraries are never unloaded: unloading Rust
/// libraries with live threads or thread-locals is unsound.
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    file: PathBuf,
    shadow: PathBuf,
    sha256: String,
    size: u64,
    manifest: Manifest,
    /// The manifest's version, parsed (the loader refuses one that is not semver).
    version: semver::Version,
    signer: Signer,
    /// Opened in this process: at once for a trusted file, else at the first in-process
    /// connector (a file only ever used by isolated connectors is never opened here).
    module: OnceLock<PluginModuleRef>,
    opening: Mutex<()>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("file", &self.inner.file)
            .field("id", &self.inner.manifest.id)
            .field("version", &self.inner.manifest.version)
            .finish()
    }
}

impl LoadedPlugin {
    /// A plugin opened in this process without a copy of its own or a signature check (a
    /// plugin-host child's copy, a plugin linked into the binary).
    fn opened(file: PathBuf, shadow: PathBuf, manifest: Manifest, module: PluginModuleRef) -> Self {
        Self {
            inner: Arc::new(Inner {
                file,
                shadow,
                sha256: String::new(),
                size: 0,
                version: parse_version(&manifest.version),
                manifest,
                signer: Signer::NotChecked,
                module: OnceLock::from(module),
                opening: Mutex::new(()),
            }),
        }
    }

    /// The file the plugin was discovered as.
    pub fn file(&self) -> &Path {
        &self.inner.file
    }
    /// The shadow copy actually loaded.
    pub fn shadow_path(&self) -> &Path {
        &self.inner.shadow
    }
    /// SHA-256 of the file content.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }
    /// Size of the library file in bytes.
    pub fn size(&self) -> u64 {
        self.inner.size
    }
    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }
    /// The plugin's version.
    pub fn version(&self) -> &semver::Version {
        &self.inner.version
    }
    /// Who signed the file.
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }
    /// Whether the library is open in this process.
    pub fn is_open(&self) -> bool {
        self.inner.module.get().is_some()
    }

    /// The state of the plugin's runtime, if the library is open in this process.
    pub fn runtime_health(&self) -> Option<oibus_plugin_api::ffi::RuntimeHealth> {
        let module = self.inner.module.get()?;
        Some(module.runtime_health()())
    }

    /// The root module, opening the library in this process first if needed (its constructors
    /// run then).
    pub fn module(&self) -> Result<PluginModuleRef, LoadError> {
        if let Some(m) = self.inner.module.get() {
            return Ok(*m);
        }
        let _one_at_a_time = self.inner.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = self.inner.module.get() {
            return Ok(*m);
        }
        let plugin = format!("{} {}", self.inner.manifest.id, self.inner.manifest.version);
        let module = open(&self.inner.file, &self.inner.shadow, &plugin)?;
        Ok(*self.inner.module.get_or_init(|| module))
    }

    /// Calls the plugin's `create_connector`. Settings must already be validated.
    pub fn create_connector(
        &self,
        type_id: &str,
        settings_json: &str,
        host: HostBox,
    ) -> Result<ConnectorBox, PluginError> {
        let module = self
            .module()
            .map_err(|e| PluginError::new(oibus_plugin_api::ErrorKind::PERMANENT, e.to_string()))?;
        match (module.create_connector())(RStr::from(type_id), RStr::from(settings_json), host) {
            RResult::ROk(c) => Ok(c),
            RResult::RErr(e) => Err(e),
        }
    }
}

/// Names the original file in a refusal found on its shadow copy.
fn about(file: &Path, e: LoadError) -> LoadError {
    let file = file.to_path_buf();
    match e {
        LoadError::Truncated { reason, .. } => LoadError::Truncated { file, reason },
        LoadError::NotALibrary { reason, .. } => LoadError::NotALibrary { file, reason },
        LoadError::WrongPlatform {
            found, expected, ..
        } => LoadError::WrongPlatform {
            file,
            found,
            expected,
        },
        LoadError::NotAPlugin { .. } => LoadError::NotAPlugin { file },
        LoadError::BadDeclaration { reason, .. } => LoadError::BadDeclaration { file, reason },
        LoadError::Io { source, .. } => LoadError::Io { file, source },
        other => other,
    }
}

/// What the path is, when it is not a regular file (or a link to one).
fn not_a_file(file: &Path) -> Option<LoadError> {
    let refused = |reason: &str| LoadError::NotAFile {
        file: file.to_path_buf(),
        reason: reason.to_string(),
    };
    match fs::metadata(file) {
        Ok(m) if m.is_file() => None,
        Ok(m) if m.is_dir() => Some(refused("a directory")),
        Ok(_) => Some(refused("not a regular file (a device, a pipe or a socket)")),
        Err(e) if fs::symlink_metadata(file).is_ok() => Some(refused(&format!(
            "a symbolic link that leads to no file ({e})"
        ))),
        Err(e) => Some(LoadError::Io {
            file: file.to_path_buf(),
            source: e,
        }),
    }
}

/// Loads `file`, shadow-copied into the options' cache folder. Every check that needs no code of
/// the file runs first, on its bytes: the headers of the original before anything is copied, then
/// on the copy that will be loaded (it cannot change under our feet) its completeness, its
/// platform, its declaration with the API rule and its signature. Then a file signed by a trusted
/// key is opened in this process; any other file is first opened by the options' prober, in a
/// throwaway process, which reads its manifest: this process opens it only when an in-process
/// connector needs it.
pub fn load(file: &Path, options: &LoadOptions) -> Result<LoadedPlugin, LoadError> {
    let cache_dir = options.cache_dir.as_path();
    let io = |source| LoadError::Io {
        file: file.to_path_buf(),
        source,
    };
    if let Some(e) = not_a_file(file) {
        return Err(e);
    }
    shadow::ensure_private(cache_dir).map_err(|source| LoadError::Io {
        file: cache_dir.to_path_buf(),
        source,
    })?;
    let meta = fs::metadata(file).map_err(io)?;
    let identity = shadow::identity(&meta);
    let known = identity
        .as_deref()
        .and_then(|id| shadow::lookup(cache_dir, id, meta.len()));
    let (shadow, sha256, size, declaration) = match known {
        // This very file version was checked and copied before: nothing to copy.
        Some((shadow, sha256)) => {
            let declaration =
                inspect::read_declaration_file(&shadow, false).map_err(|e| about(file, e))?;
            (shadow, sha256, meta.len(), declaration)
        }
        None => {
            // The headers, read from the original: a large file that is no library for this
            // machine is refused before it is copied.
            inspect::check_library_file(file).map_err(|e| about(file, e))?;
            let (shadow, sha256, size) = shadow::copy_hashed(cache_dir, file).map_err(io)?;
            let declaration = inspect::read_declaration_file(&shadow, true);
            if let Err(
                LoadError::Truncated { .. }
                | LoadError::NotALibrary { .. }
                | LoadError::WrongPlatform { .. },
            ) = &declaration
            {
                // Not a complete library for this machine: no copy is kept.
                let _ = fs::remove_file(&shadow);
            } else if let Some(id) = &identity
                && let Err(e) = shadow::remember(cache_dir, id, &shadow)
            {
                tracing::debug!("cannot index {}: {e}", shadow.display());
            }
            let declaration = declaration.map_err(|e| about(file, e))?;
            (shadow, sha256, size, declaration)
        }
    };
    let plugin = check_api(file, &declaration)?;
    let signer = options.trust.check(file, &shadow)?;
    let probe = options.probe.as_ref().filter(|p| p.wanted(&signer));
    let (manifest, module) = match probe {
        Some(prober) => {
            let json = prober.probe(file, &shadow, &plugin)?;
            (parse_manifest(file, &json)?, None)
        }
        None => {
            // From here on the file's own code runs (its constructors).
            let module = open(file, &shadow, &plugin)?;
            (read_manifest(file, module)?, Some(module))
        }
    };
    agree(file, &declaration, &manifest)?;
    Ok(LoadedPlugin {
        inner: Arc::new(Inner {
            file: file.to_path_buf(),
            shadow,
            sha256,
            size,
            version: parse_version(&manifest.version),
            manifest,
            signer,
            module: module.map(OnceLock::from).unwrap_or_default(),
            opening: Mutex::new(()),
        }),
    })
}

/// Opens a library already copied and checked by the engine (`shadow`, standing for `file` in
/// messages) in this process: what a plugin-host child process does. Its declaration and the API
/// rule are checked again, from its bytes, before it is opened.
pub fn open_copy(file: &Path, shadow: &Path) -> Result<LoadedPlugin, LoadError> {
    let declaration = inspect::read_declaration_file(shadow, true).map_err(|e| about(file, e))?;
    let plugin = check_api(file, &declaration)?;
    let module = open(file, shadow, &plugin)?;
    let manifest = read_manifest(file, module)?;
    agree(file, &declaration, &manifest)?;
    Ok(LoadedPlugin::opened(
        file.to_path_buf(),
        shadow.to_path_buf(),
        manifest,
        module,
    ))
}

/// The engine's API rule on the declaration; `plugin-id version` for messages.
fn check_api(file: &Path, declaration: &PluginDeclaration) -> Result<String, LoadError> {
    let plugin = format!(
        "{} {}",
        declaration.plugin_id(),
        declaration.plugin_version()
    );
    check_compatibility(&host_api_version(), &declaration.api_version()).map_err(|e| {
        LoadError::IncompatibleApi {
            file: file.to_path_buf(),
            plugin: plugin.clone(),
            reason: e.to_string(),
        }
    })?;
    Ok(plugin)
}

/// The system loader, abi_stable's layout check and the root module.
fn open(file: &Path, shadow: &Path, plugin: &str) -> Result<PluginModuleRef, LoadError> {
    let raw = RawLibrary::load_at(shadow).map_err(|e| LoadError::OpenFailed {
        file: file.to_path_buf(),
        reason: first_line(&e.to_string()),
    })?;
    // Never unload: from here on the library may have started threads or registered TLS.
    let raw: &'static RawLibrary = Box::leak(Box::new(raw));
    // SAFETY: the library stays loaded for the life of the process (leaked above).
    let header =
        unsafe { lib_header_from_raw_library(raw) }.map_err(|e| abi_error(file, plugin, e))?;
    super::layout::check(header).map_err(|reason| LoadError::AbiMismatch {
        file: file.to_path_buf(),
        plugin: plugin.to_string(),
        reason,
    })?;
    // SAFETY: the layout was checked just above, in the direction of the API rule.
    unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
        .map_err(|e| abi_error(file, plugin, e))
}

/// The manifest must describe the plugin the declaration announced.
fn agree(
    file: &Path,
    declaration: &PluginDeclaration,
    manifest: &Manifest,
) -> Result<(), LoadError> {
    let declared = (
        declaration.plugin_id(),
        declaration.plugin_version(),
        declaration.api_version().to_string(),
    );
    let described = (
        manifest.id.clone(),
        manifest.version.clone(),
        manifest.api_version.clone(),
    );
    if declared != described {
        return Err(LoadError::BadManifest {
            file: file.to_path_buf(),
            reason: format!(
                "the manifest says plugin {} {} for API {} but the declaration says {} {} for API {}",
                described.0, described.1, described.2, declared.0, declared.1, declared.2
            ),
        });
    }
    Ok(())
}

/// A plugin linked into the engine's own binary (no library file, no dynamic loading): used to
/// measure what the plugin boundary costs. `name` stands for the file in reports.
pub fn from_static(
    name: &str,
    declaration: PluginDeclaration,
    module: PluginModuleRef,
) -> Result<LoadedPlugin, LoadError> {
    let file = PathBuf::from(name);
    let manifest = read_manifest(&file, module)?;
    if manifest.id != declaration.plugin_id() {
        return Err(LoadError::BadManifest {
            file,
            reason: "the manifest and the declaration disagree".into(),
        });
    }
    Ok(LoadedPlugin::opened(file.clone(), file, manifest, module))
}

fn read_manifest(file: &Path, module: PluginModuleRef) -> Result<Manifest, LoadError> {
    let bad = |reason: String| LoadError::BadManifest {
        file: file.to_path_buf(),
        reason,
    };
    match (module.manifest_json())() {
        RResult::ROk(json) => parse_manifest(file, &json),
        RResult::RErr(e) => Err(bad(e.to_string())),
    }
}

/// A manifest version already checked by [`parse_manifest`] (0.0.0 if it were not semver).
fn parse_version(v: &str) -> semver::Version {
    semver::Version::parse(v).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
}

/// Parses and checks a manifest's JSON.
pub fn parse_manifest(file: &Path, json: &str) -> Result<Manifest, LoadError> {
    let bad = |reason: String| LoadError::BadManifest {
        file: file.to_path_buf(),
        reason,
    };
    let manifest: Manifest = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    if manifest.id.trim().is_empty() {
        return Err(bad("empty plugin id".into()));
    }
    if semver::Version::parse(&manifest.version).is_err() {
        return Err(bad(format!(
            "plugin version {:?} is not semver",
            manifest.version
        )));
    }
    if manifest.connector_types.is_empty() {
        return Err(bad("no connector types".into()));
    }
    for t in &manifest.connector_types {
        if let Some(c) = t.capabilities.iter().find(|c| c.kind() != t.kind) {
            return Err(bad(format!(
                "{} type {:?} declares the {} capability {c}",
                t.kind,
                t.id,
                c.kind()
            )));
        }
        if t.kind == ConnectorKind::South && t.item_schema.is_none() {
            return Err(bad(format!("south type {:?} has no item schema", t.id)));
        }
    }
    Ok(manifest)
}

fn abi_error(file: &Path, plugin: &str, e: LibraryError) -> LoadError {
    let text = e.to_string();
    match e {
        LibraryError::IncompatibleVersionNumber { .. } => LoadError::IncompatibleApi {
            file: file.to_path_buf(),
            plugin: plugin.to_string(),
            reason: first_line(&text),
        },
        _ => LoadError::AbiMismatch {
            file: file.to_path_buf(),
            plugin: plugin.to_string(),
            reason: text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(3)
                .collect::<Vec<_>>()
                .join(" / "),
        },
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}
