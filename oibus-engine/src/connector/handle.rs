//! The engine's handle on one connector instance.

use super::{
    backend::{Answer, Backend, Call},
    in_process::InProcess,
    isolated::{ChildSettings, Creation, IsolatedConnector, Outlets},
};
use super::{error::ConnectorError, host::DataSink, host::HostContext};
use crate::{
    loader::{LoadedPlugin, PluginRegistry},
    schema,
};
use abi_stable::sabi_trait::TD_Opaque;
use oibus_plugin_api::{ConnectorKind, Item, OibusValue, Timestamp, ffi::FfiHost_TO};
use std::{path::PathBuf, sync::Arc, time::Duration};
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
    /// The folder holding one folder per plugin shared by its connectors (`<data>/plugin-data`);
    /// the connector's is `<plugins_data>/<plugin id>`.
    pub plugins_data: PathBuf,
    /// Time-outs of its calls.
    pub timeouts: Timeouts,
    /// Where its reports of dropped messages and failing items go (kept by its status).
    pub reports: Arc<super::reports::SourceReports>,
    /// `Some`: the connector runs in a child process of its own, started with these settings.
    pub isolation: Option<ChildSettings>,
}

/// The engine's handle on a live connector instance in a plugin (not the SDK's `Connector` trait,
/// which the plugin implements): every call goes through its backend with a time-out.
pub struct ConnectorHandle {
    id: String,
    type_id: String,
    kind: ConnectorKind,
    plugin: String,
    backend: Box<dyn Backend>,
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
) -> Result<ConnectorHandle, ConnectorError> {
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
) -> Result<ConnectorHandle, ConnectorError> {
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
        // At error level, so that the span is there whatever the log level: a warning logged
        // under `OIBUS_LOG=warn` still names its connector.
        tracing::error_span!("connector", connector.kind = %manifest.kind, connector.id = spec.id);
    let plugin_name = format!("{} {}", plugin.manifest().id, plugin.manifest().version);
    let plugin_dir = spec.plugins_data.join(&plugin.manifest().id);
    if let Some(settings) = spec.isolation {
        let (lost_tx, lost) = tokio::sync::mpsc::channel(4);
        let inner = IsolatedConnector::new(
            settings,
            Creation {
                file: plugin.file().to_path_buf(),
                library: plugin.shadow_path().to_path_buf(),
                connector_id: spec.id.to_string(),
                type_id: spec.type_id.to_string(),
                settings: spec.settings.to_string(),
                state_dir: spec.state_dir,
                plugin_dir,
            },
            Outlets {
                sink,
                runtime,
                reports: spec.reports,
                lost: lost_tx,
                span: span.clone(),
            },
        );
        return Ok(ConnectorHandle {
            id: spec.id.to_string(),
            type_id: spec.type_id.to_string(),
            kind: manifest.kind,
            plugin: plugin_name,
            backend: Box::new(inner),
            timeouts: spec.timeouts,
            span,
            lost: std::sync::Mutex::new(Some(lost)),
        });
    }
    let (host, lost) = HostContext::new(
        spec.id,
        (spec.state_dir, plugin_dir),
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
    Ok(ConnectorHandle {
        id: spec.id.to_string(),
        type_id: spec.type_id.to_string(),
        kind: manifest.kind,
        plugin: plugin_name,
        backend: Box::new(InProcess {
            id: spec.id.to_string(),
            instance: inner,
        }),
        timeouts: spec.timeouts,
        span,
        lost: std::sync::Mutex::new(Some(lost)),
    })
}

impl ConnectorHandle {
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

    /// Whether the connector runs in a child process.
    pub fn is_isolated(&self) -> bool {
        self.backend.is_isolated()
    }

    /// Runs one call where the connector lives, within the lifecycle or the data time-out.
    async fn call(&self, op: &'static str, call: Call) -> Result<Answer, ConnectorError> {
        let limit = match call {
            Call::Start | Call::Connect | Call::Stop | Call::Disconnect | Call::TestConnection => {
                self.timeouts.lifecycle
            }
            _ => self.timeouts.data,
        };
        if self.is_isolated() {
            tracing::debug!(parent: &self.span, "{op} (isolated)");
        } else {
            tracing::debug!(parent: &self.span, "{op}");
        }
        self.backend.call(op, limit, call).await
    }

    /// A call that answers nothing but success.
    async fn done(&self, op: &'static str, call: Call) -> Result<(), ConnectorError> {
        self.call(op, call).await.map(|_| ())
    }

    /// `start` (the SDK default calls `connect`).
    pub async fn start(&self) -> Result<(), ConnectorError> {
        self.done("start", Call::Start).await
    }
    /// `connect`.
    pub async fn connect(&self) -> Result<(), ConnectorError> {
        self.done("connect", Call::Connect).await
    }
    /// `stop` (the SDK default calls `disconnect`).
    pub async fn stop(&self) -> Result<(), ConnectorError> {
        self.done("stop", Call::Stop).await
    }
    /// `disconnect`.
    pub async fn disconnect(&self) -> Result<(), ConnectorError> {
        self.done("disconnect", Call::Disconnect).await
    }
    /// `test_connection`.
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.done("test_connection", Call::TestConnection).await
    }
    /// North `handle_values`.
    pub async fn handle_values(&self, values: Vec<OibusValue>) -> Result<(), ConnectorError> {
        self.done("handle_values", Call::HandleValues(values)).await
    }
    /// North `handle_file`.
    pub async fn handle_file(&self, path: &std::path::Path) -> Result<(), ConnectorError> {
        let path = path.to_string_lossy().into_owned();
        self.done("handle_file", Call::HandleFile(path)).await
    }
    /// North `handle_files` (API 1.3): the caller checks first that the type declares
    /// `HandlesFileBatches`.
    pub async fn handle_files(&self, paths: &[std::path::PathBuf]) -> Result<(), ConnectorError> {
        let paths = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        self.done("handle_files", Call::HandleFiles(paths)).await
    }
    /// South `last_point_query`.
    pub async fn last_point_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.done("last_point_query", Call::LastPoint(items)).await
    }
    /// South `file_query`.
    pub async fn file_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.done("file_query", Call::FileQuery(items)).await
    }
    /// South `history_query`: returns the newest timestamp read.
    pub async fn history_query(
        &self,
        items: Vec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>, ConnectorError> {
        match self
            .call("history_query", Call::History { items, start, end })
            .await?
        {
            Answer::Newest(newest) => Ok(newest),
            _ => Ok(None),
        }
    }
    /// South `subscribe`.
    pub async fn subscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.done("subscribe", Call::Subscribe(items)).await
    }
    /// South `test_item` (API 1.1): the values one read of `item` gives, sent nowhere. The
    /// caller checks first that the type declares `TestsItem`; a plugin built before API 1.1
    /// answers `not-supported` all the same.
    pub async fn test_item(&self, item: Item) -> Result<Vec<OibusValue>, ConnectorError> {
        match self.call("test_item", Call::TestItem(item)).await? {
            Answer::Values(values) => Ok(values),
            _ => Ok(Vec::new()),
        }
    }
    /// South `browse` (API 1.2): the nodes under `request.from`. The caller checks first that the
    /// type declares `Browses`; a plugin built before API 1.2 answers `not-supported` all the same.
    pub async fn browse(
        &self,
        request: &oibus_plugin_api::BrowseRequest,
    ) -> Result<Vec<oibus_plugin_api::BrowsedNode>, ConnectorError> {
        let request = serde_json::to_string(request).unwrap_or_default();
        let answer = match self.call("browse", Call::Browse(request)).await? {
            Answer::Json(answer) => answer,
            _ => "[]".to_string(),
        };
        serde_json::from_str(&answer).map_err(|e| ConnectorError::Engine {
            connector: self.id.clone(),
            message: format!("the plugin's browse answer is not a list of nodes: {e}"),
        })
    }
    /// South `unsubscribe`.
    pub async fn unsubscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.done("unsubscribe", Call::Unsubscribe(items)).await
    }
}
