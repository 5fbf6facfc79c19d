//! What the admin API asks of the running engine. Requests arrive on a channel and are carried
//! out by the engine's main loop, one at a time, with a reply each.

use super::{Engine, Role, State, history};
use crate::{
    config::{self, Config, NorthConfig, SouthConfig},
    connector::{self, ConnectorSpec, DiscardSink},
    plugin::{LoadedPlugin, PluginReport},
    schema,
};
use oibus_plugin_api::{ConnectorKind, ConnectorTypeManifest, OibusValue, Timestamp};
use std::{path::Path, sync::Arc};
use tokio::sync::oneshot;

/// Why a command was refused, in the engine's words (a front end turns it into its own answer:
/// the admin API into an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// What the command names does not exist.
    NotFound,
    /// The command is invalid (settings that do not fit their schema, a bad value).
    Invalid,
    /// The command conflicts with the engine's state (the embedded configuration).
    Conflict,
    /// The command ran and its test failed, or the plugin does not offer it.
    Failed,
    /// A source the command read from failed.
    SourceFailed,
    /// The engine could not carry it out.
    Internal,
}

/// A refused command: why, the message, and the problems with JSON pointers into its body.
#[derive(Debug, Clone)]
pub struct CommandError {
    /// Why.
    pub refusal: Refusal,
    /// What is wrong.
    pub error: String,
    /// Each problem, with the JSON pointer of the offending value in the command's body.
    pub problems: Vec<PointedProblem>,
}

/// One problem of a command's body.
#[derive(Debug, Clone)]
pub struct PointedProblem {
    /// JSON pointer into the body (`/settings/port`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl CommandError {
    /// A refusal with a message and no pointed problem.
    pub fn new(refusal: Refusal, what: impl Into<String>) -> Self {
        Self {
            refusal,
            error: what.into(),
            problems: Vec::new(),
        }
    }
    /// What the command names does not exist.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(Refusal::NotFound, what)
    }
    /// The command is invalid.
    pub fn bad_request(what: impl Into<String>) -> Self {
        Self::new(Refusal::Invalid, what)
    }
    /// The command conflicts with the engine's state.
    pub fn conflict(what: impl Into<String>) -> Self {
        Self::new(Refusal::Conflict, what)
    }
    /// The engine could not carry it out.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::new(Refusal::Internal, what.to_string())
    }
}

/// A connector type a loaded plugin offers.
#[derive(Debug, Clone)]
pub struct OfferedType {
    /// Plugin id.
    pub plugin: String,
    /// Plugin version.
    pub plugin_version: String,
    /// The type's manifest (with its JSON Schemas).
    pub manifest: ConnectorTypeManifest,
}

/// A South or a North configuration.
#[derive(Debug, Clone)]
pub enum ConnectorConfig {
    /// A South.
    South(SouthConfig),
    /// A North.
    North(NorthConfig),
}

impl ConnectorConfig {
    fn id(&self) -> &str {
        match self {
            Self::South(s) => &s.id,
            Self::North(n) => &n.id,
        }
    }
    fn kind(&self) -> ConnectorKind {
        match self {
            Self::South(_) => ConnectorKind::South,
            Self::North(_) => ConnectorKind::North,
        }
    }
}

/// One queued or error-store entry of a North's cache.
#[derive(Debug, Clone)]
pub struct CachedEntry {
    /// Its key (to retry or delete it).
    pub key: u64,
    /// The file's name; `None`: a batch of values.
    pub file: Option<String>,
    /// Values in the batch (files: 1).
    pub count: usize,
    /// Bytes.
    pub bytes: u64,
    /// Error store: its first distinct point ids (at most five).
    pub points: Vec<String>,
    /// Error store: when and why it was set aside (`None` for an entry of an earlier version).
    pub set_aside: Option<crate::cache::error_entry::SetAside>,
}

/// What a North's cache holds.
#[derive(Debug, Clone)]
pub struct CacheContents {
    /// Waiting to be sent.
    pub queued: Vec<CachedEntry>,
    /// In the error store.
    pub errors: Vec<CachedEntry>,
}

/// What to do with error-store entries.
#[derive(Debug, Clone, Copy)]
pub enum ErrorAction {
    /// Queue them again.
    Retry,
    /// Delete them.
    Delete,
}

type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

