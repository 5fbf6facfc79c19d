//! Opening a session: the client with its certificates, the endpoint matching the security
//! settings, the user identity, and the errors an operator can act on (an untrusted server
//! certificate names its file and where to move it).

use crate::settings::{Authentication, Connection, SecurityMode, SecurityPolicy};
use oibus_plugin_api::prelude::*;
use opcua::{
    client::{ClientBuilder, IdentityToken, Session, SessionPollResult},
    crypto::{CertificateStore, SecurityPolicy as UaPolicy, X509},
    types::{MessageSecurityMode, StatusCode},
};
use std::{path::Path, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

/// A live session and the task running its event loop.
pub struct Live {
    /// The session.
    pub session: Arc<Session>,
    events: JoinHandle<()>,
}

impl Live {
    /// Closes the session.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.disconnect()).await;
        self.events.abort();
    }
}

/// The session of `live`, or the error of a connector not connected to `url`.
pub fn of(live: &Option<Live>, url: &str) -> Result<Arc<Session>> {
    live.as_ref()
        .map(|l| l.session.clone())
        .ok_or_else(|| PluginError::connection_lost(format!("OPC UA server {url}: not connected")))
}

/// Where the connector keeps its certificates: its own in its state folder (unless given), the
/// trust list shared by the plugin's connectors.
struct Folders<'a> {
    /// The connector's state folder.
    pub state: &'a Path,
    /// The plugin's shared folder: `pki/trusted`, `pki/rejected`.
    pub shared: &'a Path,
    /// The connector id, for the application URI.
    pub connector_id: &'a str,
}

/// [`open`] for the connector of `ctx`: its state folder, its plugin's shared folder, its id.
pub async fn open_for(settings: &Connection, ctx: &Context) -> Result<Live> {
    let (state, shared, id) = (ctx.state_dir(), ctx.plugin_dir(), ctx.connector_id());
    let folders = Folders {
        state: &state,
        shared: &shared,
        connector_id: &id,
    };
    open(settings, folders, ctx).await
}

/// Connects and activates a session, or fails with an error that names the server and says
/// what to do.
async fn open(settings: &Connection, folders: Folders<'_>, ctx: &Context) -> Result<Live> {
    let url = settings.url.as_str();
    let pki = folders.shared.join("pki");
    let (cert, key) = match &settings.certificate {
        Some(c) => (c.cert_file.clone(), c.key_file.clone()),
        None => (
            folders.state.join("own/cert.der"),
            folders.state.join("private/private.pem"),
        ),
    };
    let mut client = ClientBuilder::new()
        .application_name("oibus-rs gateway")
        .application_uri(format!("urn:oibus-rs:{}", folders.connector_id))
        .product_uri("urn:oibus-rs")
        .pki_dir(&pki)
        .certificate_path(&cert)
        .private_key_path(&key)
        .create_sample_keypair(settings.certificate.is_none())
        .trust_server_certs(false)
        .session_timeout(settings.session_timeout_ms)
        .request_timeout(Duration::from_millis(settings.request_timeout_ms))
        .channel_lifetime(settings.secure_channel_lifetime_ms)
        // The engine reconnects, with its own back-off: the client never does.
        .session_retry_limit(0)
        .keep_alive_interval(Duration::from_secs(5))
        .max_failed_keep_alive_count(3)
        .client()
        .map_err(|e| PluginError::invalid_settings(format!("OPC UA client: {}", e.join("; "))))?;
    let identity = identity(&settings.authentication)?;
    let (policy, mode) = security(settings)?;
    let limit = Duration::from_millis(settings.request_timeout_ms);
    let endpoint = (url, policy.to_str(), mode);
    let (session, event_loop) = match tokio::time::timeout(
        limit,
        client.connect_to_matching_endpoint(endpoint, identity),
    )
    .await
    {
        Err(_) => {
            return Err(PluginError::connection_lost(format!(
                "OPC UA server {url}: no answer within {} ms",
                settings.request_timeout_ms
            )));
        }
        Ok(Err(e)) => return Err(endpoint_error(url, settings, e.status())),
        Ok(Ok(pair)) => pair,
    };
    // The event loop runs the session; its first result says whether the session opened.
    let (first_tx, first_rx) =
        tokio::sync::oneshot::channel::<std::result::Result<(), StatusCode>>();
    let lost = ctx.clone();
    let server = url.to_string();
    let events = ctx.spawn(async move {
        use futures_util::StreamExt as _;
        let stream = event_loop.enter();
        let mut stream = std::pin::pin!(stream);
        let mut first = Some(first_tx);
        while let Some(event) = stream.next().await {
            match event {
                Ok(SessionPollResult::Reconnected(_)) => {
                    if let Some(tx) = first.take() {
                        let _ = tx.send(Ok(()));
                    }
                }
                Ok(
                    SessionPollResult::ConnectionLost(code)
                    | SessionPollResult::ReconnectFailed(code),
                )
                | Err(code) => {
                    // Before the session opened, its opener hears why; after, the engine.
                    match first.take() {
                        Some(tx) => {
                            let _ = tx.send(Err(code));
                        }
                        None => lost.connection_lost(format!(
                            "OPC UA server {server}: {}",
                            crate::convert::status_text(code)
                        )),
                    }
                    return;
                }
                Ok(_) => {}
            }
        }
    })?;
    let opened = tokio::time::timeout(limit * 2, first_rx).await;
    match opened {
        Ok(Ok(Ok(()))) => Ok(Live { session, events }),
        Ok(Ok(Err(code))) => {
            events.abort();
            Err(session_error(&client, url, settings, code, &pki).await)
        }
        Ok(Err(_)) => {
            events.abort();
            Err(PluginError::connection_lost(format!(
                "OPC UA server {url}: the session ended before it opened"
            )))
        }
        Err(_) => {
            events.abort();
            Err(PluginError::connection_lost(format!(
                "OPC UA server {url}: the session did not open within {} ms",
                2 * settings.request_timeout_ms
            )))
        }
    }
}

