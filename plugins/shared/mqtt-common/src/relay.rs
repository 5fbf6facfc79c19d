//! A relay on 127.0.0.1 between the MQTT client library and the broker, for the one thing the
//! library cannot survive: a PUBLISH whose topic is not valid UTF-8 (a surrogate, a stray byte)
//! or holds U+0000. The library closes the connection on it, so the message before it is never
//! acknowledged and the broker delivers both again after each reconnection, without end.
//!
//! The relay copies every packet unchanged but such a PUBLISH, whose topic it replaces with
//! [`INVALID_TOPIC`] followed by the original bytes, escaped ([`escaped`]). No topic that reaches
//! the library can otherwise start with U+0000, so the South knows the message for what it is,
//! sets it aside (counted, logged, acknowledged) and keeps the connection. The relay also makes
//! the connection to the broker, encrypted when the settings ask for TLS, and keeps why the last
//! one failed, which the library would only see as its own connection closing.

use bytes::{Buf, BufMut, BytesMut};
use oibus_plugin_api::{
    PluginError, Result,
    sdk::Context,
    tokio::{
        self,
        io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
        net::{TcpListener, TcpStream},
    },
};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// The start of a topic the relay rewrote.
pub const INVALID_TOPIC: &str = "\0invalid-topic\0";

/// Bytes of a bad topic kept, escaped, in the rewritten one.
const KEPT_TOPIC_BYTES: usize = 256;

/// Where the relay connects, and how.
pub struct Upstream {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// TLS, when the connection is encrypted.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Longest wait for the TCP connection and the TLS handshake.
    pub timeout: Duration,
}

/// A running relay: the library connects to [`port`](Self::port) on 127.0.0.1.
pub struct Relay {
    port: u16,
    failure: Arc<Mutex<Option<String>>>,
}

impl Relay {
    /// Listens on an ephemeral port of 127.0.0.1; each connection accepted is relayed to a new
    /// connection to `upstream`. The task runs until it is aborted (returned, to end with the
    /// session).
    pub async fn start(
        ctx: &Context,
        upstream: Upstream,
    ) -> Result<(Self, tokio::task::JoinHandle<()>)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            PluginError::transient(format!("cannot open the MQTT relay on 127.0.0.1: {e}"))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| PluginError::transient(e.to_string()))?
            .port();
        let failure = Arc::new(Mutex::new(None));
        let upstream = Arc::new(upstream);
        let (inner_ctx, kept) = (ctx.clone(), failure.clone());
        let task = ctx.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    // Out of file descriptors, say: wait rather than spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let (upstream, kept) = (upstream.clone(), kept.clone());
                let _ = inner_ctx.spawn(async move {
                    match connect(&upstream).await {
                        Ok(broker) => {
                            *kept.lock().unwrap_or_else(|p| p.into_inner()) = None;
                            relay(client, broker).await;
                        }
                        Err(why) => {
                            *kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                        }
                    }
                });
            }
        })?;
        Ok((Self { port, failure }, task))
    }

    /// The port the library connects to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Why the last connection to the broker failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

async fn connect(to: &Upstream) -> std::result::Result<Box<dyn Stream>, String> {
    let open = async {
        let tcp = TcpStream::connect((to.host.as_str(), to.port))
            .await
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &to.tls else {
            return Ok(Box::new(tcp) as Box<dyn Stream>);
        };
        let name = rustls::pki_types::ServerName::try_from(to.host.clone())
            .map_err(|e| format!("{:?} is not a host name for TLS: {e}", to.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {}", oibus_plugin_api::with_causes(&e)))?;
        Ok(Box::new(stream) as Box<dyn Stream>)
    };
    match tokio::time::timeout(to.timeout, open).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no connection within {} ms",
            to.timeout.as_millis()
        )),
    }
}

/// Copies both ways until either side closes.
async fn relay(client: TcpStream, broker: Box<dyn Stream>) {
    let _ = client.set_nodelay(true);
    let (mut client_in, mut client_out) = client.into_split();
    let (mut broker_in, mut broker_out) = tokio::io::split(broker);
    let up = async {
        let _ = tokio::io::copy(&mut client_in, &mut broker_out).await;
        let _ = broker_out.shutdown().await;
    };
    let down = async {
        let _ = guard(&mut broker_in, &mut client_out).await;
        let _ = client_out.shutdown().await;
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// Copies the broker's packets to the client, rewriting the topic of each PUBLISH that has a bad
/// one. What cannot be read as MQTT is copied unchanged, for the library to refuse.
async fn guard(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
) -> std::io::Result<()> {
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut output = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match header(&input) {
                Header::Incomplete => break,
                Header::Unreadable => {
                    to.write_all(&input).await?;
                    input.clear();
                    tokio::io::copy(from, to).await?;
                    return Ok(());
                }
                Header::Packet { header, body } => {
                    if input.len() < header + body {
                        input.reserve(header + body - input.len());
                        break;
                    }
                    let packet = input.split_to(header + body);
                    match rewritten(&packet, header) {
                        Some(new) => output.extend_from_slice(&new),
                        None => output.extend_from_slice(&packet),
                    }
                }
            }
        }
        if !output.is_empty() {
            to.write_all(&output).await?;
            output.clear();
        }
        if from.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
    }
}

#[derive(Debug, PartialEq)]
enum Header {
    Incomplete,
    Unreadable,
    /// The fixed header's length, and the body's.
    Packet {
        header: usize,
        body: usize,
    },
}

