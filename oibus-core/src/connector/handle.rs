//! The engine's handle on one connector instance.

use super::{ConnectorError, DataSink, HostContext};
use crate::{
    plugin::{LoadedPlugin, PluginRegistry},
    schema,
};
use abi_stable::{sabi_trait::TD_Opaque, std_types::RResult};
use async_ffi::FfiFuture;
use futures_util::FutureExt as _;
use oibus_plugin_api::{
    ConnectorKind, Item, OibusValue, PluginError, Timestamp,
    ffi::{ConnectorBox, FfiHost_TO},
};
use std::{panic::AssertUnwindSafe, path::PathBuf, sync::Arc, time::Duration};
use tokio::runtime::Handle;
use tracing::Span;

/// Time-outs of connector calls.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `start`, `connect`, `stop`, `disconnect`, `test_connection`.
    pub lifecycle: Duration,
    /// `handle_values`, `handle_file`, queries, `subscribe`.
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            lifecycle: Duration::from_secs(30),
            data: Duration::from_secs(120),
        }
    }
}

/// What is needed to create a connector.
pub struct ConnectorSpec<'a> {
    /// Connector id (unique in the configuration).
    pub id: &'a str,
    /// Connector type id (from a plugin manifest).
    pub type_id: &'a str,
    /// Settings, validated against the type's schema before the plugin sees them.
    pub settings: &'a serde_json::Value,
    /// Private state folder of the connector.
    pub state_dir: PathBuf,
    /// Time-outs of its calls.
    pub timeouts: Timeouts,
    /// Where its reports of dropped messages and failing items go (kept by its status).
    pub reports: Arc<super::SourceReports>,
}

/// A live connector instance in a plugin.
pub struct Connector {
    id: String,
    type_id: String,
    kind: ConnectorKind,
    plugin: String,
    inner: ConnectorBox,
    timeouts: Timeouts,
    span: Span,
    lost: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<String>>>,
}

/// Validates the settings and creates the connector in the plugin providing its type.
pub fn create(
    registry: &PluginRegistry,
    spec: ConnectorSpec<'_>,
    sink: Arc<dyn DataSink>,
    runtime: Handle,
) -> Result<Connector, ConnectorError> {
    let (plugin, _) =
        registry
            .connector_type(spec.type_id)
            .ok_or_else(|| ConnectorError::UnknownType {
                connector: spec.id.to_string(),
                type_id: spec.type_id.to_string(),
                available: registry.type_ids().collect::<Vec<_>>().join(", "),
            })?;
    create_in(plugin, spec, sink, runtime)
}