fn identity(auth: &Authentication) -> Result<IdentityToken> {
    Ok(match auth {
        Authentication::Anonymous => IdentityToken::Anonymous,
        Authentication::Username { username, password } => {
            IdentityToken::new_user_name(username.clone(), password.clone())
        }
        Authentication::Certificate {
            cert_file,
            key_file,
        } => IdentityToken::new_x509_path(cert_file, key_file).map_err(|e| {
            PluginError::invalid_settings(format!(
                "authentication: cannot read the user certificate {} or its key {}: {e}",
                cert_file.display(),
                key_file.display()
            ))
        })?,
    })
}

fn security(settings: &Connection) -> Result<(UaPolicy, MessageSecurityMode)> {
    let policy = match settings.security_policy {
        SecurityPolicy::None => UaPolicy::None,
        SecurityPolicy::Basic256sha256 => UaPolicy::Basic256Sha256,
        SecurityPolicy::Aes128Sha256Rsaoaep => UaPolicy::Aes128Sha256RsaOaep,
        SecurityPolicy::Aes256Sha256Rsapss => UaPolicy::Aes256Sha256RsaPss,
    };
    let mode = match settings.security_mode {
        SecurityMode::None => MessageSecurityMode::None,
        SecurityMode::Sign => MessageSecurityMode::Sign,
        SecurityMode::SignAndEncrypt => MessageSecurityMode::SignAndEncrypt,
    };
    match (policy == UaPolicy::None, mode == MessageSecurityMode::None) {
        (true, false) => Err(PluginError::invalid_settings(format!(
            "security_mode {} needs a security_policy other than \"none\"",
            name(&settings.security_mode)
        ))),
        (false, true) => Err(PluginError::invalid_settings(format!(
            "security_policy {} needs security_mode \"sign\" or \"sign-and-encrypt\"",
            name(&settings.security_policy)
        ))),
        _ => Ok((policy, mode)),
    }
}

/// Why no endpoint could be used.
fn endpoint_error(url: &str, settings: &Connection, code: StatusCode) -> PluginError {
    let text = crate::convert::status_text(code);
    if code == StatusCode::BadTcpEndpointUrlInvalid || code == StatusCode::BadSecurityPolicyRejected
    {
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} offers no endpoint with security_mode {:?} and security_policy \
             {:?}: {text}",
            settings.security_mode, settings.security_policy
        ));
    }
    if code
        .sub_code()
        .name()
        .starts_with("BadSecurityModeRejected")
        || code == StatusCode::BadNotFound
    {
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} offers no endpoint with security_mode {:?} and security_policy \
             {:?}: {text}",
            settings.security_mode, settings.security_policy
        ));
    }
    PluginError::connection_lost(format!("OPC UA server {url}: {text}"))
}

/// Why the session did not open, with what the operator can do.
async fn session_error(
    client: &opcua::client::Client,
    url: &str,
    settings: &Connection,
    code: StatusCode,
    pki: &Path,
) -> PluginError {
    let text = crate::convert::status_text(code);
    if (code == StatusCode::BadCertificateUntrusted || code == StatusCode::BadSecurityChecksFailed)
        && let Some(why) = untrusted(client, url, settings, pki).await
    {
        return PluginError::transient(why);
    }
    if code == StatusCode::BadUserAccessDenied
        || code == StatusCode::BadIdentityTokenRejected
        || code == StatusCode::BadIdentityTokenInvalid
    {
        let who = match &settings.authentication {
            Authentication::Anonymous => "an anonymous session".to_string(),
            Authentication::Username { username, .. } => format!("user {username:?}"),
            Authentication::Certificate { cert_file, .. } => {
                format!("the user certificate {}", cert_file.display())
            }
        };
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} refused {who}: {text}; check authentication"
        ));
    }
    PluginError::connection_lost(format!("OPC UA server {url}: {text}"))
}

/// For a server whose certificate is not in the trust list: its name, thumbprint, and where
/// the client saved it.
async fn untrusted(
    client: &opcua::client::Client,
    url: &str,
    settings: &Connection,
    pki: &Path,
) -> Option<String> {
    let endpoints = client.get_server_endpoints_from_url(url).await.ok()?;
    let (policy, mode) = security(settings).ok()?;
    let endpoint = endpoints
        .iter()
        .find(|e| e.security_mode == mode && e.security_policy_uri.as_ref() == policy.to_uri())?;
    let cert = X509::from_byte_string(&endpoint.server_certificate).ok()?;
    let name = CertificateStore::cert_file_name(&cert);
    let thumbprint = cert.thumbprint().as_hex_string();
    let rejected = pki.join("rejected").join(&name);
    let trusted = pki.join("trusted").join(&name);
    Some(format!(
        "OPC UA server {url}: its certificate {:?} (thumbprint {thumbprint}) is not trusted; it \
         was saved as {}: to trust it, move it to {}",
        cert.common_name()
            .unwrap_or_default()
            .trim_start_matches("CN=")
            .to_string(),
        rejected.display(),
        trusted.display()
    ))
}

/// A setting's value as the configuration spells it (`"sign-and-encrypt"`).
fn name<T: Serialize>(value: &T) -> String {
    oibus_plugin_api::serde_json::to_string(value).unwrap_or_default()
}
