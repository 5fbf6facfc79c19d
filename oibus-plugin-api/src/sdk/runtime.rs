//! The tokio runtime owned by the plugin library.
//!
//! Each cdylib links its own copy of tokio, whose thread-locals the host's runtime never sets, so
//! plugin futures cannot run on the host's runtime. The SDK runs them here and hands the host a
//! future that only waits for the result.

use crate::{PluginError, ffi::FfiResultFuture};
use abi_stable::std_types::RResult;
use async_ffi::FutureExt as _;
use std::{future::Future, sync::OnceLock};
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Environment variable that sets the worker threads of each plugin's runtime (default 2).
pub const THREADS_ENV: &str = "OIBUS_PLUGIN_THREADS";

fn build() -> Result<Runtime, String> {
    let threads = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2);
    Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("oibus-plugin")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the plugin runtime: {e}"))
}

/// The plugin's runtime handle, created on first use.
pub(crate) fn handle() -> Result<Handle, PluginError> {
    match RUNTIME.get_or_init(build) {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(PluginError::transient(e)),
    }
}

/// Aborts the task when the host drops the future (time-out, shutdown), so a hung call releases
/// the connector at its next await point.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on the plugin runtime and returns an FFI future for its result. A panic in `fut`
/// becomes a `panicked` error.
pub(crate) fn spawn_ffi<T, F>(what: &'static str, fut: F) -> FfiResultFuture<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T, PluginError>> + Send + 'static,
{
    let spawned = handle().map(|h| AbortOnDrop(h.spawn(fut)));
    async move {
        let mut task = match spawned {
            Ok(t) => t,
            Err(e) => return RResult::RErr(e),
        };
        match (&mut task.0).await {
            Ok(r) => r.into(),
            Err(e) if e.is_panic() => RResult::RErr(PluginError::new(
                crate::ErrorKind::PANICKED,
                format!("{what} panicked: {}", panic_message(&*e.into_panic())),
            )),
            Err(_) => RResult::RErr(PluginError::transient(format!("{what} was cancelled"))),
        }
    }
    .into_ffi()
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A future that logs a panic of the future it wraps (into the connector's log) before letting it
/// continue to unwind.
pub(crate) struct LogPanic<F> {
    inner: std::pin::Pin<Box<F>>,
    dispatch: tracing::Dispatch,
}

impl<F> LogPanic<F> {
    pub(crate) fn new(inner: F, dispatch: tracing::Dispatch) -> Self {
        Self {
            inner: Box::pin(inner),
            dispatch,
        }
    }
}

impl<F: Future> Future for LogPanic<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let message = panic_message(&*payload);
                tracing::dispatcher::with_default(&self.dispatch, || {
                    tracing::error!("a background task of this connector panicked: {message}")
                });
                std::panic::resume_unwind(payload)
            }
        }
    }
}
