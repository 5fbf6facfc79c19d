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
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
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

/// Where the connector keeps its certificates: the trust list and the gateway's own
/// certificate are shared by the plugin's connectors (and by connection tests and browsing), so
/// that a server trusts the gateway once.
struct Folders<'a> {
    /// The connector's state folder (where an earlier release kept its own certificate).
    pub state: &'a Path,
    /// The plugin's shared folder: `pki/trusted`, `pki/rejected`, `pki/own`, `pki/private`.
    pub shared: &'a Path,
    /// The connector id, for the application URI of a certificate given in the settings.
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

/// Most elements of an array in a message from the server.
const MAX_ARRAY: usize = 1 << 20;
/// Most bytes of a message from the server.
const MAX_MESSAGE: usize = 64 << 20;
/// Most bytes of a string or byte string in a message from the server.
const MAX_STRING: usize = 16 << 20;

/// The application URI of the gateway's own certificate (shared by its OPC UA connectors).
pub const GATEWAY_URI: &str = "urn:oibus-rs:gateway";

/// The gateway's certificate, its key and the application URI it carries: the settings' (URI
/// per connector), else one an earlier release made in the connector's state folder (kept, so
/// that servers which trust it go on doing so), else the shared one (made if missing).
fn own_certificate(settings: &Connection, folders: &Folders<'_>) -> (PathBuf, PathBuf, String) {
    let per_connector = format!("urn:oibus-rs:{}", folders.connector_id);
    if let Some(c) = &settings.certificate {
        return (c.cert_file.clone(), c.key_file.clone(), per_connector);
    }
    let (cert, key) = (
        folders.state.join("own/cert.der"),
        folders.state.join("private/private.pem"),
    );
    if cert.is_file() && key.is_file() {
        return (cert, key, per_connector);
    }
    let pki = folders.shared.join("pki");
    (
        pki.join("own/cert.der"),
        pki.join("private/private.pem"),
        GATEWAY_URI.to_string(),
    )
}

/// Builds the client, making the shared certificate if it is missing: under a lock file, so that
/// connectors starting together (in this process or in isolated ones) make only one.
fn build_client(builder: ClientBuilder, pki: &Path) -> Result<opcua::client::Client> {
    let lock = std::fs::create_dir_all(pki)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(pki.join(".own.lock"))
        })
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| PluginError::transient(format!("OPC UA folder {}: {e}", pki.display())))?;
    let private = pki.join("private");
    let making = !private.join("private.pem").exists();
    let client = builder
        .client()
        .map_err(|e| PluginError::invalid_settings(format!("OPC UA client: {}", e.join("; "))));
    if making {
        keep_private(&private);
    }
    drop(lock);
    client
}

