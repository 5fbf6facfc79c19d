//! One ISO-on-TCP connection to a PLC: the connection request, the PDU size negotiation, then one
//! read job at a time, each bounded by the time-out and by the negotiated PDU size.

use crate::protocol::{self, ItemAnswer, ProtocolError, ReadItem, TPKT_LEN};
use std::time::Duration;
use thiserror::Error;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Why an exchange failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The connection cannot be used any more (closed, reset, silent, or the PLC broke the
    /// protocol): connect again.
    #[error("{0}")]
    Lost(String),
    /// The PLC refused the whole job (error class and code in the header); the connection is
    /// fine.
    #[error("{0}")]
    Refused(String),
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port`, as the user wrote it (for messages too).
    pub target: String,
    /// This side's TSAP.
    pub local_tsap: u16,
    /// The PLC's TSAP.
    pub remote_tsap: u16,
    /// The PDU size asked for.
    pub pdu_size: u16,
    /// The time-out of the connection and of each exchange.
    pub timeout: Duration,
}

/// A connected PLC.
pub struct Client {
    stream: TcpStream,
    /// The PDU size the PLC granted.
    pdu_size: u16,
    next_ref: u16,
    timeout: Duration,
}

/// Frames longer than this are refused before their bytes are read: the PLC must keep within
/// the negotiated PDU (plus TPKT and COTP headers).
fn max_frame(pdu_size: u16) -> usize {
    usize::from(pdu_size) + TPKT_LEN + 32
}

impl Client {
    /// Connects, asks for the PLC's TSAP and negotiates the PDU size.
    pub async fn connect(endpoint: &Endpoint) -> Result<Self, ClientError> {
        let target = &endpoint.target;
        let timeout = endpoint.timeout;
        let lost = |why: String| ClientError::Lost(format!("PLC {target}: {why}"));
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(target.as_str())).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(lost(format!("cannot connect: {e}"))),
            Err(_) => {
                return Err(lost(format!(
                    "no connection within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        let mut client = Self {
            stream,
            pdu_size: endpoint.pdu_size,
            next_ref: 0,
            timeout,
        };
        let connect = async {
            client
                .send(&protocol::connection_request(
                    endpoint.local_tsap,
                    endpoint.remote_tsap,
                ))
                .await?;
            // Before the negotiation, frames are bounded by the 1024-byte TPDU asked for.
            let cotp = client.frame(1024 + TPKT_LEN).await?;
            protocol::connection_confirm(&cotp).map_err(|e| e.to_string())?;
            let pdu_ref = client.pdu_ref();
            client
                .send(&protocol::setup_communication(pdu_ref, endpoint.pdu_size))
                .await?;
            let pdu = client.pdu().await?;
            let answer = protocol::answer(&pdu).map_err(|e| e.to_string())?;
            if let Some((class, code)) = answer.error {
                return Err(format!(
                    "the PLC refused the PDU size negotiation: {}",
                    protocol::job_error_meaning(class, code)
                ));
            }
            let granted = protocol::granted_pdu_size(&answer).map_err(|e| e.to_string())?;
            // Fewer than this leaves no room for one item; more than asked is not allowed.
            if granted < 64 {
                return Err(format!("the PLC granted a PDU of {granted} bytes"));
            }
            Ok(granted.min(endpoint.pdu_size))
        };
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(granted)) => {
                client.pdu_size = granted;
                Ok(client)
            }
            Ok(Err(why)) => Err(lost(why)),
            Err(_) => Err(lost(format!(
                "no answer to the connection request within {} ms (rack and slot, or the \
                 TSAPs, may name no CPU)",
                timeout.as_millis()
            ))),
        }
    }

    /// The PDU size the PLC granted.
    pub fn pdu_size(&self) -> u16 {
        self.pdu_size
    }

    fn pdu_ref(&mut self) -> u16 {
        self.next_ref = self.next_ref.wrapping_add(1);
        self.next_ref
    }

    async fn send(&mut self, frame: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(frame)
            .await
            .map_err(|e| format!("sending failed: {e}"))
    }

    /// Reads one TPKT frame of at most `max` bytes; its COTP part.
    async fn frame(&mut self, max: usize) -> Result<Vec<u8>, String> {
        let mut header = [0u8; TPKT_LEN];
        self.stream.read_exact(&mut header).await.map_err(closed)?;
        let len = protocol::tpkt_length(header).map_err(|e| e.to_string())?;
        if len > max {
            return Err(format!(
                "the PLC sent a frame of {len} bytes, over the {max} its PDU size allows"
            ));
        }
        let mut cotp = vec![0u8; len - TPKT_LEN];
        self.stream.read_exact(&mut cotp).await.map_err(closed)?;
        Ok(cotp)
    }

    /// Reads one S7 PDU, joining its COTP fragments.
    async fn pdu(&mut self) -> Result<Vec<u8>, String> {
        let max = max_frame(self.pdu_size);
        let mut pdu = Vec::new();
        loop {
            let cotp = self.frame(max).await?;
            let data = protocol::data_frame(&cotp).map_err(|e| e.to_string())?;
            pdu.extend_from_slice(data.payload);
            if pdu.len() > max {
                return Err(format!(
                    "the PLC sent a PDU of more than {max} bytes, over its PDU size"
                ));
            }
            if data.last {
                return Ok(pdu);
            }
        }
    }

    /// Reads `items` in one job; each item's bytes or return code.
    pub async fn read(&mut self, items: &[ReadItem]) -> Result<Vec<Answered>, ClientError> {
        let pdu_ref = self.pdu_ref();
        let frame = protocol::read_request(pdu_ref, items);
        let timeout = self.timeout;
        let exchange = async {
            self.send(&frame).await?;
            self.pdu().await
        };
        let pdu = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(pdu)) => pdu,
            Ok(Err(why)) => return Err(ClientError::Lost(why)),
            Err(_) => {
                return Err(ClientError::Lost(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let broken = |e: ProtocolError| ClientError::Lost(e.to_string());
        let answer = protocol::answer(&pdu).map_err(broken)?;
        if answer.pdu_ref != pdu_ref {
            return Err(ClientError::Lost(format!(
                "an answer to job {} where job {pdu_ref} was expected",
                answer.pdu_ref
            )));
        }
        if let Some((class, code)) = answer.error {
            return Err(ClientError::Refused(protocol::job_error_meaning(
                class, code,
            )));
        }
        let answers = protocol::read_answer(&answer, items).map_err(broken)?;
        Ok(answers.into_iter().map(Answered::from).collect())
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// The answer for one item, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Its bytes.
    Bytes(Vec<u8>),
    /// The PLC's return code.
    Refused(u8),
}

impl From<ItemAnswer<'_>> for Answered {
    fn from(a: ItemAnswer<'_>) -> Self {
        match a {
            Ok(bytes) => Self::Bytes(bytes.to_vec()),
            Err(code) => Self::Refused(code),
        }
    }
}

fn closed(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the PLC closed the connection".into()
    } else {
        format!("receiving failed: {e}")
    }
}
