//! The tokio runtime owned by the plugin library.
//!
//! Each cdylib links its own copy of tokio, whose thread-locals the host's runtime never sets, so
//! plugin futures cannot run on the host's runtime. The SDK runs them here and hands the host a
//! future that only waits for the result.

use crate::{
    error::PluginError,
    ffi::{FfiResultFuture, HostBox},
};
use abi_stable::std_types::{RResult, RStr};
use async_ffi::FutureExt as _;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::runtime::{Builder, Handle, Runtime};

/// Environment variable that sets the worker threads of each plugin's runtime (default 2).
pub const THREADS_ENV: &str = "OIBUS_PLUGIN_THREADS";

/// How long a call the host gave up on may go on before its thread counts as stuck.
const STUCK_AFTER: Duration = Duration::from_secs(1);

/// How long the runtime may leave a task it was given unpolled before it counts as starved: every
/// thread is then held by a call that blocks it (a synchronous driver call that never returns),
/// and the plugin's other connectors wait for nothing.
const STARVED_AFTER: Duration = Duration::from_secs(3);

/// How often the watchdog looks.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// The most runtimes a plugin makes (each replaced one keeps its blocked threads until the process
/// ends); past that, the work stays on the last one.
const MAX_RUNTIMES: u32 = 16;

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
    call: Arc<Call>,
    since: Instant,
}

/// The runtime in use, which is replaced when calls block its threads.
struct Runtimes {
    current: Option<Handle>,
    generation: u32,
    abandoned: Vec<Abandoned>,
    /// Calls given to a runtime, not started yet: a replacement offers them to the new one.
    waiting: Vec<Weak<Call>>,
    /// Connectors with background tasks, and the runtime generation they run on.
    spawners: Vec<(Weak<HostBox>, u32)>,
    /// Whether the watchdog thread runs.
    watched: bool,
}

static RUNTIMES: Mutex<Runtimes> = Mutex::new(Runtimes {
    current: None,
    generation: 0,
    abandoned: Vec::new(),
    waiting: Vec::new(),
    spawners: Vec::new(),
    watched: false,
});

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One call of the host: its future until a runtime thread takes it. It is offered to the current
/// runtime, and again to each new one while it has not started, so that a call queued behind
/// blocked threads moves with the rest of the work.
struct Call {
    job: Mutex<Option<Job>>,
    /// The tasks offering it, one per runtime it was offered to.
    offers: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The generation of the runtime running it, plus one; 0 until one takes it.
    running_on: AtomicU32,
    /// Set when it ended (or was cancelled at an await point).
    ended: AtomicBool,
}

/// Sets `ended` when the running call's future is dropped: completed or cancelled.
struct Ended(Arc<Call>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::Release);
    }
}

impl Call {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn started(&self) -> bool {
        self.running_on.load(Ordering::Acquire) != 0
    }

    /// Whether it still waits for a thread (not started, not cancelled).
    fn pending(&self) -> bool {
        !self.started() && Self::lock(&self.job).is_some()
    }

    /// Whether it runs now (started, not ended): a thread may be held by it.
    fn running(&self) -> bool {
        self.started() && !self.ended.load(Ordering::Acquire)
    }

    /// Offers it to the runtime of `generation`: the first offer a thread polls runs it.
    fn offer(self: &Arc<Self>, handle: &Handle, generation: u32) {
        let call = self.clone();
        let task = handle.spawn(async move {
            let job = Self::lock(&call.job).take();
            if let Some(job) = job {
                call.running_on.store(generation + 1, Ordering::Release);
                let _ended = Ended(call.clone());
                job.await;
            }
        });
        Self::lock(&self.offers).push(task.abort_handle());
    }

    /// The host gave up on it: it is not started any more, and a running one is cancelled at its
    /// next await point.
    fn cancel(&self) {
        drop(Self::lock(&self.job).take());
        for offer in Self::lock(&self.offers).iter() {
            offer.abort();
        }
    }
}

fn runtimes() -> std::sync::MutexGuard<'static, Runtimes> {
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runtimes {
    /// Abandoned calls still running after [`STUCK_AFTER`], of every runtime, and of the current one.
    fn stuck(&mut self) -> (u32, u32) {
        self.abandoned.retain(|a| a.call.running());
        let stuck = self
            .abandoned
            .iter()
            .filter(|a| a.since.elapsed() >= STUCK_AFTER);
        let (mut all, mut current) = (0, 0);
        for a in stuck {
            all += 1;
            if a.call.running_on.load(Ordering::Acquire) == self.generation + 1 {
                current += 1;
            }
        }
        (all, current)
    }

    /// Makes a new runtime the current one; the connectors with background tasks on older ones
    /// are returned, to be told their connection is lost (they reconnect onto the new one).
    fn replace(&mut self) -> Result<Vec<Arc<HostBox>>, PluginError> {
        let runtime = build().map_err(PluginError::transient)?;
        let handle = runtime.handle().clone();
        // Never dropped: dropping waits for its threads, which may be blocked for ever.
        std::mem::forget(runtime);
        let mut moved = Vec::new();
        if self.current.is_some() {
            self.generation += 1;
            let generation = self.generation;
            self.spawners.retain(|(host, g)| {
                if *g < generation
                    && let Some(host) = host.upgrade()
                {
                    moved.push(host);
                    return false;
                }
                host.strong_count() > 0
            });
        }
        // The calls that were waiting for a thread of the old runtime are offered to this one.
        let generation = self.generation;
        self.waiting.retain(|call| match call.upgrade() {
            Some(call) if call.pending() => {
                call.offer(&handle, generation);
                true
            }
            _ => false,
        });
        self.current = Some(handle);
        if !self.watched {
            self.watched = std::thread::Builder::new()
                .name("oibus-plugin-watchdog".into())
                .spawn(watch)
                .is_ok();
        }
        Ok(moved)
    }
}