/// Makes the private key folder and the files in it readable by the gateway's user alone (the
/// client writes them with the process's umask).
fn keep_private(folder: &Path) {
    let restrict = |path: &Path| {
        if let Err(e) = oibus_platform::private::restrict(path) {
            tracing::warn!("cannot restrict {} to its owner: {e}", path.display());
        }
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    restrict(folder);
    for entry in entries.flatten() {
        restrict(&entry.path());
    }
}

/// Connects and activates a session, or fails with an error that names the server and says
/// what to do.
async fn open(settings: &Connection, folders: Folders<'_>, ctx: &Context) -> Result<Live> {
    let url = settings.url.as_str();
    // Absolute paths: async-opcua takes a relative certificate path as relative to its PKI
    // folder, not to the current one.
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let pki = absolute(folders.shared.join("pki"));
    let (cert, key, application_uri) = own_certificate(settings, &folders);
    let (cert, key) = (absolute(cert), absolute(key));
    let builder = ClientBuilder::new()
        .application_name("oibus-rs gateway")
        .application_uri(application_uri)
        .product_uri("urn:oibus-rs")
        .pki_dir(&pki)
        .certificate_path(&cert)
        .private_key_path(&key)
        .create_sample_keypair(settings.certificate.is_none())
        .trust_server_certs(false)
        // Trust and key length stay the library's; the names and dates are checked here
        // (`certificate.rs`), every alternative name considered.
        .verify_server_certs(false)
        .session_timeout(settings.session_timeout_ms)
        .request_timeout(Duration::from_millis(settings.request_timeout_ms))
        .channel_lifetime(settings.secure_channel_lifetime_ms)
        // The engine reconnects, with its own back-off: the client never does.
        .session_retry_limit(0)
        .keep_alive_interval(Duration::from_secs(5))
        .max_failed_keep_alive_count(3)
        // The library's defaults (1,000 elements an array, 5 chunks a message) refuse what a
        // plant's server sends: a publication of 10,000 changes, a Read of 5,000 nodes. These
        // still bound what a faulty server can make the gateway allocate.
        .max_array_length(MAX_ARRAY)
        .max_message_size(MAX_MESSAGE)
        .max_chunk_count(MAX_MESSAGE / 8192)
        .max_string_length(MAX_STRING)
        .max_byte_string_length(MAX_STRING);
    let mut client = build_client(builder, &pki)?;
    let identity = identity(&settings.authentication)?;
    let (policy, mode) = security(settings)?;
    let limit = Duration::from_millis(settings.request_timeout_ms);
    let endpoints =
        match tokio::time::timeout(limit, client.get_server_endpoints_from_url(url)).await {
            Err(_) => {
                return Err(PluginError::connection_lost(format!(
                    "OPC UA server {url}: no answer within {} ms",
                    settings.request_timeout_ms
                )));
            }
            Ok(Err(e)) => return Err(unreachable(url, e.status(), limit).await),
            Ok(Ok(endpoints)) => endpoints,
        };
    let Some(endpoint) =
        opcua::client::Client::find_matching_endpoint(&endpoints, url, policy, mode)
    else {
        return Err(no_such_endpoint(url, settings, &endpoints));
    };
    if mode != MessageSecurityMode::None {
        check_certificate(url, &endpoint)?;
    }
    let (session, event_loop) = client
        .connect_to_endpoint_directly(endpoint, identity)
        .map_err(|e| endpoint_error(url, settings, e.status()))?;
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
            Err(session_error(&client, url, settings, code, (&pki, &cert)).await)
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

/// The server's certificate in `endpoint` against the host of `url` and the server's
/// application URI: a refusal is permanent (settings or certificate to change).
fn check_certificate(url: &str, endpoint: &opcua::types::EndpointDescription) -> Result<()> {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .ok_or_else(|| PluginError::invalid_settings(format!("url {url:?}: no host")))?;
    let der = endpoint
        .server_certificate
        .value
        .as_deref()
        .unwrap_or_default();
    crate::certificate::check(
        der,
        &host,
        endpoint.server.application_uri.as_ref(),
        std::time::SystemTime::now(),
    )
    .map_err(|why| PluginError::invalid_settings(format!("OPC UA server {url}: {why}")))
}

/// Why the server could not be asked for its endpoints, in words: the client says
/// `BadCommunicationError` for every failure to connect, so a plain TCP connection is tried
/// for the reason the operator can act on ("connection refused", "no route to host").
async fn unreachable(url: &str, code: StatusCode, limit: Duration) -> PluginError {
    let mut why = crate::convert::status_text(code);
    let target = url::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(4840))));
    if let Some(target) = target
        && (code == StatusCode::BadCommunicationError
            || code == StatusCode::BadNotConnected
            || code == StatusCode::BadConnectionClosed)
    {
        match tokio::time::timeout(limit, tokio::net::TcpStream::connect(&target)).await {
            Ok(Err(e)) => why = format!("{e} ({target})"),
            Err(_) => {
                why = format!(
                    "no TCP connection to {target} within {} ms",
                    limit.as_millis()
                )
            }
            Ok(Ok(_)) => {}
        }
    }
    PluginError::connection_lost(format!("OPC UA server {url}: cannot connect: {why}"))
}

/// The settings ask for an endpoint the server does not offer: what it offers.
fn no_such_endpoint(
    url: &str,
    settings: &Connection,
    endpoints: &[opcua::types::EndpointDescription],
) -> PluginError {
    let mut offered: Vec<String> = endpoints
        .iter()
        .map(|e| {
            let policy = UaPolicy::from_uri(e.security_policy_uri.as_ref());
            format!(
                "{}/{} at {}",
                mode_name(e.security_mode),
                policy_name(policy),
                e.endpoint_url
            )
        })
        .collect();
    offered.sort();
    offered.dedup();
    PluginError::invalid_settings(format!(
        "OPC UA server {url} offers no endpoint with security_mode {} and security_policy {}; \
         it offers (security_mode/security_policy): {}",
        name(&settings.security_mode),
        name(&settings.security_policy),
        if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        }
    ))
}

/// A security mode as the settings spell it.
fn mode_name(mode: MessageSecurityMode) -> &'static str {
    match mode {
        MessageSecurityMode::None => "none",
        MessageSecurityMode::Sign => "sign",
        MessageSecurityMode::SignAndEncrypt => "sign-and-encrypt",
        _ => "invalid",
    }
}

