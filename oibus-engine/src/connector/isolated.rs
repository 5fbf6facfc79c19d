//! The engine's side of an isolated connector: a child process (`oibus plugin-host serve`) per
//! connector, started at its first call and again after it ends, with every call and every host
//! request carried over the protocol.
//!
//! The engine keeps every queue and cache, so a child's end loses nothing acknowledged: a South's
//! `add_values` completes in the child only once the engine has stored the values; a North's call
//! in flight fails as a lost connection and its batch is sent again to the next child. A call past
//! its time-out kills the child instead of leaving a stuck thread. Crashes in a row within the
//! crash window quarantine the connector.

use super::{
    backend::{self, Backend},
    error::ConnectorError,
    host::{self, DataSink},
    reports::SourceReports,
};
use crate::isolation::{
    process::{self, Limits, Tail},
    protocol::{self, Call, FromChild, Returned, ToChild},
};
use futures_util::StreamExt as _;
use oibus_plugin_api::{ErrorKind, PluginError};
use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{
    io::AsyncBufReadExt as _,
    runtime::Handle,
    sync::{mpsc, oneshot},
};
use tokio_util::codec::FramedRead;
use tracing::Span;

/// How the children of isolated connectors are started and watched.
#[derive(Debug, Clone)]
pub struct ChildSettings {
    /// The `oibus` executable (it has the `plugin-host` command).
    pub exe: PathBuf,
    /// Limits of each child.
    pub limits: Limits,
    /// Crashes within `crash_window` that quarantine the connector.
    pub crash_limit: u32,
    /// See `crash_limit`.
    pub crash_window: Duration,
}

/// What the child needs to create the connector.
pub struct Creation {
    /// The plugin file (for messages).
    pub file: PathBuf,
    /// The engine's checked copy that the child opens.
    pub library: PathBuf,
    /// Connector id.
    pub connector_id: String,
    /// Connector type.
    pub type_id: String,
    /// Validated settings JSON.
    pub settings: String,
    /// The connector's state folder.
    pub state_dir: PathBuf,
    /// The folder shared by the plugin's connectors.
    pub plugin_dir: PathBuf,
}

/// Where what the plugin sends goes.
pub struct Outlets {
    /// The data sink.
    pub sink: Arc<dyn DataSink>,
    /// The host runtime the sink's futures run on.
    pub runtime: Handle,
    /// Drops and item states.
    pub reports: Arc<SourceReports>,
    /// Lost connections (the plugin's, and the child's end).
    pub lost: mpsc::Sender<String>,
    /// The connector's span.
    pub span: Span,
}

type Answer = Result<Returned, PluginError>;

/// One running child.
struct Child {
    pid: u32,
    input: mpsc::UnboundedSender<ToChild>,
    calls: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    next: AtomicU64,
    /// Set once the child has ended (then `calls` is empty and stays so).
    ended: AtomicBool,
    /// Why the engine killed it, if it did.
    killed_because: Mutex<Option<String>>,
    /// Set when the engine closes it on purpose (after `stop`): its end is no crash.
    closing: AtomicBool,
    kill: Mutex<Option<oneshot::Sender<()>>>,
}

impl Child {
    fn fail_all(&self, why: &str) {
        self.ended.store(true, Ordering::SeqCst);
        let calls: Vec<_> = match self.calls.lock() {
            Ok(mut c) => c.drain().map(|(_, tx)| tx).collect(),
            Err(_) => Vec::new(),
        };
        for tx in calls {
            let _ = tx.send(Err(PluginError::connection_lost(why)));
        }
    }

    fn kill(&self, because: String) {
        if let Ok(mut k) = self.killed_because.lock() {
            k.get_or_insert(because);
        }
        if let Some(tx) = self.kill.lock().ok().and_then(|mut k| k.take()) {
            let _ = tx.send(());
        }
    }
}

