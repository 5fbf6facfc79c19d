//! The in-process backend: each call on the plugin's vtable in the engine's process, under a
//! time-out, with a panic that escapes a plugin (one not built with the SDK) caught and told.

use super::{
    backend::{Answer, Backend, Call},
    error::ConnectorError,
};
use abi_stable::std_types::{RResult, RVec};
use async_ffi::FfiFuture;
use futures_util::{FutureExt as _, future::BoxFuture};
use oibus_plugin_api::{PluginError, ffi::ConnectorBox};
use std::{panic::AssertUnwindSafe, time::Duration};

/// A connector instance made by its plugin in this process.
pub struct InProcess {
    /// The connector id, for errors.
    pub id: String,
    /// The plugin's instance.
    pub instance: ConnectorBox,
}

impl InProcess {
    /// Awaits `fut` within `limit`, turning the plugin's error, a panic or the time-out into a
    /// [`ConnectorError`] naming `op`.
    async fn within<T>(
        &self,
        op: &'static str,
        limit: Duration,
        fut: FfiFuture<RResult<T, PluginError>>,
    ) -> Result<T, ConnectorError> {
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

    async fn run(
        &self,
        op: &'static str,
        limit: Duration,
        call: Call,
    ) -> Result<Answer, ConnectorError> {
        let c = &self.instance;
        let done = |r: Result<(), ConnectorError>| r.map(|()| Answer::Done);
        match call {
            Call::Start => done(self.within(op, limit, c.start()).await),
            Call::Connect => done(self.within(op, limit, c.connect()).await),
            Call::Stop => done(self.within(op, limit, c.stop()).await),
            Call::Disconnect => done(self.within(op, limit, c.disconnect()).await),
            Call::TestConnection => done(self.within(op, limit, c.test_connection()).await),
            Call::HandleValues(values) => {
                done(self.within(op, limit, c.handle_values(values.into())).await)
            }
            Call::HandleFile(path) => {
                done(self.within(op, limit, c.handle_file(path.into())).await)
            }
            Call::HandleFiles(paths) => {
                let paths = paths.into_iter().map(Into::into).collect();
                done(self.within(op, limit, c.handle_files(paths)).await)
            }
            Call::LastPoint(items) => done(
                self.within(op, limit, c.last_point_query(items.into()))
                    .await,
            ),
            Call::FileQuery(items) => {
                done(self.within(op, limit, c.file_query(items.into())).await)
            }
            Call::Subscribe(items) => done(self.within(op, limit, c.subscribe(items.into())).await),
            Call::Unsubscribe(items) => {
                done(self.within(op, limit, c.unsubscribe(items.into())).await)
            }
            Call::History { items, start, end } => self
                .within(op, limit, c.history_query(items.into(), start, end))
                .await
                .map(|newest| Answer::Newest(newest.into())),
            Call::TestItem(item) => self
                .within(op, limit, c.test_item(item))
                .await
                .map(|values| Answer::Values(RVec::into_vec(values))),
            Call::Browse(request) => self
                .within(op, limit, c.browse(request.into()))
                .await
                .map(|answer| Answer::Json(answer.into_string())),
        }
    }
}

impl Backend for InProcess {
    fn call(
        &self,
        op: &'static str,
        limit: Duration,
        call: Call,
    ) -> BoxFuture<'_, Result<Answer, ConnectorError>> {
        Box::pin(self.run(op, limit, call))
    }

    fn is_isolated(&self) -> bool {
        false
    }
}