/// A security policy as the settings spell it (or as OPC UA names one they do not take).
fn policy_name(policy: UaPolicy) -> String {
    match policy {
        UaPolicy::None => "none".into(),
        UaPolicy::Basic256Sha256 => "basic256sha256".into(),
        UaPolicy::Aes128Sha256RsaOaep => "aes128-sha256-rsaoaep".into(),
        UaPolicy::Aes256Sha256RsaPss => "aes256-sha256-rsapss".into(),
        other => format!("{} (not supported here)", other.to_str()),
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
    (pki, own): (&Path, &Path),
) -> PluginError {
    let text = crate::convert::status_text(code);
    if code == StatusCode::BadCertificateUntrusted || code == StatusCode::BadSecurityChecksFailed {
        // Without message security the client checks no server certificate: the refusal is the
        // server's.
        if settings.security_mode != SecurityMode::None
            && let Some(why) = untrusted(client, url, settings, pki).await
        {
            return PluginError::transient(why);
        }
        // The server's certificate is trusted here: it is the server that refuses the gateway's.
        if code == StatusCode::BadCertificateUntrusted
            || settings.security_mode != SecurityMode::None
        {
            return PluginError::transient(refused_by_server(url, own, &text));
        }
    }
    let who = match &settings.authentication {
        Authentication::Anonymous => "an anonymous session".to_string(),
        Authentication::Username { username, .. } => format!("user {username:?}"),
        Authentication::Certificate { cert_file, .. } => {
            format!("the user certificate {}", cert_file.display())
        }
    };
    // The client found no user token policy of this kind on the endpoint.
    if code == StatusCode::BadSecurityPolicyRejected {
        let offered = offered_identities(client, url, settings)
            .await
            .unwrap_or_else(|| "none it says".into());
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} takes no {} on this endpoint (it takes: {offered}); set \
             authentication to one of those",
            match &settings.authentication {
                Authentication::Anonymous => "anonymous session",
                Authentication::Username { .. } => "user name and password",
                Authentication::Certificate { .. } => "user certificate",
            }
        ));
    }
    if code == StatusCode::BadUserAccessDenied
        || code == StatusCode::BadIdentityTokenRejected
        || code == StatusCode::BadIdentityTokenInvalid
    {
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} refused {who}: {text}; check authentication"
        ));
    }
    PluginError::connection_lost(format!("OPC UA server {url}: {text}"))
}

/// The server's endpoint with the settings' security mode and policy, if it offers one.
async fn endpoint_of(
    client: &opcua::client::Client,
    url: &str,
    settings: &Connection,
) -> Option<opcua::types::EndpointDescription> {
    let endpoints = client.get_server_endpoints_from_url(url).await.ok()?;
    let (policy, mode) = security(settings).ok()?;
    endpoints
        .into_iter()
        .find(|e| e.security_mode == mode && e.security_policy_uri.as_ref() == policy.to_uri())
}

/// The kinds of user the endpoint of the settings takes (`anonymous, username`).
async fn offered_identities(
    client: &opcua::client::Client,
    url: &str,
    settings: &Connection,
) -> Option<String> {
    use opcua::types::UserTokenType;
    let endpoint = endpoint_of(client, url, settings).await?;
    let kinds: Vec<&str> = endpoint
        .user_identity_tokens
        .iter()
        .flatten()
        .map(|t| match t.token_type {
            UserTokenType::Anonymous => "anonymous",
            UserTokenType::UserName => "username",
            UserTokenType::Certificate => "certificate",
            UserTokenType::IssuedToken => "an issued token (not supported here)",
        })
        .collect();
    Some(kinds.join(", "))
}

/// For a server whose certificate is not in the trust list: its name, thumbprint, and where
/// the client saved it.
async fn untrusted(
    client: &opcua::client::Client,
    url: &str,
    settings: &Connection,
    pki: &Path,
) -> Option<String> {
    let endpoint = endpoint_of(client, url, settings).await?;
    let cert = X509::from_byte_string(&endpoint.server_certificate).ok()?;
    let name = CertificateStore::cert_file_name(&cert);
    let thumbprint = cert.thumbprint().as_hex_string();
    let rejected = pki.join("rejected").join(&name);
    let trusted = pki.join("trusted").join(&name);
    if trusted.is_file() {
        return None;
    }
    // The client saves it when it checks it; a server that refused the gateway first left
    // that undone.
    if !rejected.is_file() {
        let saved = cert.to_der().map_err(|e| e.to_string()).and_then(|der| {
            std::fs::create_dir_all(pki.join("rejected"))
                .and_then(|()| std::fs::write(&rejected, der))
                .map_err(|e| e.to_string())
        });
        if let Err(e) = saved {
            tracing::warn!(
                "cannot save the server's certificate as {}: {e}",
                rejected.display()
            );
        }
    }
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

/// For a server that refused the gateway's certificate: which file to give its administrator.
fn refused_by_server(url: &str, own: &Path, text: &str) -> String {
    let thumbprint = std::fs::read(own)
        .ok()
        .and_then(|der| X509::from_der(&der).ok())
        .map(|cert| format!(" (thumbprint {})", cert.thumbprint().as_hex_string()))
        .unwrap_or_default();
    format!(
        "OPC UA server {url} does not trust the gateway's certificate {}{thumbprint} ({text}): \
         have it added to the server's trusted certificates, then the next attempt connects",
        own.display()
    )
}

/// A setting's value as the configuration spells it (`"sign-and-encrypt"`).
fn name<T: Serialize>(value: &T) -> String {
    oibus_plugin_api::serde_json::to_string(value).unwrap_or_default()
}