/// How long a child that reported running out of memory may go on (printing its backtrace)
/// before it is killed.
const OOM_GRACE: Duration = Duration::from_secs(2);

/// What an isolated connector and the watches over its children share.
struct Common {
    settings: ChildSettings,
    creation: Creation,
    outlets: Outlets,
    /// When its children crashed, within the crash window.
    crashes: Mutex<VecDeque<Instant>>,
    /// Why it is quarantined, once it is.
    quarantined: Mutex<Option<String>>,
}

impl Common {
    /// Counts a crash (`why`), quarantines the connector if it crashes too often, and tells the
    /// supervisor the connection is lost, so that it reconnects (with a new child).
    fn crashed(&self, why: String) {
        let span = &self.outlets.span;
        tracing::error!(parent: span, "{why}");
        let (limit, window) = (self.settings.crash_limit, self.settings.crash_window);
        let now = Instant::now();
        let count = match self.crashes.lock() {
            Ok(mut c) => {
                c.push_back(now);
                while c.front().is_some_and(|t| now.duration_since(*t) > window) {
                    c.pop_front();
                }
                c.len()
            }
            Err(_) => 0,
        };
        if limit > 0 && count >= limit as usize {
            let reason = format!(
                "{count} crashes within {} (engine.plugins.crash_limit); the last: {why}. Restart \
                 the connector once the cause is fixed",
                humantime::format_duration(window)
            );
            tracing::error!(parent: span, "quarantined: {reason}");
            if let Ok(mut q) = self.quarantined.lock() {
                *q = Some(reason);
            }
        }
        let _ = self.outlets.lost.try_send(why);
    }
}

/// An isolated connector instance.
pub struct IsolatedConnector {
    common: Arc<Common>,
    child: tokio::sync::Mutex<Option<Arc<Child>>>,
    started: AtomicBool,
}

impl Drop for IsolatedConnector {
    fn drop(&mut self) {
        if let Ok(guard) = self.child.try_lock()
            && let Some(child) = guard.as_ref()
        {
            child.closing.store(true, Ordering::SeqCst);
            child.kill("the connector was dropped".into());
        }
    }
}

impl IsolatedConnector {
    /// A connector whose child starts at its first call.
    pub fn new(settings: ChildSettings, creation: Creation, outlets: Outlets) -> Self {
        Self {
            common: Arc::new(Common {
                settings,
                creation,
                outlets,
                crashes: Mutex::default(),
                quarantined: Mutex::default(),
            }),
            child: tokio::sync::Mutex::new(None),
            started: AtomicBool::new(false),
        }
    }