/// The fixed header at the start of `bytes`: a type byte, then the remaining length in one to
/// four bytes of seven bits.
fn header(bytes: &[u8]) -> Header {
    let mut body = 0usize;
    for i in 0..4 {
        let Some(&b) = bytes.get(1 + i) else {
            return Header::Incomplete;
        };
        body |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Header::Packet {
                header: 2 + i,
                body,
            };
        }
    }
    Header::Unreadable
}

/// A PUBLISH with a bad topic, rewritten; `None` for any other packet.
fn rewritten(packet: &[u8], header: usize) -> Option<Vec<u8>> {
    if packet[0] >> 4 != 3 {
        return None;
    }
    let mut body = &packet[header..];
    if body.len() < 2 {
        return None;
    }
    let len = usize::from(body.get_u16());
    let topic = body.get(..len)?;
    if std::str::from_utf8(topic).is_ok_and(|t| !t.contains('\0')) {
        return None;
    }
    let rest = &body[len..];
    let new_topic = format!("{INVALID_TOPIC}{}", escaped(topic));
    let remaining = 2 + new_topic.len() + rest.len();
    let mut out = BytesMut::with_capacity(5 + remaining);
    out.put_u8(packet[0]);
    put_remaining_length(&mut out, remaining);
    out.put_u16(new_topic.len() as u16);
    out.put_slice(new_topic.as_bytes());
    out.put_slice(rest);
    Some(out.to_vec())
}

/// A packet's remaining length, seven bits a byte, the high bit saying that more follow.
fn put_remaining_length(out: &mut BytesMut, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.put_u8(byte);
            return;
        }
        out.put_u8(byte | 0x80);
    }
}

/// The first bytes of a topic as text: printable ASCII as it is, every other byte as `\xNN`.
pub fn escaped(topic: &[u8]) -> String {
    let mut out = String::new();
    for &b in topic.iter().take(KEPT_TOPIC_BYTES) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if topic.len() > KEPT_TOPIC_BYTES {
        out.push_str(&format!("… ({} bytes)", topic.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QoS 1 PUBLISH of `payload` on `topic`, with packet id 7.
    fn publish(topic: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = BytesMut::new();
        p.put_u8(0x32);
        put_remaining_length(&mut p, 2 + topic.len() + 2 + payload.len());
        p.put_u16(topic.len() as u16);
        p.put_slice(topic);
        p.put_u16(7);
        p.put_slice(payload);
        p.to_vec()
    }

    #[test]
    fn good_topics_and_other_packets_pass_unchanged() {
        let p = publish("plant/é".as_bytes(), b"1");
        assert_eq!(rewritten(&p, 2), None);
        assert_eq!(rewritten(&[0x40, 2, 0, 7], 2), None); // PUBACK
    }

    #[test]
    fn a_bad_topic_is_marked_and_the_rest_of_the_packet_kept() {
        for bad in [
            &b"plant/\xff\xfe"[..],
            b"plant/\x00x",
            b"plant/\xed\xa0\x80",
        ] {
            let payload = vec![b'9'; 200]; // a remaining length of two bytes
            let new = rewritten(&publish(bad, &payload), 3).expect("rewritten");
            let Header::Packet { header, body } = super::header(&new) else {
                panic!("unreadable")
            };
            assert_eq!(header + body, new.len());
            let mut b = &new[header..];
            let len = usize::from(b.get_u16());
            let topic = std::str::from_utf8(&b[..len]).unwrap();
            assert_eq!(topic, format!("{INVALID_TOPIC}{}", escaped(bad)));
            assert_eq!(&b[len..len + 2], &7u16.to_be_bytes());
            assert_eq!(&b[len + 2..], &payload[..]);
        }
        assert_eq!(escaped(b"a/\xff\\"), "a/\\xff\\x5c");
        assert!(escaped(&[0xff; 300]).ends_with("… (300 bytes)"));
    }

    #[test]
    fn headers_are_read_whole_or_waited_for() {
        assert_eq!(header(&[0x30]), Header::Incomplete);
        assert_eq!(header(&[0x30, 0x80]), Header::Incomplete);
        assert_eq!(header(&[0x30, 5]), Header::Packet { header: 2, body: 5 });
        assert_eq!(
            header(&[0x30, 0xc1, 0x02]),
            Header::Packet {
                header: 3,
                body: 321
            }
        );
        assert_eq!(header(&[0x30, 0xff, 0xff, 0xff, 0xff]), Header::Unreadable);
    }

    #[tokio::test]
    async fn a_stream_cut_anywhere_comes_out_the_same_with_bad_topics_marked() {
        let mut input = Vec::new();
        input.extend(publish(b"a", b"1"));
        input.extend(publish(b"b/\xff", b"2"));
        input.extend([0xd0, 0]); // PINGRESP
        input.extend(publish(b"c", &[b'x'; 70_000]));
        let (mut writer, mut reader) = tokio::io::duplex(1000);
        let feed = input.clone();
        tokio::spawn(async move {
            for chunk in feed.chunks(333) {
                writer.write_all(chunk).await.unwrap();
            }
        });
        let mut out = Vec::new();
        guard(&mut reader, &mut out).await.unwrap();
        let mut expected = Vec::new();
        expected.extend(publish(b"a", b"1"));
        expected.extend(rewritten(&publish(b"b/\xff", b"2"), 2).unwrap());
        expected.extend([0xd0, 0]);
        expected.extend(publish(b"c", &[b'x'; 70_000]));
        assert_eq!(out, expected);
    }
}
