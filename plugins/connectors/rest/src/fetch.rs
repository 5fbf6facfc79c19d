//! One HTTP exchange: the request sent, the answer read within the time-out and the size bound,
//! its status and JSON checked. A failure is classified: the server cannot be reached (the
//! engine reconnects), or this request failed (its item is named, the others are read).

use crate::{
    request::Call,
    settings::{Authentication, Endpoint, Method},
};
use oibus_plugin_api::{PluginError, Result, tokio, with_causes};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server cannot be reached (refused, unknown host, TLS handshake).
    Unreachable(String),
    /// This call failed (status, time-out, size, not JSON).
    Call(String),
}

/// The HTTP client of a connector.
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    max_bytes: u64,
    authentication: Authentication,
}

/// The first characters of an answer, printable, for messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(160)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

impl Client {
    /// The client the settings describe; errors name the setting.
    pub fn new(s: &Endpoint<'_>) -> Result<Self> {
        let tls = oibus_tls_common::for_url("base_url", s.base_url, s.tls)?;
        let mut headers = HeaderMap::new();
        for (name, value) in s.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                PluginError::invalid_settings(format!("headers: {name:?} is not a header name"))
            })?;
            let mut v = HeaderValue::from_str(value).map_err(|_| {
                PluginError::invalid_settings(format!(
                    "headers: the value of {name:?} is not a header value (control characters?)"
                ))
            })?;
            v.set_sensitive(true);
            headers.insert(n, v);
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .default_headers(headers)
            .connect_timeout(Duration::from_millis(s.timeout_ms))
            .build()
            .map_err(|e| PluginError::permanent(format!("HTTP client: {}", with_causes(&e))))?;
        Ok(Self {
            http,
            timeout: Duration::from_millis(s.timeout_ms),
            max_bytes: s.max_response_bytes,
            authentication: s.authentication.clone(),
        })
    }

    /// A request with the connector's authentication.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match &self.authentication {
            Authentication::None => r,
            Authentication::Basic { username, password } => r.basic_auth(username, Some(password)),
            Authentication::Bearer { token } => r.bearer_auth(token),
        }
    }

    /// Sends `call` and reads its answer as JSON.
    pub async fn json(&self, call: &Call) -> std::result::Result<Value, Failure> {
        let what = format!(
            "{} {}",
            match call.method {
                Method::Get => "GET",
                Method::Post => "POST",
            },
            call.url
        );
        let method = match call.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut request = self.request(method, &call.url).query(&call.query);
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let exchange = async {
            let mut response = request.send().await.map_err(|e| classify(&what, e))?;
            let status = response.status();
            let kind = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
                .to_string();
            if response
                .content_length()
                .is_some_and(|n| n > self.max_bytes)
            {
                return Err(Failure::Call(format!(
                    "{what}: an answer of {} bytes, over max_response_bytes ({})",
                    response.content_length().unwrap_or_default(),
                    self.max_bytes
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(&what, e))? {
                if (body.len() + chunk.len()) as u64 > self.max_bytes {
                    return Err(Failure::Call(format!(
                        "{what}: the answer goes past max_response_bytes ({})",
                        self.max_bytes
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            if !status.is_success() {
                return Err(Failure::Call(format!(
                    "{what}: HTTP {status}: {}",
                    snippet(&body)
                )));
            }
            serde_json::from_slice(&body).map_err(|e| {
                Failure::Call(format!(
                    "{what}: the answer is not JSON ({kind}: {e}); it begins with {:?}",
                    snippet(&body)
                ))
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Call(format!(
                "{what}: no complete answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// A GET of `url` for a connection test: reachable, and the credentials not refused.
    pub async fn probe(&self, url: &str) -> Result<()> {
        let what = format!("GET {url}");
        let send = self.request(reqwest::Method::GET, url).send();
        let response = match tokio::time::timeout(self.timeout, send).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let (Failure::Unreachable(m) | Failure::Call(m)) = classify(&what, e);
                return Err(PluginError::transient(m));
            }
            Err(_) => {
                return Err(PluginError::transient(format!(
                    "{what}: no answer within {} ms",
                    self.timeout.as_millis()
                )));
            }
        };
        match response.status().as_u16() {
            401 | 403 => Err(PluginError::invalid_settings(format!(
                "{what}: HTTP {}: the server refuses the credentials (authentication, headers)",
                response.status()
            ))),
            _ => Ok(()),
        }
    }
}

impl Client {
    /// Sends a North's request and classifies the answer as the engine's error model wants:
    /// 2xx delivered; 400, 413, 415 and 422 refuse this batch or file (permanent: set apart, a
    /// batch bisected to find the bad value); any other status (401, 403, 404, 408, 429, 5xx),
    /// a time-out or a cut connection is retried (transient); a server that cannot be reached
    /// is a lost connection.
    pub async fn deliver(&self, what: &str, request: reqwest::RequestBuilder) -> Result<()> {
        let exchange = async {
            let mut response = request.send().await.map_err(|e| match classify(what, e) {
                Failure::Unreachable(m) => PluginError::connection_lost(m),
                Failure::Call(m) => PluginError::transient(m),
            })?;
            let status = response.status();
            if status.is_success() {
                // Delivered: what the answer says after its status cannot change that, and
                // waiting for a slow body could only make the data be sent twice.
                return Ok::<_, PluginError>((status, Vec::new()));
            }
            // The beginning of the answer, for the message.
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let room = (self.max_bytes as usize).saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok::<_, PluginError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                PluginError::transient(format!(
                    "{what}: no complete answer within {} ms; sent again",
                    self.timeout.as_millis()
                ))
            })??;
        let said = format!("{what}: HTTP {status}: {}", snippet(&body));
        match status.as_u16() {
            200..=299 => Ok(()),
            400 | 413 | 415 | 422 => Err(PluginError::permanent(format!(
                "{said} (refused: set apart)"
            ))),
            _ => Err(PluginError::transient(format!("{said}; sent again"))),
        }
    }
}

/// A reqwest error as a failure: could not connect (or the TLS handshake failed) → unreachable;
/// anything else → this call.
fn classify(what: &str, e: reqwest::Error) -> Failure {
    let connect = e.is_connect();
    // Without the URL: its query may carry a key, and `what` names the address already.
    let why = with_causes(&e.without_url());
    if connect {
        Failure::Unreachable(format!("{what}: cannot connect: {why}"))
    } else {
        Failure::Call(format!("{what}: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_short_and_printable() {
        assert_eq!(
            snippet(b"<html>\n<body>oops</body>"),
            "<html> <body>oops</body>"
        );
        assert_eq!(snippet(&[b'a'; 500]).len(), 160);
        assert_eq!(snippet(&[0xFF, b'x']), "\u{FFFD}x");
    }
}
