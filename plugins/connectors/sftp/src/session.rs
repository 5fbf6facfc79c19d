//! One SSH connection and its SFTP session: connect within the time-out, check the host key,
//! log in, start the `sftp` subsystem.

use crate::host_key::{Expected, HostKeys};
use crate::settings::{Authentication, Endpoint};
use oibus_plugin_api::{PluginError, Result, with_causes};
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// An open SFTP session.
pub struct Session {
    /// The SSH connection (closed when dropped).
    pub ssh: Handle<HostKeyCheck>,
    /// The SFTP client over it.
    pub sftp: SftpSession,
}

impl Session {
    /// Ends the SFTP session and the SSH connection, whatever the server answers.
    pub async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self
            .ssh
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

/// The SSH client's handler: checks the server's host key.
pub struct HostKeyCheck {
    expected: Option<String>,
    /// The algorithm and fingerprint the server showed.
    shown: Arc<Mutex<Option<(String, String)>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, russh::Error> {
        let key = key.public_key();
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let accepted = self.expected.as_ref().is_none_or(|e| *e == fingerprint);
        if let Ok(mut shown) = self.shown.lock() {
            *shown = Some((key.algorithm().to_string(), fingerprint));
        }
        Ok(accepted)
    }
}

/// Opens a session with the server of `settings`, every step within `timeout_ms`.
pub async fn open(settings: &Endpoint<'_>, keys: &HostKeys) -> Result<Session> {
    let timeout = Duration::from_millis(settings.timeout_ms);
    let server = format!("{}:{}", settings.host, settings.port);
    let expected = keys.expected()?;
    let shown = Arc::new(Mutex::new(None));
    let check = HostKeyCheck {
        expected: match &expected {
            Expected::Anything => None,
            Expected::Fingerprint(f, _) => Some(f.clone()),
        },
        shown: shown.clone(),
    };
    let config = Arc::new(client::Config {
        // A server that goes silent is found by unanswered keep-alives.
        keepalive_interval: Some(timeout.min(Duration::from_secs(15))),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    });
    let connecting = client::connect(config, (settings.host, settings.port), check);
    let mut ssh = match tokio::time::timeout(timeout, connecting).await {
        Err(_) => {
            return Err(PluginError::connection_lost(format!(
                "{server}: no SSH handshake within {} ms",
                settings.timeout_ms
            )));
        }
        Ok(Err(russh::Error::UnknownKey)) => {
            let (algorithm, fingerprint) = shown
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .unwrap_or_default();
            let (wanted, from) = match expected {
                Expected::Fingerprint(f, from) => (f, from),
                Expected::Anything => (String::new(), "nothing"),
            };
            let hint = if from == "host_key_fingerprint" {
                "check host_key_fingerprint".to_string()
            } else {
                format!(
                    "if the server's key was changed on purpose, delete {} or set \
                     host_key_fingerprint",
                    keys.file().display()
                )
            };
            return Err(PluginError::permanent(format!(
                "{server}: host key refused: the server shows {algorithm} {fingerprint}, \
                 {from} is {wanted} ({hint})"
            )));
        }
        Ok(Err(e)) => {
            return Err(PluginError::connection_lost(format!(
                "{server}: cannot connect: {}",
                with_causes(&e)
            )));
        }
        Ok(Ok(ssh)) => ssh,
    };
    within(
        timeout,
        &server,
        "log in",
        login(&mut ssh, settings, &server),
    )
    .await??;
    if let (Expected::Anything, Some((_, f))) =
        (expected, shown.lock().ok().and_then(|s| s.clone()))
    {
        keys.remember(&f)?;
    }
    let sftp = within(timeout, &server, "start SFTP", start_sftp(&ssh, settings)).await??;
    Ok(Session { ssh, sftp })
}

async fn login(
    ssh: &mut Handle<HostKeyCheck>,
    settings: &Endpoint<'_>,
    server: &str,
) -> Result<()> {
    let user = settings.username;
    let lost = |e: russh::Error| {
        PluginError::connection_lost(format!("{server}: log-in interrupted: {}", with_causes(&e)))
    };
    let (result, how) = match settings.authentication {
        Authentication::Password { password } => (
            ssh.authenticate_password(user, password.as_str())
                .await
                .map_err(lost)?,
            "password",
        ),
        Authentication::PrivateKey { path, passphrase } => {
            let key = russh::keys::load_secret_key(path, passphrase.as_deref()).map_err(|e| {
                let why = match e {
                    russh::keys::Error::KeyIsEncrypted => {
                        "it is protected by a passphrase: set authentication.passphrase".to_string()
                    }
                    e => with_causes(&e),
                };
                PluginError::invalid_settings(format!(
                    "authentication.path {path}: cannot load the private key: {why}"
                ))
            })?;
            // RSA keys sign with the best SHA-2 hash the server accepts (never SHA-1 unasked).
            let hash = if key.algorithm().is_rsa() {
                ssh.best_supported_rsa_hash()
                    .await
                    .map_err(lost)?
                    .unwrap_or(Some(HashAlg::Sha256))
            } else {
                None
            };
            let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            (
                ssh.authenticate_publickey(user, key).await.map_err(lost)?,
                "private key",
            )
        }
    };
    if result.success() {
        Ok(())
    } else if ssh.is_closed() {
        Err(PluginError::connection_lost(format!(
            "{server}: the connection closed during log-in"
        )))
    } else {
        Err(PluginError::transient(format!(
            "{server}: the server refused the credentials of {user:?} ({how})"
        )))
    }
}

async fn start_sftp(ssh: &Handle<HostKeyCheck>, settings: &Endpoint<'_>) -> Result<SftpSession> {
    let server = format!("{}:{}", settings.host, settings.port);
    let refused = |what: &str, e: &dyn std::error::Error| {
        PluginError::connection_lost(format!("{server}: {what}: {}", with_causes(e)))
    };
    let channel = ssh
        .channel_open_session()
        .await
        .map_err(|e| refused("cannot open a session channel", &e))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| refused("the SFTP subsystem is refused", &e))?;
    let sftp = SftpSession::new(channel.into_stream())
        .await
        .map_err(|e| refused("the SFTP server does not answer", &e))?;
    sftp.set_timeout(settings.timeout_ms.div_ceil(1000).max(1));
    Ok(sftp)
}

/// `step` of the connection to `server`, within `timeout`.
async fn within<T>(
    timeout: Duration,
    server: &str,
    step: &str,
    f: impl Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(timeout, f).await.map_err(|_| {
        PluginError::connection_lost(format!(
            "{server}: cannot {step} within {} ms",
            timeout.as_millis()
        ))
    })
}

use oibus_plugin_api::tokio;
