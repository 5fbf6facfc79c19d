//! The tokio runtime owned by the plugin library.
//!
//! Each cdylib links its own copy of tokio, whose thread-locals the host's runtime never sets, so
//! plugin futures cannot run on the host's runtime. The SDK runs them here and hands the host a
//! future that only waits for the result.

use crate::{
    PluginError,
    ffi::{FfiResultFuture, HostBox},
};
use abi_stable::std_types::{RResult, RStr};
use async_ffi::FutureExt as _;
use std::{
    future::Future,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};
use tokio::runtime::{Builder, Handle, Runtime};

/// Environment variable that sets the worker threads of each plugin's runtime (default 2).
pub const THREADS_ENV: &str = "OIBUS_PLUGIN_THREADS";

/// How long a call the host gave up on may go on before its thread counts as stuck.
const STUCK_AFTER: Duration = Duration::from_secs(1);

fn threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2)
}

fn build() -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .worker_threads(threads())
        .thread_name("oibus-plugin")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the plugin runtime: {e}"))
}

/// A call the host stopped waiting for (its time-out) while it still ran.
struct Abandoned {
    task: tokio::task::AbortHandle,
    since: Instant,
    generation: u32,
}

/// The runtime in use, which is replaced when calls the host gave up on block its threads.
struct Runtimes {
    current: Option<Handle>,
    generation: u32,
    abandoned: Vec<Abandoned>,
    /// Connectors with background tasks, and the runtime generation they run on.
    spawners: Vec<(Weak<HostBox>, u32)>,
}

static RUNTIMES: Mutex<Runtimes> = Mutex::new(Runtimes {
    current: None,
    generation: 0,
    abandoned: Vec::new(),
    spawners: Vec::new(),
});

fn runtimes() -> std::sync::MutexGuard<'static, Runtimes> {
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runtimes {
    /// Abandoned calls still running after [`STUCK_AFTER`], of every runtime, and of the current one.
    fn stuck(&mut self) -> (u32, u32) {
        self.abandoned.retain(|a| !a.task.is_finished());
        let stuck = self
            .abandoned
            .iter()
            .filter(|a| a.since.elapsed() >= STUCK_AFTER);
        let (mut all, mut current) = (0, 0);
        for a in stuck {
            all += 1;
            if a.generation == self.generation {
                current += 1;
            }
        }
        (all, current)
    }
}

/// The plugin's runtime handle, created on first use. When half of the current runtime's threads
/// (at least one) are held by calls the host gave up on, a new runtime takes the new work: the
/// plugin's other connectors go on, and the stuck threads stay where they are (a runtime whose
/// threads are blocked cannot be shut down, so the old one is left running).
///
/// The connectors whose background tasks (subscriptions, listeners) run on the old runtime are
/// told their connection is lost: the engine reconnects them, and their new tasks run on the new
/// runtime.
pub(crate) fn handle() -> Result<Handle, PluginError> {
    let mut moved = Vec::new();
    let handle = {
        let mut r = runtimes();
        let (_, stuck_here) = r.stuck();
        let replace = r.current.is_some() && stuck_here as usize >= (threads() / 2).max(1);
        if r.current.is_none() || replace {
            let runtime = build().map_err(PluginError::transient)?;
            let handle = runtime.handle().clone();
            // Never dropped: dropping waits for its threads, which may be blocked for ever.
            std::mem::forget(runtime);
            if replace {
                r.generation += 1;
                let generation = r.generation;
                r.spawners.retain(|(host, g)| {
                    if *g < generation
                        && let Some(host) = host.upgrade()
                    {
                        moved.push(host);
                        return false;
                    }
                    host.strong_count() > 0
                });
            }
            r.current = Some(handle);
        }
        r.current.clone()
    };
    for host in moved {
        host.connection_lost(RStr::from_str(
            "the plugin's runtime threads were stuck in calls that timed out: its tasks move to a new runtime",
        ));
    }
    handle.ok_or_else(|| PluginError::transient("no plugin runtime"))
}

/// Remembers that `host`'s connector has background tasks on the current runtime.
pub(crate) fn spawned_by(host: &Arc<HostBox>) {
    let mut r = runtimes();
    let generation = r.generation;
    let known = r
        .spawners
        .iter_mut()
        .find(|(h, _)| std::ptr::eq(h.as_ptr(), Arc::as_ptr(host)));
    match known {
        Some((_, g)) => *g = generation,
        None => {
            r.spawners.retain(|(h, _)| h.strong_count() > 0);
            r.spawners.push((Arc::downgrade(host), generation));
        }
    }
}

/// What the host reads of the plugin's runtime ([`crate::ffi::RuntimeHealth`]).
pub(crate) fn health() -> crate::ffi::RuntimeHealth {
    let mut r = runtimes();
    let (stuck, _) = r.stuck();
    crate::ffi::RuntimeHealth {
        stuck_calls: stuck,
        replacements: r.generation,
        threads: threads() as u32,
    }
}

/// Aborts the task when the host drops the future (time-out, shutdown), so a hung call releases
/// the connector at its next await point; a call blocked without an await point is remembered,
/// so that it counts as a stuck thread.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if self.0.is_finished() {
            return;
        }
        self.0.abort();
        let mut r = runtimes();
        let generation = r.generation;
        r.abandoned.push(Abandoned {
            task: self.0.abort_handle(),
            since: Instant::now(),
            generation,
        });
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
