//! What a front end (the admin API) asks of the running engine. Requests arrive on a channel and
//! are carried out by the engine's main loop, one at a time, with a reply each: [`request`]
//! says what can be asked, [`refusal`] why it may be refused; one file per concern carries them
//! out.

mod cache;
mod connectors;
mod history;
mod lookup;
mod refusal;
mod replay;
mod request;
mod saved_secrets;
mod scan_modes;
mod scratch;
mod text_bounds;

pub use refusal::{CommandError, PointedProblem, Refusal};
pub use request::{
    CacheContents, CachedEntry, Command, ConnectorConfig, ErrorAction, OfferedType, Replayed,
    ReplayedLog,
};

use self::{
    cache::cache_listing,
    connectors::{delete, run, upsert},
    history::history_range,
    scratch::{browse, test_connection, test_item},
};
use crate::engine::running::Engine;
use oibus_plugin_api::ConnectorKind;

/// Carries out one command.
pub async fn handle(engine: &mut Engine, command: Command) {
    match command {
        Command::Rescan(reply) => {
            engine.folder.retry_refused();
            engine.rescan().await;
            let _ = reply.send(Ok(engine.folder.reports()));
        }
        Command::OpenUpload { name, limit, reply } => {
            let r = engine.folder.open_upload(&name, limit).await;
            let _ = reply.send(r.map_err(CommandError::invalid));
        }
        Command::InstallPluginFile { upload, reply } => {
            if let Err(e) = engine.folder.install(upload).await {
                let _ = reply.send(Err(CommandError::invalid(e)));
                return;
            }
            engine.folder.retry_refused();
            engine.rescan().await;
            let _ = reply.send(Ok(engine.folder.reports()));
        }
        Command::RemovePluginFile { name, reply } => {
            use crate::engine::plugin_folder::RemoveError;
            if let Err(e) = engine.folder.remove(&name, &engine.slots) {
                let _ = reply.send(Err(match e {
                    RemoveError::Invalid(why) => CommandError::invalid(why),
                    RemoveError::NotFound(why) => CommandError::not_found(why),
                    RemoveError::InUse(why) => CommandError::conflict(why),
                    RemoveError::Failed(why) => CommandError::internal(why),
                }));
                return;
            }
            engine.rescan().await;
            let _ = reply.send(Ok(engine.folder.reports()));
        }
        Command::ScanModes(reply) => {
            let _ = reply.send(Ok(engine.config.scan_modes.clone()));
        }
        Command::PutScanMode { mode, reply } => {
            let _ = reply.send(scan_modes::put(engine, mode).await);
        }
        Command::DeleteScanMode { name, reply } => {
            let _ = reply.send(scan_modes::delete(engine, &name));
        }
        Command::Force { file, reply } => {
            let r = engine
                .folder
                .force(&file, &mut engine.slots, &engine.shared)
                .await
                .map_err(CommandError::invalid);
            engine.reroute();
            engine.publish_plugins();
            let _ = reply.send(r);
        }
        Command::Unforce { id, reply } => {
            let r = engine
                .folder
                .unforce(&id, &mut engine.slots, &engine.shared)
                .await
                .map_err(CommandError::invalid);
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
            let _ = reply.send(Ok(saved_secrets::shown_config(engine)));
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
            mut settings,
            saved,
            reply,
        } => {
            let saved = saved.as_deref();
            saved_secrets::fill_from_saved(engine, saved, kind, &type_id, &mut settings, &mut []);
            test_connection(engine, kind, type_id, settings, reply);
        }
        Command::TestItem {
            type_id,
            mut settings,
            mut item,
            saved,
            reply,
        } => {
            saved_secrets::fill_from_saved(
                engine,
                saved.as_deref(),
                ConnectorKind::South,
                &type_id,
                &mut settings,
                &mut [(item.name.as_str(), &mut item.settings)],
            );
            test_item(engine, type_id, settings, item, reply);
        }
        Command::Browse {
            type_id,
            mut settings,
            request,
            saved,
            reply,
        } => {
            saved_secrets::fill_from_saved(
                engine,
                saved.as_deref(),
                ConnectorKind::South,
                &type_id,
                &mut settings,
                &mut [],
            );
            browse(engine, type_id, settings, request, reply);
        }
        Command::History {
            id,
            start,
            end,
            reply,
        } => history_range(engine, &id, start, end, reply),
        Command::Cache { id, reply } => {
            let _ = reply.send(cache_listing(engine, &id));
        }
        Command::Replay {
            id,
            since,
            south,
            reply,
        } => replay::replay(engine, id, since, south, reply),
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
