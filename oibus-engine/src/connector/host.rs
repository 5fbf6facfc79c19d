//! The host context handed to each connector: data sink, logging into the connector's span, state
//! folder.

use abi_stable::std_types::{ROption, RResult, RStr, RString, RVec};
use async_ffi::FutureExt as _;
use futures_util::future::BoxFuture;
use oibus_plugin_api::{
    OibusValue, PluginError,
    ffi::{FfiHost, FfiResultFuture, LogLevel},
};
use std::{path::PathBuf, sync::Arc};
use tokio::runtime::Handle;
use tracing::Span;

/// Where a South's data goes. The engine's implementation writes to the North caches and completes
/// only once the data is durable.
pub trait DataSink: Send + Sync + 'static {
    /// Accepts values from connector `connector`.
    fn add_values(
        &self,
        connector: &str,
        values: Vec<OibusValue>,
    ) -> BoxFuture<'static, Result<(), PluginError>>;
    /// Accepts a file from connector `connector`.
    fn add_file(
        &self,
        connector: &str,
        path: PathBuf,
    ) -> BoxFuture<'static, Result<(), PluginError>>;
}

/// A sink for connectors that must not produce data (for example during `test-connection`):
/// it refuses everything, so nothing is silently lost.
pub struct DiscardSink;

impl DataSink for DiscardSink {
    fn add_values(
        &self,
        connector: &str,
        values: Vec<OibusValue>,
    ) -> BoxFuture<'static, Result<(), PluginError>> {
        let msg = format!(
            "connector {connector:?} produced {} values outside a running engine",
            values.len()
        );
        Box::pin(async move {
            Err(PluginError::new(
                oibus_plugin_api::ErrorKind::REJECTED_BY_HOST,
                msg,
            ))
        })
    }
    fn add_file(
        &self,
        connector: &str,
        path: PathBuf,
    ) -> BoxFuture<'static, Result<(), PluginError>> {
        let msg = format!(
            "connector {connector:?} produced file {} outside a running engine",
            path.display()
        );
        Box::pin(async move {
            Err(PluginError::new(
                oibus_plugin_api::ErrorKind::REJECTED_BY_HOST,
                msg,
            ))
        })
    }
}

/// The engine's implementation of [`FfiHost`].
pub struct HostContext {
    connector_id: String,
    state_dir: PathBuf,
    plugin_dir: PathBuf,
    span: Span,
    sink: Arc<dyn DataSink>,
    runtime: Handle,
    lost: tokio::sync::mpsc::Sender<String>,
    reports: Arc<super::reports::SourceReports>,
}

impl HostContext {
    /// A context for connector `connector_id`, logging into `span`, with its private `state_dir`
    /// and the `plugin_dir` its plugin's connectors share. Sink futures run on `runtime` (the
    /// host's tokio), never on the plugin's. The plugin's reports of a lost connection arrive on
    /// the returned receiver.
    pub fn new(
        connector_id: &str,
        (state_dir, plugin_dir): (PathBuf, PathBuf),
        span: Span,
        sink: Arc<dyn DataSink>,
        runtime: Handle,
        reports: Arc<super::reports::SourceReports>,
    ) -> (Self, tokio::sync::mpsc::Receiver<String>) {
        let (lost, losses) = tokio::sync::mpsc::channel(4);
        let host = Self {
            connector_id: connector_id.to_string(),
            state_dir,
            plugin_dir,
            span,
            sink,
            runtime,
            lost,
            reports,
        };
        (host, losses)
    }

    fn run(&self, fut: BoxFuture<'static, Result<(), PluginError>>) -> FfiResultFuture<()> {
        let task = self.runtime.spawn(fut);
        async move {
            match task.await {
                Ok(r) => RResult::from(r),
                Err(e) => RResult::RErr(PluginError::new(
                    oibus_plugin_api::ErrorKind::REJECTED_BY_HOST,
                    format!("the engine failed to store the data: {e}"),
                )),
            }
        }
        .into_ffi()
    }
}

/// The most verbose level the engine's subscriber wants.
pub(crate) fn max_level() -> LogLevel {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => LogLevel(0),
        LevelFilter::ERROR => LogLevel::ERROR,
        LevelFilter::WARN => LogLevel::WARN,
        LevelFilter::INFO => LogLevel::INFO,
        LevelFilter::DEBUG => LogLevel::DEBUG,
        _ => LogLevel::TRACE,
    }
}

/// One log record of a plugin, into the engine's `tracing` inside the connector's span.
pub(crate) fn forward_log(span: &Span, level: LogLevel, target: &str, message: &str) {
    let _entered = span.enter();
    match level {
        LogLevel::ERROR => tracing::error!(target: "oibus::plugin", from = %target, "{}", message),
        LogLevel::WARN => tracing::warn!(target: "oibus::plugin", from = %target, "{}", message),
        LogLevel::INFO => tracing::info!(target: "oibus::plugin", from = %target, "{}", message),
        LogLevel::DEBUG => tracing::debug!(target: "oibus::plugin", from = %target, "{}", message),
        _ => tracing::trace!(target: "oibus::plugin", from = %target, "{}", message),
    }
}

impl FfiHost for HostContext {
    fn connector_id(&self) -> RString {
        self.connector_id.as_str().into()
    }

    fn state_dir(&self) -> RString {
        self.state_dir.to_string_lossy().into_owned().into()
    }

    fn plugin_dir(&self) -> RString {
        crate::folders::ensure_dir(&self.plugin_dir);
        self.plugin_dir.to_string_lossy().into_owned().into()
    }

    fn max_level(&self) -> LogLevel {
        max_level()
    }

    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        forward_log(&self.span, level, target.as_str(), message.as_str());
    }

    fn connection_lost(&self, reason: RStr<'_>) {
        let _entered = self.span.enter();
        tracing::warn!(
            "the plugin reports the connection lost: {}",
            reason.as_str()
        );
        // Several reports before the engine reacts are one loss.
        let _ = self.lost.try_send(reason.as_str().to_string());
    }

    fn dropped(&self, count: u64, reason: RStr<'_>) {
        let _entered = self.span.enter();
        if let Some(line) = self.reports.dropped(count, reason.as_str()) {
            tracing::warn!("{line}");
        }
    }

    fn item_status(&self, item: RStr<'_>, error: ROption<RStr<'_>>) {
        let _entered = self.span.enter();
        let error = error.into_option().map(|e| e.as_str());
        self.reports
            .item_status(item.as_str(), error)
            .log(item.as_str(), error);
    }

    fn add_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()> {
        self.run(self.sink.add_values(&self.connector_id, values.into_vec()))
    }

    fn add_file(&self, path: RString) -> FfiResultFuture<()> {
        self.run(
            self.sink
                .add_file(&self.connector_id, PathBuf::from(path.into_string())),
        )
    }
}