    /// Runs `call` in the child (started first if none runs), within `limit`; past it the child
    /// is killed.
    async fn call_child(
        &self,
        op: &'static str,
        limit: Duration,
        call: Call,
    ) -> Result<Returned, ConnectorError> {
        let id = self.common.creation.connector_id.clone();
        let plugin_error = |e: PluginError| ConnectorError::from_plugin(&id, op, e);
        let (child, call) = {
            let mut slot = self.child.lock().await;
            let live = slot
                .as_ref()
                .filter(|c| !c.ended.load(Ordering::SeqCst))
                .cloned();
            match (live, call) {
                // Nothing runs, nothing to close.
                (None, Call::Stop | Call::Disconnect) => return Ok(Returned::Nothing),
                (Some(c), call) => (c, call),
                (None, call) => {
                    let fresh = self.start_child(op).await?;
                    *slot = Some(fresh.clone());
                    // A new child holds a new instance: the first connection of an instance is
                    // its `start` (which the SDK's default turns into `connect`).
                    let call = match call {
                        Call::Connect if self.started.load(Ordering::SeqCst) => Call::Start,
                        other => other,
                    };
                    (fresh, call)
                }
            }
        };
        if matches!(call, Call::Start) {
            self.started.store(true, Ordering::SeqCst);
        }
        let closing = matches!(call, Call::Stop);
        let (tx, rx) = oneshot::channel();
        let call_id = child.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut calls) = child.calls.lock() {
            calls.insert(call_id, tx);
        }
        if child.ended.load(Ordering::SeqCst) {
            child.fail_all("the plugin host process ended");
        }
        let _ = child.input.send(ToChild::Call { id: call_id, call });
        let answer = match tokio::time::timeout(limit, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(PluginError::connection_lost(
                "the plugin host process ended during the call",
            )),
            Err(_) => {
                child.kill(format!(
                    "it did not answer {op} within {limit:?}, so the engine killed it"
                ));
                return Err(ConnectorError::TimedOut {
                    connector: id,
                    op,
                    after: limit,
                });
            }
        };
        if closing {
            // Stopped: its end from now on is expected.
            child.closing.store(true, Ordering::SeqCst);
            child.kill("the connector stopped".into());
        }
        answer.map_err(plugin_error)
    }

    async fn start_child(&self, op: &'static str) -> Result<Arc<Child>, ConnectorError> {
        let common = &self.common;
        let id = &common.creation.connector_id;
        if let Some(reason) = common.quarantined.lock().ok().and_then(|q| q.clone()) {
            return Err(ConnectorError::Quarantined {
                connector: id.clone(),
                reason,
            });
        }
        let host_error = |message: String| ConnectorError::Host {
            connector: id.clone(),
            message,
        };
        let args = [
            std::ffi::OsStr::new("plugin-host"),
            std::ffi::OsStr::new("serve"),
            std::ffi::OsStr::new("--library"),
            common.creation.library.as_os_str(),
            std::ffi::OsStr::new("--file"),
            common.creation.file.as_os_str(),
        ];
        let (mut process, contained) =
            process::spawn(&common.settings.exe, &args, common.settings.limits).map_err(|e| {
                host_error(format!(
                    "cannot start {} plugin-host: {e}",
                    common.settings.exe.display()
                ))
            })?;
        let pid = process.id().unwrap_or_default();
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            return Err(host_error("its standard streams are missing".into()));
        };
        let span = &common.outlets.span;
        tracing::info!(parent: span, pid, file = %common.creation.file.display(), "plugin host process started for {op}");

        let (input, to_child) = mpsc::unbounded_channel::<ToChild>();
        let (kill, killed) = oneshot::channel();
        let child = Arc::new(Child {
            pid,
            input,
            calls: Mutex::default(),
            next: AtomicU64::new(1),
            ended: AtomicBool::new(false),
            killed_because: Mutex::default(),
            closing: AtomicBool::new(false),
            kill: Mutex::new(Some(kill)),
        });

        // Engine → child.
        tokio::spawn(protocol::send_all(stdin, to_child));
        // Its standard error: into the connector's log, the last lines kept for the diagnosis.
        let tail = Tail::default();
        let stderr_done = {
            let (tail, span, doomed) = (tail.clone(), span.clone(), child.clone());
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::warn!(parent: &span, pid, "plugin host: {line}");
                    if tail.push(line) {
                        // Out of memory, it aborts; but a backtrace printed at its memory limit
                        // (symbols read from debug information) can take minutes. It gets a
                        // moment to say where, then it is ended.
                        let doomed = doomed.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(OOM_GRACE).await;
                            doomed.kill(format!(
                                "still running {} s after it reported running out of memory",
                                OOM_GRACE.as_secs()
                            ));
                        });
                    }
                }
            })
        };
        // Child → engine, and the watch over its end.
        let (created_tx, created_rx) = oneshot::channel();
        tokio::spawn(watch(
            common.clone(),
            child.clone(),
            (process, contained),
            FramedRead::new(stdout, protocol::codec()),
            killed,
            created_tx,
            (tail, stderr_done),
        ));

        let _ = child.input.send(ToChild::Create {
            connector_id: id.clone(),
            type_id: common.creation.type_id.clone(),
            settings: common.creation.settings.clone(),
            state_dir: common.creation.state_dir.to_string_lossy().into_owned(),
            plugin_dir: common.creation.plugin_dir.to_string_lossy().into_owned(),
            max_level: host::max_level().0,
        });
        match created_rx.await {
            Ok(Ok(())) => Ok(child),
            Ok(Err(e)) => Err(ConnectorError::from_plugin(id, "create", e)),
            Err(_) => Err(host_error(
                "it ended before the connector was created".into(),
            )),
        }
    }
}