/// A request to the engine.
pub enum Command {
    /// Look at the plugins folder now.
    Rescan(Reply<Vec<PluginReport>>),
    /// Write a plugin file or its signature into the plugins folder, then look at the folder.
    InstallPluginFile {
        /// The file name (`lib….so`, or `lib….so.minisig`).
        name: String,
        /// Its content.
        bytes: Vec<u8>,
        /// Reply: every file of the folder, as the scan after the write found it.
        reply: Reply<Vec<PluginReport>>,
    },
    /// Use the plugin of this file of the plugins folder even if it is older (forced downgrade).
    Force {
        /// The file name.
        file: std::path::PathBuf,
        /// Reply.
        reply: Reply<PluginReport>,
    },
    /// Forget the forced version of this plugin id: back to its highest version.
    Unforce {
        /// The plugin id.
        id: String,
        /// Reply.
        reply: Reply<PluginReport>,
    },
    /// The connector types of the loaded plugins.
    ConnectorTypes(Reply<Vec<OfferedType>>),
    /// The configuration.
    Config(Reply<Config>),
    /// Create (`create`) or replace a connector; validated, saved, applied.
    Upsert {
        /// The connector.
        connector: ConnectorConfig,
        /// Whether it must not exist yet.
        create: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Delete a connector, and a North's queue and error store with it: refused while they hold
    /// data, unless `discard_queue`.
    Delete {
        /// South or North.
        kind: ConnectorKind,
        /// Its id.
        id: String,
        /// Delete a North even though its queue or error store holds data (lost with it).
        discard_queue: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Start (`true`) or stop a connector until the next restart.
    Run {
        /// South or North.
        kind: ConnectorKind,
        /// Its id.
        id: String,
        /// Start or stop.
        start: bool,
        /// Reply.
        reply: Reply<()>,
    },
    /// Test settings for a type.
    TestConnection {
        /// South or North.
        kind: ConnectorKind,
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// Reply.
        reply: Reply<()>,
    },
    /// Read one item of a South type once, on a connector made for the test (`test_item`).
    TestItem {
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// The item.
        item: connector::TrialItem,
        /// Reply: the values read.
        reply: Reply<Vec<OibusValue>>,
    },
    /// List the nodes of a South type's source (`browse`).
    Browse {
        /// Connector type.
        type_id: String,
        /// Settings.
        settings: serde_json::Value,
        /// Where from, how deep.
        request: oibus_plugin_api::BrowseRequest,
        /// Reply: the nodes.
        reply: Reply<Vec<oibus_plugin_api::BrowsedNode>>,
    },
    /// Read a South's history over a range (as the engine does: windows, delay), into its Norths.
    History {
        /// South id.
        id: String,
        /// Range start.
        start: Timestamp,
        /// Range end.
        end: Timestamp,
        /// Reply: windows read.
        reply: Reply<u64>,
    },
    /// A North's cache.
    Cache {
        /// North id.
        id: String,
        /// Reply.
        reply: Reply<CacheContents>,
    },
    /// Retry or delete error-store entries of a North (`None`: all).
    CacheErrors {
        /// North id.
        id: String,
        /// Retry or delete.
        action: ErrorAction,
        /// Keys of value batches.
        batches: Option<Vec<u64>>,
        /// Keys of files.
        files: Option<Vec<u64>>,
        /// Reply: entries handled.
        reply: Reply<usize>,
    },
}

/// Carries out one command.
pub async fn handle(engine: &mut Engine, command: Command) {
    match command {
        Command::Rescan(reply) => {
            engine.folder.retry_refused();
            engine.rescan().await;
            let _ = reply.send(Ok(engine.folder.reports()));
        }
        Command::InstallPluginFile { name, bytes, reply } => {
            if let Err(e) = engine.folder.install(&name, &bytes) {
                let _ = reply.send(Err(CommandError::bad_request(e)));
                return;
            }
            engine.folder.retry_refused();
            engine.rescan().await;
            let _ = reply.send(Ok(engine.folder.reports()));
        }
        Command::Force { file, reply } => {
            let r = engine
                .folder
                .force(&file, &mut engine.slots, &engine.shared)
                .await
                .map_err(CommandError::bad_request);
            engine.reroute();
            engine.publish_plugins();
            let _ = reply.send(r);
        }
        Command::Unforce { id, reply } => {
            let r = engine
                .folder
                .unforce(&id, &mut engine.slots, &engine.shared)
                .await
                .map_err(CommandError::bad_request);
            engine.reroute();
            engine.publish_plugins();
            let _ = reply.send(r);
        }
        Command::ConnectorTypes(reply) => {
            let types = engine
                .folder
                .registry
                .plugins()
                .flat_map(|p| {
                    p.manifest().connector_types.iter().map(|t| OfferedType {
                        plugin: p.manifest().id.clone(),
                        plugin_version: p.manifest().version.clone(),
                        manifest: t.clone(),
                    })
                })
                .collect();
            let _ = reply.send(Ok(types));
        }
        Command::Config(reply) => {
            let _ = reply.send(Ok(engine.config.clone()));
        }
        Command::Upsert {
            connector,
            create,
            reply,
        } => {
            let _ = reply.send(upsert(engine, connector, create).await);
        }
        Command::Delete {
            kind,
            id,
            discard_queue,
            reply,
        } => {
            let _ = reply.send(delete(engine, kind, &id, discard_queue).await);
        }
        Command::Run {
            kind,
            id,
            start,
            reply,
        } => {
            let _ = reply.send(run(engine, kind, &id, start).await);
        }
        Command::TestConnection {
            kind,
            type_id,
            settings,
            reply,
        } => test_connection(engine, kind, type_id, settings, reply),
        Command::TestItem {
            type_id,
            settings,
            item,
            reply,
        } => test_item(engine, type_id, settings, item, reply),
        Command::Browse {
            type_id,
            settings,
            request,
            reply,
        } => browse(engine, type_id, settings, request, reply),
        Command::History {
            id,
            start,
            end,
            reply,
        } => history_range(engine, &id, start, end, reply),
        Command::Cache { id, reply } => {
            let _ = reply.send(cache_listing(engine, &id));
        }
        Command::CacheErrors {
            id,
            action,
            batches,
            files,
            reply,
        } => {
            let Some(queue) = engine.queues.get(&id).cloned() else {
                let _ = reply.send(Err(CommandError::not_found(format!("no North {id:?}"))));
                return;
            };
            tokio::spawn(async move {
                let r = match action {
                    ErrorAction::Retry => queue.retry_errors(batches, files).await,
                    ErrorAction::Delete => queue.delete_errors(batches, files).await,
                };
                let _ = reply.send(r.map_err(CommandError::internal));
            });
        }
    }
}

fn slot_index(engine: &Engine, kind: ConnectorKind, id: &str) -> Option<usize> {
    engine
        .slots
        .iter()
        .position(|s| s.id() == id && s.is_south() == (kind == ConnectorKind::South))
}

fn exists(config: &Config, kind: ConnectorKind, id: &str) -> bool {
    match kind {
        ConnectorKind::South => config.south.iter().any(|s| s.id == id),
        ConnectorKind::North => config.north.iter().any(|n| n.id == id),
    }
}

/// Checks settings (and item settings) against the type's schemas, with pointers into the body.
fn check_schemas(engine: &Engine, connector: &ConnectorConfig) -> Result<(), CommandError> {
    let (type_id, settings) = match connector {
        ConnectorConfig::South(s) => (&s.type_id, &s.settings),
        ConnectorConfig::North(n) => (&n.type_id, &n.settings),
    };
    // Every text bounded, whatever the type: named by its pointer, with the limit.
    let mut problems = long_texts(connector);
    let Some((_, manifest)) = engine.folder.registry.connector_type(type_id) else {
        return match problems.is_empty() {
            true => Ok(()), // waits for its plugin; checked when it arrives
            false => Err(invalid_connector(type_id, problems)),
        };
    };
    let mut check = |prefix: String, schema: &serde_json::Value, value: &serde_json::Value| {
        if let Err(e) = schema::validate("", schema, value) {
            problems.extend(e.problems.into_iter().map(|p| PointedProblem {
                pointer: format!("{prefix}{}", p.pointer),
                message: p.message,
            }));
        }
    };
    check("/settings".into(), &manifest.settings_schema, settings);
    if let (ConnectorConfig::South(s), Some(item_schema)) = (connector, &manifest.item_schema) {
        // One compiled validator for every item.
        let mut validators = schema::Validators::default();
        for (i, item) in s.items.iter().enumerate() {
            if let Err(e) = validators.validate("", item_schema, &item.settings.value()) {
                problems.extend(e.problems.into_iter().map(|p| PointedProblem {
                    pointer: format!("/items/{i}/settings{}", p.pointer),
                    message: p.message,
                }));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid_connector(type_id, problems))
    }
}

/// A connector refused for `problems`.
fn invalid_connector(type_id: &str, problems: Vec<PointedProblem>) -> CommandError {
    CommandError {
        refusal: Refusal::Invalid,
        error: format!(
            "invalid settings for connector type {}: {}",
            config::limits::quoted(type_id),
            problems
                .iter()
                .map(|p| format!("{}: {}", p.pointer, p.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        problems,
    }
}

/// A text of `len` bytes at `pointer`, as a problem when it is longer than `max`.
fn too_long(pointer: String, what: &str, len: usize, max: usize) -> Option<PointedProblem> {
    (len > max).then(|| PointedProblem {
        pointer,
        message: config::limits::too_long(what, len, max),
    })
}

/// The texts of settings `value`, at `prefix`, longer than a setting may hold.
fn long_settings<'a>(
    prefix: &'a str,
    value: &serde_json::Value,
) -> impl Iterator<Item = PointedProblem> + 'a {
    let max = config::limits::MAX_SETTING;
    config::limits::long_texts(value, max)
        .into_iter()
        .filter_map(move |(pointer, len)| {
            too_long(format!("{prefix}{pointer}"), "a text", len, max)
        })
}

/// An item's name, scan mode and settings texts past their bounds, at `prefix` (`/items/3`,
/// `/item`).
fn long_item(
    prefix: &str,
    name: &str,
    scan_mode: &str,
    settings: &serde_json::Value,
) -> Vec<PointedProblem> {
    use config::limits::MAX_NAME;
    let named = [
        too_long(
            format!("{prefix}/name"),
            "an item name",
            name.len(),
            MAX_NAME,
        ),
        too_long(
            format!("{prefix}/scan_mode"),
            "a scan mode",
            scan_mode.len(),
            MAX_NAME,
        ),
    ];
    let settings_at = format!("{prefix}/settings");
    named
        .into_iter()
        .flatten()
        .chain(long_settings(&settings_at, settings))
        .collect()
}

/// The texts of a connector longer than the engine takes (its id, item names, every text of
/// its settings), by pointer.
fn long_texts(connector: &ConnectorConfig) -> Vec<PointedProblem> {
    use config::limits::{MAX_ID, MAX_NAME};
    let (id, type_id, settings) = match connector {
        ConnectorConfig::South(s) => (&s.id, &s.type_id, &s.settings),
        ConnectorConfig::North(n) => (&n.id, &n.type_id, &n.settings),
    };
    let mut problems: Vec<PointedProblem> = [
        too_long("/id".into(), "an id", id.len(), MAX_ID),
        too_long("/type".into(), "a type", type_id.len(), MAX_NAME),
    ]
    .into_iter()
    .flatten()
    .chain(long_settings("/settings", settings))
    .collect();
    if let ConnectorConfig::South(s) = connector {
        for (i, item) in s.items.iter().enumerate() {
            problems.extend(long_item(
                &format!("/items/{i}"),
                &item.name,
                &item.scan_mode,
                &item.settings.value(),
            ));
        }
    }
    problems
}

/// Writes the configuration file atomically (temporary file, fsync, rename), keeping the text
/// (and comments) of everything that did not change.
fn save(path: &Path, config: &Config, variables: &[(&str, String)]) -> Result<(), CommandError> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let text = config::rewrite(&old, config, variables).map_err(CommandError::internal)?;
    let tmp = path.with_extension("toml.tmp");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| CommandError::internal(format!("cannot save {}: {e}", path.display())))
}

/// Writes the items files of the Souths whose items changed (before the configuration that
/// names them).
fn save_items_files(file: &Path, old: &Config, new: &Config) -> Result<(), CommandError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    for s in &new.south {
        let Some(items_file) = &s.items_file else {
            continue;
        };
        let before = old.south.iter().find(|o| o.id == s.id);
        if before.is_some_and(|o| o.items_file == s.items_file && o.items == s.items) {
            continue;
        }
        let path = config::items_file_path(dir, items_file);
        config::items_file::write(&path, &s.items)
            .map_err(|e| CommandError::internal(format!("cannot save {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Validates a changed configuration, saves it, and makes it the engine's.
fn commit_config(engine: &mut Engine, candidate: Config) -> Result<(), CommandError> {
    let Some(file) = engine.config_file.clone() else {
        return Err(CommandError::conflict(
            "the embedded demo configuration cannot be changed: run the engine with --config FILE",
        ));
    };
    config::validate(&candidate, &engine.folder.registry, "request").map_err(|e| CommandError {
        refusal: Refusal::Invalid,
        error: e
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        problems: Vec::new(),
    })?;
    save_items_files(&file, &engine.config, &candidate)?;
    save(&file, &candidate, &engine.variables)?;
    engine.config = candidate;
    Ok(())
}

async fn upsert(
    engine: &mut Engine,
    connector: ConnectorConfig,
    create: bool,
) -> Result<(), CommandError> {
    let (kind, id) = (connector.kind(), connector.id().to_string());
    if create && exists(&engine.config, kind, &id) {
        return Err(CommandError::conflict(format!(
            "{kind} {id:?} already exists"
        )));
    }
    if !create && !exists(&engine.config, kind, &id) {
        return Err(CommandError::not_found(format!("no {kind} {id:?}")));
    }
    check_schemas(engine, &connector)?;
    let mut candidate = engine.config.clone();
    match &connector {
        // A replaced connector keeps its place in the file.
        ConnectorConfig::South(s) => match candidate.south.iter_mut().find(|x| x.id == id) {
            Some(x) => *x = s.clone(),
            None => candidate.south.push(s.clone()),
        },
        ConnectorConfig::North(n) => match candidate.north.iter_mut().find(|x| x.id == id) {
            Some(x) => *x = n.clone(),
            None => candidate.north.push(n.clone()),
        },
    }
    commit_config(engine, candidate)?;
    // Apply: stop and drop the old instance, start the new one if enabled.
    if let Some(i) = slot_index(engine, kind, &id) {
        let mut old = engine.slots.remove(i);
        old.stop(State::Stopped).await;
    }
    let role = match connector {
        ConnectorConfig::South(s) if s.enabled => Some(Role::South(Arc::new(s))),
        ConnectorConfig::North(n) if n.enabled => {
            let queue = engine.open_queue(&n).map_err(CommandError::internal)?;
            Some(Role::North(Box::new(n), queue))
        }
        ConnectorConfig::North(n) => {
            engine.queues.remove(&n.id);
            None
        }
        ConnectorConfig::South(_) => None,
    };
    if let Some(role) = role {
        let slot = engine.new_slot(role).map_err(CommandError::internal)?;
        engine.slots.push(slot);
        engine.reroute();
        let i = engine.slots.len() - 1;
        if let Err(e) = engine.start_slot(i) {
            engine.slots[i].status.error(e.to_string());
            engine.slots[i].status.set(State::Failed);
        }
    } else {
        engine.reroute();
    }
    tracing::info!(
        "{kind} {id:?} {} through the admin API",
        if create { "created" } else { "updated" }
    );
    Ok(())
}

/// Deletes a connector with what the engine kept for it: a South's tracked history instants, a
/// North's cache (queues, error stores, files), and the connector's private folder. A connector
/// created later under the same id starts afresh. A North whose cache holds data is deleted only
/// with `discard_queue`: otherwise the refusal says what would be lost.
async fn delete(
    engine: &mut Engine,
    kind: ConnectorKind,
    id: &str,
    discard_queue: bool,
) -> Result<(), CommandError> {
    if !exists(&engine.config, kind, id) {
        return Err(CommandError::not_found(format!("no {kind} {id:?}")));
    }
    let queue = match engine.config.north.iter().find(|n| n.id == id) {
        Some(n) if kind == ConnectorKind::North => Some(match engine.queues.get(id) {
            Some(q) => q.clone(),
            None => Arc::new(
                crate::cache::NorthQueue::open(
                    id,
                    engine.store.clone(),
                    n.caching.clone(),
                    engine.data.north_files(id),
                )
                .map_err(CommandError::internal)?,
            ),
        }),
        _ => None,
    };
    if let (Some(q), false) = (&queue, discard_queue) {
        let (values, files, _) = q.queued();
        let (_, error_values, error_files) = q.errors().map_err(CommandError::internal)?;
        if values + files + error_values + error_files > 0 {
            return Err(CommandError::conflict(format!(
                "north {id:?} still holds {values} queued value(s), {files} queued file(s), \
                 {error_values} value(s) and {error_files} file(s) in its error store: deleting \
                 it deletes them. Let it send them first, or delete with discard_queue=true"
            )));
        }
    }
    let mut candidate = engine.config.clone();
    match kind {
        ConnectorKind::South => {
            // An empty subscription list means "every South": removing the only one would
            // silently widen what the North receives.
            if let Some(n) = candidate.north.iter().find(|n| n.subscriptions == [id]) {
                return Err(CommandError::conflict(format!(
                    "north {:?} receives only from south {id:?}: change its subscriptions first \
                     (an empty list would mean every South)",
                    n.id
                )));
            }
            candidate.south.retain(|s| s.id != id);
            for n in &mut candidate.north {
                n.subscriptions.retain(|s| s != id);
            }
        }
        ConnectorKind::North => candidate.north.retain(|n| n.id != id),
    }
    commit_config(engine, candidate)?;
    if let Some(i) = slot_index(engine, kind, id) {
        let mut old = engine.slots.remove(i);
        old.stop(State::Stopped).await;
    }
    engine.queues.remove(id);
    engine.reroute();
    let mut dropped = String::new();
    match queue {
        Some(queue) => {
            let d = queue.destroy().await.map_err(CommandError::internal)?;
            dropped = format!(
                "; its cache ({} value(s), {} file(s)) was deleted",
                d.values, d.files
            );
        }
        None => {
            engine
                .store
                .apply(
                    vec![
                        crate::cache::Op::DeleteState {
                            prefix: history::state_prefix(id),
                        },
                        crate::cache::Op::DeleteState {
                            prefix: super::history_edge::state_key(id),
                        },
                    ],
                    true,
                )
                .await
                .map_err(CommandError::internal)?;
        }
    }
    // Its totals go with it: a connector created later under the same id counts from zero.
    if let Err(e) = engine
        .store
        .apply(
            vec![crate::cache::Op::DeleteState {
                prefix: super::status::counters_key(id),
            }],
            true,
        )
        .await
    {
        tracing::warn!("{e}");
    }
    let private = engine.data.connector_state(id);
    if let Err(e) = std::fs::remove_dir_all(&private)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("cannot delete {}: {e}", private.display());
    }
    tracing::info!("{kind} {id:?} deleted through the admin API{dropped}");
    Ok(())
}

async fn run(
    engine: &mut Engine,
    kind: ConnectorKind,
    id: &str,
    start: bool,
) -> Result<(), CommandError> {
    let Some(i) = slot_index(engine, kind, id) else {
        return Err(CommandError::not_found(format!("no enabled {kind} {id:?}")));
    };
    if start {
        if engine.slots[i].plugin().is_none() {
            engine
                .start_slot(i)
                .map_err(|e| CommandError::conflict(e.to_string()))?;
        }
    } else {
        engine.slots[i].stop(State::Stopped).await;
    }
    Ok(())
}

/// What a test of a connector type runs with: its plugin and the engine's folders and settings.
struct Trial {
    plugin: LoadedPlugin,
    state_dir: std::path::PathBuf,
    plugins_data: std::path::PathBuf,
    timeouts: connector::Timeouts,
    isolation: super::slot::Isolating,
}

impl Trial {
    /// Finds the plugin of `type_id`, checks its kind and the settings against its schema.
    fn new(
        engine: &Engine,
        kind: ConnectorKind,
        type_id: &str,
        settings: &serde_json::Value,
    ) -> Result<Self, CommandError> {
        let Some((plugin, manifest)) = engine.folder.registry.connector_type(type_id) else {
            return Err(CommandError::not_found(format!(
                "no connector type {}",
                config::limits::quoted(type_id)
            )));
        };
        if manifest.kind != kind {
            return Err(CommandError::bad_request(format!(
                "{} is a {} connector type",
                config::limits::quoted(type_id),
                manifest.kind
            )));
        }
        if let Some(p) = long_settings("/settings", settings).next() {
            return Err(CommandError::bad_request(format!(
                "{}: {}",
                p.pointer, p.message
            )));
        }
        schema::validate("", &manifest.settings_schema, settings)
            .map_err(|e| invalid("invalid settings", "/settings", e))?;
        Ok(Self {
            plugin: plugin.clone(),
            state_dir: engine.data.0.join("test-connection"),
            plugins_data: engine.data.plugins_data(),
            timeouts: engine.shared.timeouts,
            isolation: engine.shared.isolation.clone(),
        })
    }

    /// The specification of the connector made for the test.
    fn spec<'a>(
        &self,
        type_id: &'a str,
        settings: &'a serde_json::Value,
    ) -> Result<ConnectorSpec<'a>, connector::ConnectorError> {
        Ok(ConnectorSpec {
            id: "test-connection",
            type_id,
            settings,
            state_dir: self.state_dir.clone(),
            plugins_data: self.plugins_data.clone(),
            timeouts: self.timeouts,
            reports: Default::default(),
            isolation: self
                .isolation
                .for_connector("test-connection", &self.plugin, None)?,
        })
    }
}

/// An invalid command, with each schema problem at its pointer under `prefix` in the request body.
fn invalid(error: &str, prefix: &str, e: schema::SchemaError) -> CommandError {
    CommandError {
        refusal: Refusal::Invalid,
        error: error.into(),
        problems: e
            .problems
            .into_iter()
            .map(|p| PointedProblem {
                pointer: format!("{prefix}{}", p.pointer),
                message: p.message,
            })
            .collect(),
    }
}

/// The test ran and failed.
fn failed(e: impl std::fmt::Display) -> CommandError {
    CommandError {
        refusal: Refusal::Failed,
        error: e.to_string(),
        problems: Vec::new(),
    }
}

fn test_connection(
    engine: &Engine,
    kind: ConnectorKind,
    type_id: String,
    settings: serde_json::Value,
    reply: Reply<()>,
) {
    let trial = match Trial::new(engine, kind, &type_id, &settings) {
        Ok(t) => t,
        Err(e) => {
            let _ = reply.send(Err(e));
            return;
        }
    };
    tokio::spawn(async move {
        let result = match trial.spec(&type_id, &settings).and_then(|spec| {
            connector::create_in(
                &trial.plugin,
                spec,
                Arc::new(DiscardSink),
                tokio::runtime::Handle::current(),
            )
        }) {
            Ok(c) => c.test_connection().await,
            Err(e) => Err(e),
        };
        let _ = reply.send(result.map_err(failed));
    });
}

/// Runs `run` on the connector type of a South trial in a task, and replies with what it gave.
fn south_trial<T, F>(
    engine: &Engine,
    type_id: String,
    settings: serde_json::Value,
    reply: Reply<T>,
    run: F,
) where
    T: Send + 'static,
    F: for<'a> FnOnce(
            &'a LoadedPlugin,
            ConnectorSpec<'a>,
        )
            -> futures_util::future::BoxFuture<'a, Result<T, connector::TrialError>>
        + Send
        + 'static,
{
    let trial = match Trial::new(engine, ConnectorKind::South, &type_id, &settings) {
        Ok(t) => t,
        Err(e) => {
            let _ = reply.send(Err(e));
            return;
        }
    };
    tokio::spawn(async move {
        let result = match trial.spec(&type_id, &settings) {
            Ok(spec) => run(&trial.plugin, spec).await,
            Err(e) => Err(e.into()),
        };
        let _ = reply.send(result.map_err(|e| match e {
            connector::TrialError::Item(e) => invalid("invalid item settings", "/item/settings", e),
            connector::TrialError::NotSouth { .. } => CommandError::bad_request(e.to_string()),
            other => failed(other),
        }));
    });
}

fn test_item(
    engine: &Engine,
    type_id: String,
    settings: serde_json::Value,
    item: connector::TrialItem,
    reply: Reply<Vec<OibusValue>>,
) {
    let long = long_item("/item", &item.name, &item.scan_mode, &item.settings);
    if let Some(p) = long.into_iter().next() {
        let _ = reply.send(Err(CommandError {
            refusal: Refusal::Invalid,
            error: format!("{}: {}", p.pointer, p.message),
            problems: vec![p],
        }));
        return;
    }
    south_trial(engine, type_id, settings, reply, move |plugin, spec| {
        Box::pin(async move { connector::test_item(plugin, spec, &item).await })
    });
}

fn browse(
    engine: &Engine,
    type_id: String,
    settings: serde_json::Value,
    request: oibus_plugin_api::BrowseRequest,
    reply: Reply<Vec<oibus_plugin_api::BrowsedNode>>,
) {
    south_trial(engine, type_id, settings, reply, move |plugin, spec| {
        Box::pin(async move { connector::browse(plugin, spec, &request).await })
    });
}

fn history_range(engine: &Engine, id: &str, start: Timestamp, end: Timestamp, reply: Reply<u64>) {
    let Some(i) = slot_index(engine, ConnectorKind::South, id) else {
        let _ = reply.send(Err(CommandError::not_found(format!(
            "no enabled South {id:?}"
        ))));
        return;
    };
    let slot = &engine.slots[i];
    let Role::South(config) = &slot.role else {
        return;
    };
    let (Some(connector), Some(stopped), true) =
        (slot.connector(), slot.cancel_token(), slot.is_connected())
    else {
        let _ = reply.send(Err(CommandError::conflict(format!(
            "South {id:?} is not connected"
        ))));
        return;
    };
    if end <= start {
        let _ = reply.send(Err(CommandError::bad_request("end must be after start")));
        return;
    }
    let settings = config.history.clone();
    let limit = settings.max_request_range.0;
    if (end.as_nanos() - start.as_nanos()).unsigned_abs() as u128 > limit.as_nanos() {
        let _ = reply.send(Err(CommandError::bad_request(format!(
            "the range from {start} to {end} is longer than history.max_request_range of South {id:?} ({})",
            humantime::format_duration(limit)
        ))));
        return;
    }
    let status = slot.status.clone();
    if status.history_request_running() {
        let _ = reply.send(Err(CommandError::conflict(format!(
            "South {id:?} is already reading a history request"
        ))));
        return;
    }
    let schema = slot
        .plugin()
        .and_then(|p| p.manifest().connector_type(&config.type_id))
        .and_then(|m| m.item_schema.as_ref());
    let items: Vec<_> = super::south::items(config, schema)
        .into_iter()
        .filter(|i| i.scan_mode.as_str() != config::SUBSCRIPTION)
        .collect();
    let windows = history::windows(start, end, settings.max_read_interval.0);
    let (total, started) = (windows.len() as u64, Timestamp::now());
    let progress = move |windows_done: u64, state: &str, error: Option<String>| {
        *status
            .history_request
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(super::status::HistoryProgress {
            start,
            end,
            windows_done,
            windows: total,
            state: state.to_string(),
            error,
            started,
        });
    };
    progress(0, "running", None);
    let span = connector.span().clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut reply = reply;
            let mut done = 0u64;
            tracing::info!("history request from {start} to {end}: {total} window(s)");
            for (s, e) in windows {
                if done > 0 {
                    tokio::select! {
                        () = stopped.cancelled() => {}
                        () = reply.closed() => {}
                        () = tokio::time::sleep(settings.read_delay.0) => {}
                    }
                }
                // Stopped with the South, or abandoned by its client: what was read is kept.
                let outcome = tokio::select! {
                    () = stopped.cancelled() => Err("stopped"),
                    () = reply.closed() => Err("cancelled"),
                    r = connector.history_query(items.clone(), s, e) => Ok(r),
                };
                match outcome {
                    Err(why) => {
                        tracing::info!("history request {why} after {done} of {total} window(s)");
                        progress(done, why, None);
                        let _ = reply.send(Err(CommandError::conflict(format!(
                            "the history request was {why} after {done} window(s)"
                        ))));
                        return;
                    }
                    Ok(Err(err)) => {
                        tracing::warn!("history request failed: {err}");
                        progress(done, "failed", Some(err.to_string()));
                        let _ = reply.send(Err(CommandError {
                            refusal: Refusal::SourceFailed,
                            error: err.to_string(),
                            problems: Vec::new(),
                        }));
                        return;
                    }
                    Ok(Ok(_)) => {
                        done += 1;
                        progress(done, "running", None);
                    }
                }
            }
            tracing::info!("history request done: {done} window(s)");
            progress(done, "done", None);
            let _ = reply.send(Ok(done));
        },
        span,
    ));
}

