//! Calls on a connector made for one request (test connection, test an item, browse), in a
//! scratch folder, away from the running connectors.

use super::{
    refusal::{CommandError, PointedProblem, Refusal},
    request::Reply,
    text_bounds::{long_item, long_settings},
};
use crate::engine::running::Engine;
use crate::{
    config::{self},
    connector::{self, ConnectorSpec, DiscardSink},
    loader::LoadedPlugin,
    schema,
};
use oibus_plugin_api::{ConnectorKind, OibusValue};
use std::sync::Arc;

/// What a test of a connector type runs with: its plugin and the engine's folders and settings.
struct ScratchConnector {
    plugin: LoadedPlugin,
    state_dir: std::path::PathBuf,
    plugins_data: std::path::PathBuf,
    timeouts: connector::Timeouts,
    isolation: crate::engine::slot::Isolating,
}

impl ScratchConnector {
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
            return Err(CommandError::invalid(format!(
                "{} is a {} connector type",
                config::limits::quoted(type_id),
                manifest.kind
            )));
        }
        if let Some(p) = long_settings("/settings", settings).next() {
            return Err(CommandError::invalid(format!(
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

pub(super) fn test_connection(
    engine: &Engine,
    kind: ConnectorKind,
    type_id: String,
    settings: serde_json::Value,
    reply: Reply<()>,
) {
    let trial = match ScratchConnector::new(engine, kind, &type_id, &settings) {
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
    let trial = match ScratchConnector::new(engine, ConnectorKind::South, &type_id, &settings) {
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
            connector::TrialError::NotSouth { .. } => CommandError::invalid(e.to_string()),
            other => failed(other),
        }));
    });
}

pub(super) fn test_item(
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

pub(super) fn browse(
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