/// Reads what the child sends until it ends, then says how it ended and fails its calls.
/// `stderr` is the tail of its standard error and the task that reads it.
async fn watch(
    common: Arc<Common>,
    child: Arc<Child>,
    (mut process, _contained): (tokio::process::Child, process::Contained),
    mut from_child: FramedRead<
        tokio::process::ChildStdout,
        tokio_util::codec::LengthDelimitedCodec,
    >,
    mut killed: oneshot::Receiver<()>,
    created: oneshot::Sender<Result<(), PluginError>>,
    (tail, stderr_done): (Tail, tokio::task::JoinHandle<()>),
) {
    let outlets = &common.outlets;
    let span = outlets.span.clone();
    let mut created = Some(created);
    let mut protocol_error = None;
    loop {
        let frame = tokio::select! {
            _ = &mut killed => break,
            f = from_child.next() => f,
        };
        let Some(frame) = frame else { break };
        let message = match frame
            .map_err(|e| e.to_string())
            .and_then(|f| protocol::decode::<FromChild>(&f))
        {
            Ok(m) => m,
            Err(e) => {
                protocol_error = Some(e);
                break;
            }
        };
        match message {
            FromChild::Created(r) => {
                if let Some(tx) = created.take() {
                    let _ = tx.send(r.map_err(PluginError::from));
                }
            }
            FromChild::Done { id, result } => {
                let waiter = child.calls.lock().ok().and_then(|mut c| c.remove(&id));
                if let Some(w) = waiter {
                    let _ = w.send(result.map_err(PluginError::from));
                }
            }
            FromChild::AddValues { id, values } => {
                let reply = child.input.clone();
                let common = common.clone();
                outlets.runtime.spawn(async move {
                    let (o, from) = (&common.outlets, &common.creation.connector_id);
                    let result = match protocol::values_from(&values) {
                        Ok(v) => o.sink.add_values(from, v).await,
                        Err(e) => Err(PluginError::new(ErrorKind::REJECTED_BY_HOST, e)),
                    };
                    let _ = reply.send(ToChild::HostDone {
                        id,
                        result: result.map_err(Into::into),
                    });
                });
            }
            FromChild::AddFile { id, path } => {
                let reply = child.input.clone();
                let common = common.clone();
                outlets.runtime.spawn(async move {
                    let (o, from) = (&common.outlets, &common.creation.connector_id);
                    let result = o.sink.add_file(from, path.into()).await;
                    let _ = reply.send(ToChild::HostDone {
                        id,
                        result: result.map_err(Into::into),
                    });
                });
            }
            FromChild::Log {
                level,
                target,
                message,
            } => host::forward_log(
                &span,
                oibus_plugin_api::ffi::LogLevel(level),
                &target,
                &message,
            ),
            FromChild::ConnectionLost(reason) => {
                tracing::warn!(parent: &span, "the plugin reports the connection lost: {reason}");
                let _ = outlets.lost.try_send(reason);
            }
            FromChild::Dropped { count, reason } => {
                if let Some(line) = outlets.reports.dropped(count, &reason) {
                    tracing::warn!(parent: &span, "{line}");
                }
            }
            FromChild::ItemStatus { item, error } => {
                let _entered = span.enter();
                outlets
                    .reports
                    .item_status(&item, error.as_deref())
                    .log(&item, error.as_deref());
            }
        }
    }
    // The channel is closed, broken or the engine wants it dead: make sure it is gone.
    let _ = process.start_kill();
    let status = process.wait().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), stderr_done).await;
    let mut how = match status {
        Ok(s) => process::describe(s),
        Err(e) => format!("could not be waited for: {e}"),
    };
    if let Some(because) = child.killed_because.lock().ok().and_then(|k| k.clone()) {
        how = format!("{how}: {because}");
    } else if let Some(e) = protocol_error {
        how = format!("{how}: {e}");
    }
    if tail.out_of_memory() {
        let limit = common
            .settings
            .limits
            .max_memory
            .map(|b| format!(" (max_memory = {} MiB)", b >> 20))
            .unwrap_or_default();
        how = format!("{how}: out of memory{limit}");
    } else if let Some(last) = tail.last()
        && !child.closing.load(Ordering::SeqCst)
    {
        how = format!("{how}; its last words: {last}");
    }
    let why = format!(
        "the plugin host process (pid {}) of {} {how}",
        child.pid,
        common.creation.file.display()
    );
    child.fail_all(&why);
    if let Some(tx) = created.take() {
        let _ = tx.send(Err(PluginError::new(ErrorKind::TRANSIENT, &why)));
    }
    if child.closing.load(Ordering::SeqCst) {
        tracing::debug!(parent: &span, "{why}");
        return;
    }
    common.crashed(why);
}

