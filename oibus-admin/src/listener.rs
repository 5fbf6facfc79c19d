//! The API's socket: plain HTTP, or HTTPS with `engine.admin.tls_certificate` and
//! `tls_private_key`. TLS handshakes run in tasks of their own, each bounded in time and in
//! number per client address, and accepting never waits for them: clients that open
//! connections and say nothing hold up only their own address.

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
};
use tokio_rustls::{TlsAcceptor, rustls, server::TlsStream};
use tokio_util::either::Either;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; a connection beyond is closed at once (accepting goes on).
const HANDSHAKES: usize = 1024;
/// Handshakes in progress at once from one address: clients that connect and say nothing hold
/// up only their own address.
const HANDSHAKES_PER_ADDRESS: usize = 16;
/// Handshaken connections waiting for the server to take them.
const WAITING: usize = 64;

/// The certificate chain and private key files of HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the server's certificate first.
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub private_key: PathBuf,
}

impl TlsFiles {
    /// The server configuration, or what is wrong with a file, naming it.
    pub fn load(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
        let named = |file: &Path, what: &str, e: &dyn std::fmt::Display| {
            anyhow::anyhow!("engine.admin: {} does not hold {what}: {e}", file.display())
        };
        let chain = CertificateDer::pem_file_iter(&self.certificate)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| named(&self.certificate, "a PEM certificate chain", &e))?;
        if chain.is_empty() {
            return Err(named(
                &self.certificate,
                "a PEM certificate chain",
                &"no CERTIFICATE block",
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.private_key)
            .map_err(|e| named(&self.private_key, "a PEM private key", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| {
                anyhow::anyhow!(
                    "engine.admin: the certificate {} and the key {} cannot serve HTTPS: {e}",
                    self.certificate.display(),
                    self.private_key.display()
                )
            })?;
        Ok(Arc::new(config))
    }
}

/// A connection, plain or encrypted.
pub type Connection = Either<TcpStream, TlsStream<TcpStream>>;

/// The API's listening socket.
pub struct AdminListener {
    local: SocketAddr,
    incoming: Incoming,
}

enum Incoming {
    Plain(TcpListener),
    Tls {
        handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
        _acceptor: AbortOnDrop,
    },
}

/// Ends the task accepting TLS connections with the listener.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl AdminListener {
    /// Listens on `tcp`, with TLS when `tls` is given.
    pub fn new(tcp: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let incoming = match tls {
            None => Incoming::Plain(tcp),
            Some(config) => {
                let (tx, handshaken) = mpsc::channel(WAITING);
                let acceptor =
                    AbortOnDrop(tokio::spawn(accept_tls(tcp, TlsAcceptor::from(config), tx)));
                Incoming::Tls {
                    handshaken,
                    _acceptor: acceptor,
                }
            }
        };
        Ok(Self { local, incoming })
    }

    /// Whether connections are encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.incoming, Incoming::Tls { .. })
    }
}

/// Handshakes in progress, in all and by address.
#[derive(Default)]
struct InProgress {
    total: usize,
    by_address: std::collections::HashMap<std::net::IpAddr, usize>,
}

/// One handshake counted in [`InProgress`] while it lasts.
struct Counted(Arc<std::sync::Mutex<InProgress>>, std::net::IpAddr);

impl Counted {
    /// Counts a handshake from `ip`, unless there are too many.
    fn new(all: &Arc<std::sync::Mutex<InProgress>>, ip: std::net::IpAddr) -> Option<Self> {
        let mut p = all.lock().unwrap_or_else(|e| e.into_inner());
        let mine = p.by_address.get(&ip).copied().unwrap_or(0);
        if p.total >= HANDSHAKES || mine >= HANDSHAKES_PER_ADDRESS {
            return None;
        }
        p.total += 1;
        p.by_address.insert(ip, mine + 1);
        Some(Self(all.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        p.total = p.total.saturating_sub(1);
        if let Some(n) = p.by_address.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                p.by_address.remove(&self.1);
            }
        }
    }
}

/// Accepts connections and hands on those whose handshake succeeds in time. Accepting never
/// waits for handshakes: a connection beyond the bounds (in all, or from its address) is closed
/// at once.
async fn accept_tls(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshaken: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let in_progress = Arc::new(std::sync::Mutex::new(InProgress::default()));
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::debug!("admin API: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if handshaken.is_closed() {
            return;
        }
        let Some(counted) = Counted::new(&in_progress, peer.ip()) else {
            tracing::debug!("admin API: too many TLS handshakes in progress: {peer} closed");
            continue;
        };
        let (acceptor, handshaken) = (acceptor.clone(), handshaken.clone());
        tokio::spawn(async move {
            let _counted = counted;
            match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = handshaken.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!("admin API: TLS handshake with {peer}: {e}"),
                Err(_) => tracing::debug!("admin API: TLS handshake with {peer} timed out"),
            }
        });
    }
}

impl axum::serve::Listener for AdminListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.incoming {
            Incoming::Plain(tcp) => {
                // axum's own accept, which waits out errors such as running out of descriptors.
                let (s, peer) = axum::serve::Listener::accept(tcp).await;
                (Either::Left(s), peer)
            }
            Incoming::Tls { handshaken, .. } => match handshaken.recv().await {
                Some((s, peer)) => (Either::Right(s), peer),
                // The acceptor ends only with the listener: nothing more will come.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The client's address, for handlers and middleware (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, AdminListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, AdminListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