/// Validates the settings and creates the connector in this plugin (a given version of it).
pub fn create_in(
    plugin: &LoadedPlugin,
    spec: ConnectorSpec<'_>,
    sink: Arc<dyn DataSink>,
    runtime: Handle,
) -> Result<Connector, ConnectorError> {
    let manifest = plugin
        .manifest()
        .connector_type(spec.type_id)
        .ok_or_else(|| ConnectorError::UnknownType {
            connector: spec.id.to_string(),
            type_id: spec.type_id.to_string(),
            available: plugin
                .manifest()
                .connector_types
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    schema::validate(
        &format!(
            "settings of connector {:?} (type {:?})",
            spec.id, spec.type_id
        ),
        &manifest.settings_schema,
        spec.settings,
    )?;
    let span =
        tracing::info_span!("connector", connector.kind = %manifest.kind, connector.id = spec.id);
    let (host, lost) = HostContext::new(
        spec.id,
        spec.state_dir,
        span.clone(),
        sink,
        runtime,
        spec.reports,
    );
    let inner = plugin
        .create_connector(
            spec.type_id,
            &spec.settings.to_string(),
            FfiHost_TO::from_value(host, TD_Opaque),
        )
        .map_err(|e| ConnectorError::from_plugin(spec.id, "create", e))?;
    Ok(Connector {
        id: spec.id.to_string(),
        type_id: spec.type_id.to_string(),
        kind: manifest.kind,
        plugin: format!("{} {}", plugin.manifest().id, plugin.manifest().version),
        inner,
        timeouts: spec.timeouts,
        span,
        lost: std::sync::Mutex::new(Some(lost)),
    })
}

impl Connector {
    /// The connector id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The connector type id.
    pub fn type_id(&self) -> &str {
        &self.type_id
    }
    /// South or North.
    pub fn kind(&self) -> ConnectorKind {
        self.kind
    }
    /// `plugin-id version` of the plugin running it.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }
    /// The plugin's reports of a lost connection (`Context::connection_lost`); can be taken once.
    pub fn take_connection_lost(&self) -> Option<tokio::sync::mpsc::Receiver<String>> {
        self.lost.lock().ok()?.take()
    }

    /// The connector's tracing span (`connector.kind`, `connector.id`).
    pub fn span(&self) -> &Span {
        &self.span
    }

    async fn call<T>(
        &self,
        op: &'static str,
        limit: Duration,
        fut: FfiFuture<RResult<T, PluginError>>,
    ) -> Result<T, ConnectorError> {
        tracing::debug!(parent: &self.span, "{op}");
        // The SDK never lets a panic escape, but a plugin written without it might: catch it here too.
        match tokio::time::timeout(limit, AssertUnwindSafe(fut).catch_unwind()).await {
            Err(_) => Err(ConnectorError::TimedOut {
                connector: self.id.clone(),
                op,
                after: limit,
            }),
            Ok(Err(_)) => Err(ConnectorError::Panicked {
                connector: self.id.clone(),
                op,
                message: "the plugin's future panicked while being polled".into(),
            }),
            Ok(Ok(RResult::RErr(e))) => Err(ConnectorError::from_plugin(&self.id, op, e)),
            Ok(Ok(RResult::ROk(v))) => Ok(v),
        }
    }

    /// `start` (the SDK default calls `connect`).
    pub async fn start(&self) -> Result<(), ConnectorError> {
        self.call("start", self.timeouts.lifecycle, self.inner.start())
            .await
    }
    /// `connect`.
    pub async fn connect(&self) -> Result<(), ConnectorError> {
        self.call("connect", self.timeouts.lifecycle, self.inner.connect())
            .await
    }
    /// `stop` (the SDK default calls `disconnect`).
    pub async fn stop(&self) -> Result<(), ConnectorError> {
        self.call("stop", self.timeouts.lifecycle, self.inner.stop())
            .await
    }
    /// `disconnect`.
    pub async fn disconnect(&self) -> Result<(), ConnectorError> {
        self.call(
            "disconnect",
            self.timeouts.lifecycle,
            self.inner.disconnect(),
        )
        .await
    }
    /// `test_connection`.
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.call(
            "test_connection",
            self.timeouts.lifecycle,
            self.inner.test_connection(),
        )
        .await
    }
    /// North `handle_values`.
    pub async fn handle_values(&self, values: Vec<OibusValue>) -> Result<(), ConnectorError> {
        self.call(
            "handle_values",
            self.timeouts.data,
            self.inner.handle_values(values.into()),
        )
        .await
    }
    /// North `handle_file`.
    pub async fn handle_file(&self, path: &std::path::Path) -> Result<(), ConnectorError> {
        let path = path.to_string_lossy().into_owned();
        self.call(
            "handle_file",
            self.timeouts.data,
            self.inner.handle_file(path.into()),
        )
        .await
    }
    /// South `last_point_query`.
    pub async fn last_point_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.call(
            "last_point_query",
            self.timeouts.data,
            self.inner.last_point_query(items.into()),
        )
        .await
    }
    /// South `file_query`.
    pub async fn file_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.call(
            "file_query",
            self.timeouts.data,
            self.inner.file_query(items.into()),
        )
        .await
    }
    /// South `history_query`: returns the newest timestamp read.
    pub async fn history_query(
        &self,
        items: Vec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>, ConnectorError> {
        self.call(
            "history_query",
            self.timeouts.data,
            self.inner.history_query(items.into(), start, end),
        )
        .await
        .map(Into::into)
    }
    /// South `subscribe`.
    pub async fn subscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.call(
            "subscribe",
            self.timeouts.data,
            self.inner.subscribe(items.into()),
        )
        .await
    }
    /// South `unsubscribe`.
    pub async fn unsubscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.call(
            "unsubscribe",
            self.timeouts.data,
            self.inner.unsubscribe(items.into()),
        )
        .await
    }
}
