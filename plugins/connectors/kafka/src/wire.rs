//! One connection to one broker: TCP or TLS, requests framed and numbered, one at a time, every
//! exchange bounded in time and every answer in size.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::{
    messages::{ApiKey, RequestHeader, ResponseHeader},
    protocol::{Decodable, Encodable, Request, StrBytes},
};
use oibus_plugin_api::tracing;
use std::{sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

/// The largest answer read from a broker (a metadata answer of a large cluster is a few MB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// What went wrong on a connection: the caller decides what it means for the data.
#[derive(Debug)]
pub(crate) enum WireError {
    /// Cannot connect, the connection broke, or no answer in time: try again, elsewhere or later.
    Io(String),
    /// The broker answered something this client cannot read (a bug on one side): do not retry
    /// the same request on the same connection.
    Protocol(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(s) | Self::Protocol(s) => f.write_str(s),
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

/// An open connection to `addr`, with the API versions agreed with that broker.
pub(crate) struct Connection {
    pub(crate) addr: String,
    stream: Box<dyn Stream>,
    next_id: i32,
    timeout: Duration,
    client_id: StrBytes,
}

/// Splits `host:port` (IPv6 in brackets) into its parts.
pub(crate) fn split_addr(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_owned(), port.parse().ok()?))
}

impl Connection {
    /// Connects to `addr` (`host:port`), over TLS when `tls` is given, within `timeout`.
    pub(crate) async fn open(
        addr: &str,
        tls: Option<&Arc<rustls::ClientConfig>>,
        timeout: Duration,
        client_id: &str,
    ) -> Result<Self, WireError> {
        let (host, port) =
            split_addr(addr).ok_or_else(|| WireError::Io(format!("{addr:?} is not host:port")))?;
        let open = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| WireError::Io(format!("broker {addr}: cannot connect: {e}")))?;
            let _ = tcp.set_nodelay(true);
            let Some(tls) = tls else {
                return Ok(Box::new(tcp) as Box<dyn Stream>);
            };
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| {
                WireError::Protocol(format!("{host:?} is not a host name for TLS: {e}"))
            })?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    WireError::Io(format!(
                        "broker {addr}: TLS: {}",
                        oibus_plugin_api::with_causes(&e)
                    ))
                })?;
            Ok(Box::new(stream) as Box<dyn Stream>)
        };
        let stream = tokio::time::timeout(timeout, open).await.map_err(|_| {
            WireError::Io(format!(
                "broker {addr}: no connection within {} ms",
                timeout.as_millis()
            ))
        })??;
        Ok(Self {
            addr: addr.to_owned(),
            stream,
            next_id: 0,
            timeout,
            client_id: StrBytes::from_string(client_id.to_owned()),
        })
    }

    /// Sends `request` in `version` and reads its answer, within the connection's time-out.
    pub(crate) async fn call<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, WireError> {
        let timeout = self.timeout;
        let addr = self.addr.clone();
        tokio::time::timeout(timeout, self.exchange(request, version))
            .await
            .map_err(|_| {
                WireError::Io(format!(
                    "broker {addr}: no answer to {:?} within {} ms",
                    api_name(R::KEY),
                    timeout.as_millis()
                ))
            })?
    }

    async fn exchange<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, WireError> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| WireError::Protocol(format!("unknown API key {}", R::KEY)))?;
        let id = self.next_id;
        tracing::trace!(
            "broker {}: {} v{version}, request {id}",
            self.addr,
            api_name(R::KEY)
        );
        self.next_id = self.next_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::new();
        let encoded = header
            .encode(&mut body, key.request_header_version(version))
            .and_then(|()| request.encode(&mut body, version));
        encoded.map_err(|e| {
            WireError::Protocol(format!("cannot encode {:?}: {e}", api_name(R::KEY)))
        })?;
        let len = i32::try_from(body.len()).map_err(|_| {
            WireError::Protocol(format!("request of {} bytes is too large", body.len()))
        })?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(len);
        frame.extend_from_slice(&body);
        let io = |e: std::io::Error| WireError::Io(format!("broker {}: {e}", self.addr));
        self.stream.write_all(&frame).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;

        let len = self.stream.read_i32().await.map_err(io)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > MAX_RESPONSE_BYTES {
            return Err(WireError::Protocol(format!(
                "broker {}: answer of {len} bytes announced, more than {MAX_RESPONSE_BYTES}",
                self.addr
            )));
        }
        let mut answer = vec![0; len];
        self.stream.read_exact(&mut answer).await.map_err(io)?;
        let mut answer = Bytes::from(answer);
        let bad = |e: anyhow::Error| {
            WireError::Protocol(format!(
                "broker {}: unreadable answer to {:?} v{version}: {e}",
                self.addr,
                api_name(R::KEY)
            ))
        };
        let header = ResponseHeader::decode(&mut answer, key.response_header_version(version))
            .map_err(bad)?;
        if header.correlation_id != id {
            return Err(WireError::Protocol(format!(
                "broker {}: answer {} to request {id}",
                self.addr, header.correlation_id
            )));
        }
        let response = R::Response::decode(&mut answer, version).map_err(bad)?;
        if answer.has_remaining() {
            tracing::debug!(
                "broker {}: {} bytes left after {:?} v{version}",
                self.addr,
                answer.remaining(),
                api_name(R::KEY)
            );
        }
        Ok(response)
    }
}

/// The name of an API, for messages.
pub(crate) fn api_name(key: i16) -> String {
    ApiKey::try_from(key)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|_| format!("API {key}"))
}

#[cfg(test)]
mod tests {
    use super::split_addr;

    #[test]
    fn addresses_split_with_ipv6_brackets() {
        assert_eq!(split_addr("kafka1:9092"), Some(("kafka1".into(), 9092)));
        assert_eq!(split_addr("[::1]:9093"), Some(("::1".into(), 9093)));
        assert_eq!(split_addr("kafka1"), None);
        assert_eq!(split_addr(":9092"), None);
        assert_eq!(split_addr("h:99999"), None);
    }
}