impl IsolatedConnector {
    /// The contract's call as the protocol carries it, and its answer back.
    async fn run(
        &self,
        op: &'static str,
        limit: Duration,
        call: backend::Call,
    ) -> Result<backend::Answer, ConnectorError> {
        let wire = match call {
            backend::Call::Start => Call::Start,
            backend::Call::Connect => Call::Connect,
            backend::Call::Stop => Call::Stop,
            backend::Call::Disconnect => Call::Disconnect,
            backend::Call::TestConnection => Call::TestConnection,
            backend::Call::HandleValues(values) => Call::HandleValues(protocol::values(&values)),
            backend::Call::HandleFile(path) => Call::HandleFile(path),
            backend::Call::HandleFiles(paths) => Call::HandleFiles(paths),
            backend::Call::LastPoint(items) => Call::LastPoint(protocol::items(&items)),
            backend::Call::FileQuery(items) => Call::FileQuery(protocol::items(&items)),
            backend::Call::Subscribe(items) => Call::Subscribe(protocol::items(&items)),
            backend::Call::Unsubscribe(items) => Call::Unsubscribe(protocol::items(&items)),
            backend::Call::History { items, start, end } => Call::History {
                items: protocol::items(&items),
                start: start.as_nanos(),
                end: end.as_nanos(),
            },
            backend::Call::TestItem(item) => Call::TestItem(protocol::WireItem::from(&item)),
            backend::Call::Browse(request) => Call::Browse(request),
        };
        Ok(match self.call_child(op, limit, wire).await? {
            Returned::Newest(t) => {
                backend::Answer::Newest(t.map(oibus_plugin_api::Timestamp::from_nanos))
            }
            Returned::Values(bytes) => {
                backend::Answer::Values(protocol::values_from(&bytes).map_err(|message| {
                    ConnectorError::Engine {
                        connector: self.common.creation.connector_id.clone(),
                        message: format!("the values of the item test do not decode: {message}"),
                    }
                })?)
            }
            Returned::Json(answer) => backend::Answer::Json(answer),
            _ => backend::Answer::Done,
        })
    }
}

impl Backend for IsolatedConnector {
    fn call(
        &self,
        op: &'static str,
        limit: Duration,
        call: backend::Call,
    ) -> futures_util::future::BoxFuture<'_, Result<backend::Answer, ConnectorError>> {
        Box::pin(self.run(op, limit, call))
    }

    fn is_isolated(&self) -> bool {
        true
    }
}
