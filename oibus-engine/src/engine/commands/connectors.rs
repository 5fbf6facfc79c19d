//! Creating, replacing, deleting, starting and stopping connectors: checked, saved, applied.

use super::{
    lookup::{exists, slot_index},
    refusal::{CommandError, PointedProblem, Refusal},
    request::ConnectorConfig,
    text_bounds::long_texts,
};
use crate::engine::{history, running::Engine, slot::Role, status::State};
use crate::{
    config::{self, Config},
    schema,
};
use oibus_plugin_api::ConnectorKind;
use std::sync::Arc;

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

/// Validates a changed configuration, saves it, and makes it the engine's.
pub(super) fn commit_config(engine: &mut Engine, candidate: Config) -> Result<(), CommandError> {
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
    config::save(&file, &engine.config, &candidate, &engine.variables)
        .map_err(CommandError::internal)?;
    engine.config = candidate;
    Ok(())
}

pub(super) async fn upsert(
    engine: &mut Engine,
    mut connector: ConnectorConfig,
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
    if !create {
        super::saved_secrets::keep_in_replacement(engine, &mut connector);
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
        "{kind} {id:?} {} on request",
        if create { "created" } else { "updated" }
    );
    Ok(())
}

/// Deletes a connector with what the engine kept for it: a South's tracked history instants, a
/// North's cache (queues, error stores, files), and the connector's private folder. A connector
/// created later under the same id starts afresh. A North whose cache holds data is deleted only
/// with `discard_queue`: otherwise the refusal says what would be lost.
pub(super) async fn delete(
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
                            prefix: crate::engine::history_edge::state_key(id),
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
                prefix: crate::engine::status::counters_key(id),
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
    tracing::info!("{kind} {id:?} deleted on request{dropped}");
    Ok(())
}

pub(super) async fn run(
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
