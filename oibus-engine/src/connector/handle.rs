//! The engine's handle on one connector instance.

use super::{error::ConnectorError, host::DataSink, host::HostContext};
use crate::isolation::{Creation, IsolatedConnector, Outlets, protocol};
use crate::{
    plugin::{LoadedPlugin, PluginRegistry},
    schema,
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RVec},
};
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
    /// The folder holding one folder per plugin shared by its connectors (`<data>/plugin-data`);
    /// the connector's is `<plugins_data>/<plugin id>`.
    pub plugins_data: PathBuf,
    /// Time-outs of its calls.
    pub timeouts: Timeouts,
    /// Where its reports of dropped messages and failing items go (kept by its status).
    pub reports: Arc<super::reports::SourceReports>,
    /// `Some`: the connector runs in a child process of its own, started with these settings.
    pub isolation: Option<crate::isolation::ChildSettings>,
}

/// A South call on items, on the vtable.
type ItemsCall = fn(&ConnectorBox, RVec<Item>) -> FfiFuture<RResult<(), PluginError>>;

/// Where a connector's calls go.
enum Instance {
    /// The plugin's vtable, in this process.
    InProcess(ConnectorBox),
    /// A child process.
    Isolated(Box<IsolatedConnector>),
}

/// A live connector instance in a plugin.
pub struct Connector {
    id: String,
    type_id: String,
    kind: ConnectorKind,
    plugin: String,
    inner: Instance,
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
        return Ok(Connector {
            id: spec.id.to_string(),
            type_id: spec.type_id.to_string(),
            kind: manifest.kind,
            plugin: plugin_name,
            inner: Instance::Isolated(Box::new(inner)),
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
    Ok(Connector {
        id: spec.id.to_string(),
        type_id: spec.type_id.to_string(),
        kind: manifest.kind,
        plugin: plugin_name,
        inner: Instance::InProcess(inner),
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

    /// Whether the connector runs in a child process.
    pub fn is_isolated(&self) -> bool {
        matches!(self.inner, Instance::Isolated(_))
    }

    /// Runs one call where the connector lives: `in_process` on the vtable, `isolated` in the
    /// child. Only a history query returns a value (its newest timestamp).
    async fn run(
        &self,
        op: &'static str,
        limit: Duration,
        in_process: impl FnOnce(&ConnectorBox) -> FfiFuture<RResult<(), PluginError>>,
        isolated: impl FnOnce() -> protocol::Call,
    ) -> Result<(), ConnectorError> {
        match &self.inner {
            Instance::InProcess(c) => self.call(op, limit, in_process(c)).await,
            Instance::Isolated(c) => {
                tracing::debug!(parent: &self.span, "{op} (isolated)");
                c.call(op, limit, isolated()).await.map(|_| ())
            }
        }
    }

    /// A South call on items.
    async fn with_items(
        &self,
        op: &'static str,
        items: Vec<Item>,
        in_process: ItemsCall,
        isolated: fn(Vec<protocol::WireItem>) -> protocol::Call,
    ) -> Result<(), ConnectorError> {
        let limit = self.timeouts.data;
        match &self.inner {
            Instance::InProcess(c) => self.call(op, limit, in_process(c, items.into())).await,
            Instance::Isolated(c) => c
                .call(op, limit, isolated(protocol::items(&items)))
                .await
                .map(|_| ()),
        }
    }

    /// `start` (the SDK default calls `connect`).
    pub async fn start(&self) -> Result<(), ConnectorError> {
        let limit = self.timeouts.lifecycle;
        self.run("start", limit, |c| c.start(), || protocol::Call::Start)
            .await
    }
    /// `connect`.
    pub async fn connect(&self) -> Result<(), ConnectorError> {
        let limit = self.timeouts.lifecycle;
        self.run(
            "connect",
            limit,
            |c| c.connect(),
            || protocol::Call::Connect,
        )
        .await
    }
    /// `stop` (the SDK default calls `disconnect`).
    pub async fn stop(&self) -> Result<(), ConnectorError> {
        let limit = self.timeouts.lifecycle;
        self.run("stop", limit, |c| c.stop(), || protocol::Call::Stop)
            .await
    }
    /// `disconnect`.
    pub async fn disconnect(&self) -> Result<(), ConnectorError> {
        let limit = self.timeouts.lifecycle;
        self.run(
            "disconnect",
            limit,
            |c| c.disconnect(),
            || protocol::Call::Disconnect,
        )
        .await
    }
    /// `test_connection`.
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        let limit = self.timeouts.lifecycle;
        self.run(
            "test_connection",
            limit,
            |c| c.test_connection(),
            || protocol::Call::TestConnection,
        )
        .await
    }
    /// North `handle_values`.
    pub async fn handle_values(&self, values: Vec<OibusValue>) -> Result<(), ConnectorError> {
        let limit = self.timeouts.data;
        match &self.inner {
            Instance::InProcess(c) => {
                self.call("handle_values", limit, c.handle_values(values.into()))
                    .await
            }
            Instance::Isolated(c) => {
                let call = protocol::Call::HandleValues(protocol::values(&values));
                c.call("handle_values", limit, call).await.map(|_| ())
            }
        }
    }
    /// North `handle_file`.
    pub async fn handle_file(&self, path: &std::path::Path) -> Result<(), ConnectorError> {
        let path = path.to_string_lossy().into_owned();
        let limit = self.timeouts.data;
        let for_child = path.clone();
        self.run(
            "handle_file",
            limit,
            |c| c.handle_file(path.into()),
            || protocol::Call::HandleFile(for_child),
        )
        .await
    }
    /// North `handle_files` (API 1.3): the caller checks first that the type declares
    /// `HandlesFileBatches`.
    pub async fn handle_files(&self, paths: &[std::path::PathBuf]) -> Result<(), ConnectorError> {
        let paths: Vec<String> = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let limit = self.timeouts.data;
        let for_child = paths.clone();
        self.run(
            "handle_files",
            limit,
            |c| c.handle_files(paths.into_iter().map(Into::into).collect()),
            || protocol::Call::HandleFiles(for_child),
        )
        .await
    }
    /// South `last_point_query`.
    pub async fn last_point_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.with_items(
            "last_point_query",
            items,
            |c, i| c.last_point_query(i),
            protocol::Call::LastPoint,
        )
        .await
    }
    /// South `file_query`.
    pub async fn file_query(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.with_items(
            "file_query",
            items,
            |c, i| c.file_query(i),
            protocol::Call::FileQuery,
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
        let limit = self.timeouts.data;
        match &self.inner {
            Instance::InProcess(c) => self
                .call(
                    "history_query",
                    limit,
                    c.history_query(items.into(), start, end),
                )
                .await
                .map(Into::into),
            Instance::Isolated(c) => {
                let call = protocol::Call::History {
                    items: protocol::items(&items),
                    start: start.as_nanos(),
                    end: end.as_nanos(),
                };
                match c.call("history_query", limit, call).await? {
                    protocol::Returned::Newest(t) => Ok(t.map(Timestamp::from_nanos)),
                    _ => Ok(None),
                }
            }
        }
    }
    /// South `subscribe`.
    pub async fn subscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.with_items(
            "subscribe",
            items,
            |c, i| c.subscribe(i),
            protocol::Call::Subscribe,
        )
        .await
    }
    /// South `test_item` (API 1.1): the values one read of `item` gives, sent nowhere. The
    /// caller checks first that the type declares `TestsItem`; a plugin built before API 1.1
    /// answers `not-supported` all the same.
    pub async fn test_item(&self, item: Item) -> Result<Vec<OibusValue>, ConnectorError> {
        let limit = self.timeouts.data;
        match &self.inner {
            Instance::InProcess(c) => self
                .call("test_item", limit, c.test_item(item))
                .await
                .map(RVec::into_vec),
            Instance::Isolated(c) => {
                let call = protocol::Call::TestItem(protocol::WireItem::from(&item));
                match c.call("test_item", limit, call).await? {
                    protocol::Returned::Values(bytes) => {
                        protocol::values_from(&bytes).map_err(|message| ConnectorError::Engine {
                            connector: self.id.clone(),
                            message: format!(
                                "the values of the item test do not decode: {message}"
                            ),
                        })
                    }
                    _ => Ok(Vec::new()),
                }
            }
        }
    }
    /// South `browse` (API 1.2): the nodes under `request.from`. The caller checks first that the
    /// type declares `Browses`; a plugin built before API 1.2 answers `not-supported` all the same.
    pub async fn browse(
        &self,
        request: &oibus_plugin_api::BrowseRequest,
    ) -> Result<Vec<oibus_plugin_api::BrowsedNode>, ConnectorError> {
        let limit = self.timeouts.data;
        let request = serde_json::to_string(request).unwrap_or_default();
        let answer = match &self.inner {
            Instance::InProcess(c) => self
                .call("browse", limit, c.browse(request.into()))
                .await?
                .into_string(),
            Instance::Isolated(c) => match c
                .call("browse", limit, protocol::Call::Browse(request))
                .await?
            {
                protocol::Returned::Json(answer) => answer,
                _ => "[]".to_string(),
            },
        };
        serde_json::from_str(&answer).map_err(|e| ConnectorError::Engine {
            connector: self.id.clone(),
            message: format!("the plugin's browse answer is not a list of nodes: {e}"),
        })
    }
    /// South `unsubscribe`.
    pub async fn unsubscribe(&self, items: Vec<Item>) -> Result<(), ConnectorError> {
        self.with_items(
            "unsubscribe",
            items,
            |c, i| c.unsubscribe(i),
            protocol::Call::Unsubscribe,
        )
        .await
    }
}
