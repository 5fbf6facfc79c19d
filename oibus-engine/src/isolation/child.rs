//! The child's side: `oibus plugin-host`, which opens one plugin library and either reads its
//! manifest (a probe) or runs one connector, forwarding everything the plugin asks of its host to
//! the engine over the protocol.
//!
//! Standard output is the protocol channel. It is moved to another descriptor before any plugin
//! code runs, and standard output is pointed at standard error, so that a plugin that prints
//! cannot corrupt the protocol.

use super::protocol::{self, Call, FromChild, ProbeAnswer, Returned, ToChild, WireError};
use crate::loader::library;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RStr, RString, RVec},
};
use async_ffi::FutureExt as _;
use futures_util::StreamExt as _;
use oibus_plugin_api::{
    ErrorKind, OibusValue, PluginError, Timestamp,
    ffi::{ConnectorBox, FfiHost, FfiHost_TO, FfiResultFuture, LogLevel},
};
use std::{
    collections::HashMap,
    io::Write as _,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;

/// `oibus plugin-host probe`: opens `library` (the engine's checked copy of `file`) and writes its
/// manifest, or the loader's refusal, on the protocol channel. Exit code 0 either way: any other
/// end (a signal, another code, no answer) is the library's own doing.
pub fn probe(library: &Path, file: &Path) -> anyhow::Result<i32> {
    let mut out = oibus_platform::child::take_protocol_output()?;
    let answer = match library::open_copy(file, library) {
        Ok(plugin) => ProbeAnswer::Manifest(serde_json::to_string(plugin.manifest())?),
        Err(e) => ProbeAnswer::Refused(e.to_string()),
    };
    out.write_all(&protocol::encode(&answer))?;
    out.flush()?;
    Ok(0)
}

/// What the plugin's host calls wait for: the engine's answers by request id.
type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<(), PluginError>>>>>;

/// The host context given to the plugin in the child: every call goes to the engine.
struct RemoteHost {
    connector_id: String,
    state_dir: String,
    plugin_dir: String,
    max_level: LogLevel,
    out: mpsc::UnboundedSender<FromChild>,
    waiting: Waiting,
    next: AtomicU64,
}

impl RemoteHost {
    fn ask(&self, make: impl FnOnce(u64) -> FromChild) -> FfiResultFuture<()> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(id, tx);
        }
        let sent = self.out.send(make(id)).is_ok();
        async move {
            if !sent {
                return RResult::RErr(gone());
            }
            match rx.await {
                Ok(r) => RResult::from(r),
                Err(_) => RResult::RErr(gone()),
            }
        }
        .into_ffi()
    }
}

fn gone() -> PluginError {
    PluginError::new(
        ErrorKind::REJECTED_BY_HOST,
        "the engine is gone: nothing was stored",
    )
}

impl FfiHost for RemoteHost {
    fn connector_id(&self) -> RString {
        self.connector_id.as_str().into()
    }
    fn state_dir(&self) -> RString {
        self.state_dir.as_str().into()
    }
    fn plugin_dir(&self) -> RString {
        crate::folders::ensure_dir(std::path::Path::new(&self.plugin_dir));
        self.plugin_dir.as_str().into()
    }
    fn max_level(&self) -> LogLevel {
        self.max_level
    }
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        let _ = self.out.send(FromChild::Log {
            level: level.0,
            target: target.to_string(),
            message: message.to_string(),
        });
    }
    fn add_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()> {
        let values = protocol::values(&values);
        self.ask(|id| FromChild::AddValues { id, values })
    }
    fn add_file(&self, path: RString) -> FfiResultFuture<()> {
        let path = path.into_string();
        self.ask(|id| FromChild::AddFile { id, path })
    }
    fn connection_lost(&self, reason: RStr<'_>) {
        let _ = self.out.send(FromChild::ConnectionLost(reason.to_string()));
    }
    fn dropped(&self, count: u64, reason: RStr<'_>) {
        let _ = self.out.send(FromChild::Dropped {
            count,
            reason: reason.to_string(),
        });
    }
    fn item_status(&self, item: RStr<'_>, error: ROption<RStr<'_>>) {
        let _ = self.out.send(FromChild::ItemStatus {
            item: item.to_string(),
            error: error.into_option().map(|e| e.to_string()),
        });
    }
}

/// `oibus plugin-host serve`: runs one connector of `library` (the engine's checked copy of
/// `file`) until the engine closes the channel.
pub fn serve(library: &Path, file: &Path) -> anyhow::Result<i32> {
    let out = oibus_platform::child::take_protocol_output()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("oibus-plugin-host")
        .build()?;
    runtime.block_on(run(library, file, out))
}

