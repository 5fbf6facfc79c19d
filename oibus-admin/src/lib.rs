//! The admin REST API (axum, JSON) and the web console, started by `oibus run`: plugins (and
//! uploads into their folder), connector types, connector CRUD (validated, saved to the
//! configuration file, applied live; secrets never shown), start/stop, test connection, status
//! (whole, or in pages and live), logs, North cache inspection, history queries, `/metrics`.
//! Every API route but the OpenAPI document needs `Authorization: Bearer <token>` or the
//! console's session cookie (with its CSRF token for changes).

mod bounds;
pub mod console;
mod error;
mod host;
mod listener;
mod live;
pub mod metrics;
mod openapi;
mod routes;
mod state;
mod throttle;
pub mod token;
mod wire;
mod wrong_tokens;

pub use listener::TlsFiles;

use anyhow::Context as _;
use oibus_engine::engine::{DataDir, RunningFrontend, commands::Command, status::StatusBoard};
use state::ApiState;
use std::{net::SocketAddr, sync::Arc};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// The file, in the data folder, holding the API's base URL once it listens.
pub const URL_FILE: &str = "admin-url";

/// Where and how the API listens.
#[derive(Debug)]
pub struct AdminOptions {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The bearer token; `None`: the one in the data folder, created if needed.
    pub token: Option<String>,
    /// A token that opens `GET /metrics` only.
    pub metrics_token: Option<String>,
    /// Host names besides the listen address, `localhost`, IP addresses and this machine's
    /// name that requests may give (`"*"`: any).
    pub allowed_hosts: Vec<String>,
    /// Serve HTTPS with these files.
    pub tls: Option<TlsFiles>,
    /// The socket, once bound (by the engine before its connectors start, else by [`serve`]).
    pub bound: Option<std::net::TcpListener>,
    /// The TLS configuration, once read (with the socket).
    tls_config: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl AdminOptions {
    /// Options to listen on `listen` with `token`.
    pub fn new(listen: SocketAddr, token: Option<String>) -> Self {
        Self {
            listen,
            token,
            metrics_token: None,
            allowed_hosts: Vec::new(),
            tls: None,
            bound: None,
            tls_config: None,
        }
    }

    /// Reads the TLS files and binds the address, or says what is wrong with a file, or that
    /// the address is taken and how to choose another.
    fn bind(&mut self) -> anyhow::Result<()> {
        if self.bound.is_some() {
            return Ok(());
        }
        if let Some(files) = &self.tls {
            self.tls_config = Some(files.load()?);
        }
        let listener = std::net::TcpListener::bind(self.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                    ": another program, or another oibus, listens there"
                } else {
                    ""
                };
                anyhow::anyhow!(
                    "the admin API cannot listen on {}: {e}{hint}; choose another address with \
                     `--admin-listen HOST:PORT` or `listen` in `[engine.admin]`, or turn the API \
                     off with `enabled = false` there",
                    self.listen
                )
            })?;
        self.bound = Some(listener);
        Ok(())
    }
}

/// The running API.
pub struct AdminHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl AdminHandle {
    /// Stops listening and waits for the server.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

impl oibus_engine::engine::Frontend for AdminOptions {
    fn bind(&mut self) -> anyhow::Result<()> {
        AdminOptions::bind(self)
    }

    fn start(
        self: Box<Self>,
        data: DataDir,
        commands: mpsc::Sender<Command>,
        board: Arc<StatusBoard>,
    ) -> futures_util::future::BoxFuture<'static, anyhow::Result<Box<dyn RunningFrontend>>> {
        Box::pin(async move {
            let handle = serve(*self, &data, commands, board).await?;
            Ok(Box::new(Running { handle, data }) as Box<dyn RunningFrontend>)
        })
    }
}

/// The API as the engine runs it: stopping it also removes its address file.
struct Running {
    handle: AdminHandle,
    data: DataDir,
}

impl RunningFrontend for Running {
    fn stop(self: Box<Self>) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            self.handle.stop().await;
            let _ = std::fs::remove_file(self.data.0.join(URL_FILE));
        })
    }
}

/// Starts the API; writes its URL to `<data>/admin-url`.
pub async fn serve(
    options: AdminOptions,
    data: &DataDir,
    commands: mpsc::Sender<Command>,
    board: Arc<StatusBoard>,
) -> anyhow::Result<AdminHandle> {
    let token = token::load_or_create(options.token.as_deref(), &data.0)
        .context("cannot create the admin API token")?;
    let mut options = options;
    options.bind()?;
    let tcp = options
        .bound
        .take()
        .map(TcpListener::from_std)
        .transpose()?
        .context("the admin API's socket")?;
    let listener = listener::AdminListener::new(tcp, options.tls_config.take())?;
    let address = axum::serve::Listener::local_addr(&listener)?;
    let scheme = if listener.is_tls() { "https" } else { "http" };
    std::fs::write(data.0.join(URL_FILE), format!("{scheme}://{address}"))?;
    let app = routes::router(
        ApiState {
            token: Arc::new(token),
            metrics_token: options.metrics_token.clone().map(Arc::new),
            commands,
            board,
            sessions: Arc::default(),
            throttle: Arc::default(),
            tls: listener.is_tls(),
        },
        host::AllowedHosts::new(&options.allowed_hosts),
    );
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<listener::Peer>();
        let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = server.await {
            tracing::error!("admin API: {e}");
        }
    });
    tracing::info!(
        "admin API and web console on {scheme}://{address}/ (sign in with the token in {})",
        data.0.join(token::TOKEN_FILE).display()
    );
    Ok(AdminHandle { cancel, task })
}
