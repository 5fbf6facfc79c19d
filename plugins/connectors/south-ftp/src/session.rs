//! One FTP control connection: connect within the time-out, `AUTH TLS` when asked, log in,
//! binary transfers, passive data connections; what the server offers for listings.

use crate::settings::{FtpSettings, Mode};
use oibus_plugin_api::{PluginError, Result, with_causes};
use std::time::Duration;
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::types::FileType;
use suppaftp::{FtpError, tokio_rustls::TlsConnector};

/// An open, logged-in FTP session.
pub struct Connection {
    /// The control connection (plain until `AUTH TLS`, then encrypted).
    pub ftp: AsyncRustlsFtpStream,
    /// Whether the server lists folders with `MLSD` (exact times); otherwise `LIST`.
    pub mlsd: bool,
    /// The server's name and the time-out of its commands.
    pub bounds: Bounds,
}

/// The server of a connection and the time-out of each of its commands.
pub struct Bounds {
    /// `host:port`, for messages.
    pub server: String,
    /// The time-out of each command.
    pub timeout: Duration,
}

impl Connection {
    /// Ends the session politely (`QUIT`), whatever the server answers.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(self.bounds.timeout, self.ftp.quit()).await;
    }
}

impl Bounds {
    /// Runs `step` within the time-out; its FTP error becomes a [`PluginError`] naming `what`.
    pub async fn run<T>(
        &self,
        what: &str,
        step: impl Future<Output = Result<T, FtpError>>,
    ) -> Result<T> {
        self.answer(what, step)
            .await?
            .map_err(|e| error(&self.server, what, e))
    }

    /// Runs `step` within the time-out, leaving its FTP error (the server's answer) to the
    /// caller; no answer in time means the connection is gone.
    pub async fn answer<T>(
        &self,
        what: &str,
        step: impl Future<Output = Result<T, FtpError>>,
    ) -> Result<Result<T, FtpError>> {
        tokio::time::timeout(self.timeout, step).await.map_err(|_| {
            PluginError::connection_lost(format!(
                "{}: {what}: no answer within {} ms",
                self.server,
                self.timeout.as_millis()
            ))
        })
    }

    /// The [`PluginError`] of an FTP error of `what`.
    pub fn error(&self, what: &str, e: FtpError) -> PluginError {
        error(&self.server, what, e)
    }
}

/// An FTP error: an answer of the server fails that operation (except 421, the server closing
/// the connection); anything else means the connection is gone.
pub fn error(server: &str, what: &str, e: FtpError) -> PluginError {
    match e {
        FtpError::UnexpectedResponse(r) => {
            let answer = String::from_utf8_lossy(&r.body).trim().to_string();
            let message = format!("{server}: {what}: the server answered {answer:?}");
            if r.status.code() == 421 {
                PluginError::connection_lost(message)
            } else {
                PluginError::transient(message)
            }
        }
        e => PluginError::connection_lost(format!("{server}: {what}: {}", with_causes(&e))),
    }
}

/// Whether `e` is the server's "no such file" (550).
pub fn is_missing(e: &FtpError) -> bool {
    matches!(e, FtpError::UnexpectedResponse(r) if r.status.code() == 550)
}

/// Opens a session with the server of `settings`.
pub async fn open(settings: &FtpSettings) -> Result<Connection> {
    let server = format!("{}:{}", settings.host, settings.port);
    let timeout = Duration::from_millis(settings.timeout_ms);
    let tcp = tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await
    .map_err(|_| {
        PluginError::connection_lost(format!(
            "{server}: cannot connect within {} ms",
            settings.timeout_ms
        ))
    })?
    .map_err(|e| PluginError::connection_lost(format!("{server}: cannot connect: {e}")))?;
    let greeting = tokio::time::timeout(timeout, AsyncRustlsFtpStream::connect_with_stream(tcp));
    let ftp = greeting
        .await
        .map_err(|_| {
            PluginError::connection_lost(format!(
                "{server}: no FTP greeting within {} ms",
                settings.timeout_ms
            ))
        })?
        .map_err(|e| error(&server, "no FTP greeting", e))?;
    let ftp = match &settings.tls {
        None => ftp,
        Some(tls) => {
            let connector = AsyncRustlsConnector::from(TlsConnector::from(tls.client_config()?));
            let secured = tokio::time::timeout(timeout, ftp.into_secure(connector, &settings.host));
            secured
                .await
                .map_err(|_| {
                    PluginError::connection_lost(format!(
                        "{server}: no TLS handshake within {} ms",
                        settings.timeout_ms
                    ))
                })?
                .map_err(|e| error(&server, "TLS (AUTH TLS)", e))?
        }
    };
    let mut c = Connection {
        ftp,
        mlsd: false,
        bounds: Bounds { server, timeout },
    };
    let (user, password) = (settings.username.as_str(), settings.password.as_str());
    let what = format!("log-in of {user:?}");
    match c.bounds.answer(&what, c.ftp.login(user, password)).await? {
        Ok(()) => {}
        // 530 "not logged in", 430 "invalid user name or password".
        Err(FtpError::UnexpectedResponse(r)) if matches!(r.status.code(), 530 | 430) => {
            let answer = String::from_utf8_lossy(&r.body).trim().to_string();
            return Err(PluginError::transient(format!(
                "{}: the server refused the credentials of {user:?}: {answer:?}",
                c.bounds.server
            )));
        }
        Err(e) => return Err(c.bounds.error(&what, e)),
    }
    c.bounds
        .run(
            "binary mode (TYPE I)",
            c.ftp.transfer_type(FileType::Binary),
        )
        .await?;
    match settings.mode {
        Mode::Passive => {
            c.ftp.set_mode(suppaftp::Mode::Passive);
            c.ftp.set_passive_nat_workaround(true);
        }
        Mode::ExtendedPassive => c.ftp.set_mode(suppaftp::Mode::ExtendedPassive),
    }
    // Servers without FEAT (old ones) are listed with LIST.
    c.mlsd = match tokio::time::timeout(timeout, c.ftp.feat()).await {
        Ok(Ok(features)) => features.keys().any(|k| k.eq_ignore_ascii_case("MLST")),
        _ => false,
    };
    Ok(c)
}