async fn run(library: &Path, file: &Path, out: std::fs::File) -> anyhow::Result<i32> {
    let (tx, rx) = mpsc::unbounded_channel::<FromChild>();
    let writer = tokio::spawn(protocol::send_all(tokio::fs::File::from_std(out), rx));
    let mut input = FramedRead::new(tokio::io::stdin(), protocol::codec());
    let waiting: Waiting = Arc::default();

    // The first message creates the connector.
    let Some(Ok(first)) = input.next().await else {
        return Ok(0);
    };
    let connector = match protocol::decode::<ToChild>(&first).map_err(anyhow::Error::msg)? {
        ToChild::Create {
            connector_id,
            type_id,
            settings,
            state_dir,
            plugin_dir,
            max_level,
        } => {
            let host = RemoteHost {
                connector_id,
                state_dir,
                plugin_dir,
                max_level: LogLevel(max_level),
                out: tx.clone(),
                waiting: waiting.clone(),
                next: AtomicU64::new(1),
            };
            let created = library::open_copy(file, library)
                .map_err(|e| PluginError::new(ErrorKind::PERMANENT, e.to_string()))
                .and_then(|p| {
                    p.create_connector(&type_id, &settings, FfiHost_TO::from_value(host, TD_Opaque))
                });
            match created {
                Ok(c) => {
                    let _ = tx.send(FromChild::Created(Ok(())));
                    Arc::new(c)
                }
                Err(e) => {
                    let _ = tx.send(FromChild::Created(Err(e.into())));
                    drop(tx);
                    let _ = writer.await;
                    return Ok(0);
                }
            }
        }
        other => anyhow::bail!("expected the creation of the connector, got {other:?}"),
    };

    while let Some(frame) = input.next().await {
        let frame = frame?;
        match protocol::decode::<ToChild>(&frame).map_err(anyhow::Error::msg)? {
            ToChild::Call { id, call } => {
                let (connector, tx) = (connector.clone(), tx.clone());
                tokio::spawn(async move {
                    let result = dispatch(&connector, call).await.map_err(WireError::from);
                    let _ = tx.send(FromChild::Done { id, result });
                });
            }
            ToChild::HostDone { id, result } => {
                let waiter = waiting.lock().ok().and_then(|mut w| w.remove(&id));
                if let Some(w) = waiter {
                    let _ = w.send(result.map_err(PluginError::from));
                }
            }
            ToChild::Create { .. } => anyhow::bail!("the connector was already created"),
        }
    }
    // The engine closed the channel: it stopped the connector, or it is gone.
    Ok(0)
}

/// Runs one call on the connector.
async fn dispatch(c: &ConnectorBox, call: Call) -> Result<Returned, PluginError> {
    let unit = |r: RResult<(), PluginError>| r.into_result().map(|()| Returned::Nothing);
    let items = |i: Vec<protocol::WireItem>| -> RVec<oibus_plugin_api::Item> {
        i.into_iter().map(Into::into).collect()
    };
    match call {
        Call::Start => unit(c.start().await),
        Call::Connect => unit(c.connect().await),
        Call::Stop => unit(c.stop().await),
        Call::Disconnect => unit(c.disconnect().await),
        Call::TestConnection => unit(c.test_connection().await),
        Call::HandleValues(bytes) => {
            let values = protocol::values_from(&bytes).map_err(PluginError::permanent)?;
            unit(c.handle_values(values.into()).await)
        }
        Call::HandleFile(path) => unit(c.handle_file(path.into()).await),
        Call::HandleFiles(paths) => unit(
            c.handle_files(paths.into_iter().map(Into::into).collect())
                .await,
        ),
        Call::LastPoint(i) => unit(c.last_point_query(items(i)).await),
        Call::FileQuery(i) => unit(c.file_query(items(i)).await),
        Call::History {
            items: i,
            start,
            end,
        } => c
            .history_query(items(i), Timestamp(start), Timestamp(end))
            .await
            .into_result()
            .map(|t| Returned::Newest(t.into_option().map(|t| t.0))),
        Call::Subscribe(i) => unit(c.subscribe(items(i)).await),
        Call::Unsubscribe(i) => unit(c.unsubscribe(items(i)).await),
        Call::TestItem(i) => c
            .test_item(i.into())
            .await
            .into_result()
            .map(|v| Returned::Values(protocol::values(&v))),
        Call::Browse(request) => c
            .browse(request.into())
            .await
            .into_result()
            .map(|answer| Returned::Json(answer.into_string())),
    }
}