/// Tells the connectors moved off a replaced runtime that their connection is lost.
fn tell_moved(moved: Vec<Arc<HostBox>>, why: &str) {
    for host in moved {
        host.connection_lost(RStr::from_str(why));
    }
}

/// The watchdog: a thread of its own (the runtime's may all be blocked) that hands the current
/// runtime a task that does nothing every [`WATCH_EVERY`]; when one waits [`STARVED_AFTER`]
/// unpolled, every thread is held by a call that blocks it, and a new runtime takes the work.
/// The calls blocking the old one stay there until they return; the host times them out.
fn watch() {
    let mut probe: Option<(u32, Instant, Arc<AtomicBool>)> = None;
    loop {
        std::thread::sleep(WATCH_EVERY);
        let (handle, generation) = {
            let r = runtimes();
            (r.current.clone(), r.generation)
        };
        let Some(handle) = handle else { continue };
        match &probe {
            Some((g, since, done)) if *g == generation && !done.load(Ordering::Acquire) => {
                if since.elapsed() < STARVED_AFTER {
                    continue;
                }
                probe = None;
                let moved = {
                    let mut r = runtimes();
                    if r.generation != generation || r.generation + 1 >= MAX_RUNTIMES {
                        continue;
                    }
                    match r.replace() {
                        Ok(moved) => moved,
                        Err(_) => continue,
                    }
                };
                tell_moved(
                    moved,
                    &format!(
                        "the plugin's runtime threads ran nothing for {} s (held by calls that \
                         block them): its tasks move to a new runtime",
                        STARVED_AFTER.as_secs()
                    ),
                );
            }
            Some((g, _, _)) if *g == generation => {
                // The last one ran: another.
                probe = None;
            }
            _ => {
                let done = Arc::new(AtomicBool::new(false));
                let flag = done.clone();
                handle.spawn(async move { flag.store(true, Ordering::Release) });
                probe = Some((generation, Instant::now(), done));
            }
        }
    }
}

/// The plugin's runtime handle, created on first use. When half of the current runtime's threads
/// (at least one) are held by calls the host gave up on, or when the watchdog finds all of them
/// held ([`STARVED_AFTER`]), a new runtime takes the new work: the plugin's other connectors go
/// on, and the stuck threads stay where they are (a runtime whose threads are blocked cannot be
/// shut down, so the old one is left running).
///
/// The connectors whose background tasks (subscriptions, listeners) run on the old runtime are
/// told their connection is lost: the engine reconnects them, and their new tasks run on the new
/// runtime.
pub(crate) fn handle() -> Result<Handle, PluginError> {
    let mut moved = Vec::new();
    let handle = {
        let mut r = runtimes();
        let (_, stuck_here) = r.stuck();
        let replace = r.current.is_some()
            && stuck_here as usize >= (threads() / 2).max(1)
            && r.generation + 1 < MAX_RUNTIMES;
        if r.current.is_none() || replace {
            moved = r.replace()?;
        }
        r.current.clone()
    };
    tell_moved(
        moved,
        "the plugin's runtime threads were stuck in calls that timed out: its tasks move to a new runtime",
    );
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

/// Cancels the call when the host drops the future (time-out, shutdown), so a hung call releases
/// the connector at its next await point; a call blocked without an await point is remembered,
/// so that it counts as a stuck thread.
struct CancelOnDrop {
    call: Arc<Call>,
    finished: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.call.cancel();
        if self.call.running() {
            runtimes().abandoned.push(Abandoned {
                call: self.call.clone(),
                since: Instant::now(),
            });
        }
    }
}

/// A future that catches a panic of the one it wraps, as its message.
struct Caught<F>(Pin<Box<F>>);

impl<F: Future> Future for Caught<F> {
    type Output = Result<F::Output, String>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Ready(r)) => std::task::Poll::Ready(Ok(r)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => std::task::Poll::Ready(Err(panic_message(&*payload))),
        }
    }
}

/// Runs `fut` on the plugin runtime and returns an FFI future for its result. A panic in `fut`
/// becomes a `panicked` error. Until a thread takes it, the call moves with the work when the
/// runtime is replaced.
pub(crate) fn spawn_ffi<T, F>(what: &'static str, fut: F) -> FfiResultFuture<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T, PluginError>> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::pin(async move {
        let _ = tx.send(Caught(Box::pin(fut)).await);
    });
    let call = Arc::new(Call {
        job: Mutex::new(Some(job)),
        offers: Mutex::new(Vec::new()),
        running_on: AtomicU32::new(0),
        ended: AtomicBool::new(false),
    });
    let offered = handle().map(|_| {
        // The runtime current now (a replacement may have happened since `handle`), under the
        // lock that a replacement takes to offer the waiting calls again.
        let mut r = runtimes();
        r.waiting
            .retain(|c| c.upgrade().is_some_and(|c| c.pending()));
        r.waiting.push(Arc::downgrade(&call));
        if let Some(handle) = r.current.clone() {
            call.offer(&handle, r.generation);
        }
    });
    async move {
        if let Err(e) = offered {
            return RResult::RErr(e);
        }
        let mut guard = CancelOnDrop {
            call,
            finished: false,
        };
        let result = rx.await;
        guard.finished = true;
        match result {
            Ok(Ok(r)) => r.into(),
            Ok(Err(panic)) => RResult::RErr(PluginError::new(
                crate::error::ErrorKind::PANICKED,
                format!("{what} panicked: {panic}"),
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