fn cache_listing(engine: &Engine, id: &str) -> Result<CacheContents, CommandError> {
    let queue = engine
        .queues
        .get(id)
        .ok_or_else(|| CommandError::not_found(format!("no enabled North {id:?}")))?;
    let file = |key: u64, f: crate::cache::FileRecord, set_aside| CachedEntry {
        key,
        file: Some(f.name),
        count: 1,
        bytes: f.size,
        points: Vec::new(),
        set_aside,
    };
    let (values, files) = queue.queued_entries();
    let mut queued: Vec<CachedEntry> = values
        .into_iter()
        .map(|(key, count, bytes)| CachedEntry {
            key,
            file: None,
            count,
            bytes: bytes as u64,
            points: Vec::new(),
            set_aside: None,
        })
        .collect();
    queued.extend(files.into_iter().map(|(k, f)| file(k, f, None)));
    let (batches, files) = queue.error_entries().map_err(CommandError::internal)?;
    let mut errors: Vec<CachedEntry> = batches
        .into_iter()
        .map(|b| CachedEntry {
            key: b.key,
            file: None,
            count: b.count,
            bytes: b.bytes,
            points: b.points,
            set_aside: b.why,
        })
        .collect();
    errors.extend(files.into_iter().map(|f| file(f.key, f.record, f.why)));
    Ok(CacheContents { queued, errors })
}
