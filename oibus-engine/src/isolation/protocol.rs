//! The messages between the engine and a plugin-host child process, and their framing: postcard
//! messages in length-delimited frames over the child's standard input (engine → child) and the
//! child's original standard output (child → engine). Values travel in the cache's binary batch
//! form, which is made for that speed.

use crate::cache::codec;
use bytes::Bytes;
use oibus_plugin_api::{ErrorKind, Item, OibusValue, PluginError};
use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

/// Largest frame either side accepts (a batch of values, a manifest).
pub const MAX_FRAME: usize = 256 << 20;

/// The framing of both directions.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// Serializes a message into one frame's payload.
pub fn encode<T: Serialize>(message: &T) -> Bytes {
    // Serializing these plain types into a vector cannot fail.
    Bytes::from(postcard::to_stdvec(message).unwrap_or_default())
}

/// Writes every message of `messages` to `writer`, as frames, those already waiting in the same
/// write; ends when the channel closes or the writer fails (the other side is gone).
pub async fn send_all<W, T>(writer: W, mut messages: tokio::sync::mpsc::UnboundedReceiver<T>)
where
    W: tokio::io::AsyncWrite + Unpin,
    T: Serialize,
{
    use futures_util::SinkExt;
    let mut sink = tokio_util::codec::FramedWrite::new(writer, codec());
    while let Some(first) = messages.recv().await {
        if sink.feed(encode(&first)).await.is_err() {
            return;
        }
        while let Ok(next) = messages.try_recv() {
            if sink.feed(encode(&next)).await.is_err() {
                return;
            }
        }
        if SinkExt::<Bytes>::flush(&mut sink).await.is_err() {
            return;
        }
    }
}

/// Deserializes one frame's payload.
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(frame).map_err(|e| format!("malformed message from the other side: {e}"))
}

/// A plugin error on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// [`ErrorKind::code`].
    pub kind: u8,
    /// The message.
    pub message: String,
}

impl From<PluginError> for WireError {
    fn from(e: PluginError) -> Self {
        Self {
            kind: e.kind.code(),
            message: e.message.into_string(),
        }
    }
}

impl From<WireError> for PluginError {
    fn from(e: WireError) -> Self {
        PluginError::new(ErrorKind::from_code(e.kind), e.message)
    }
}

/// An item on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireItem {
    name: String,
    enabled: bool,
    scan_mode: String,
    settings: String,
}

impl From<&Item> for WireItem {
    fn from(i: &Item) -> Self {
        Self {
            name: i.name.to_string(),
            enabled: i.enabled,
            scan_mode: i.scan_mode.to_string(),
            settings: i.settings.to_string(),
        }
    }
}

impl From<WireItem> for Item {
    fn from(i: WireItem) -> Self {
        Item {
            name: i.name.into(),
            enabled: i.enabled,
            scan_mode: i.scan_mode.into(),
            settings: i.settings.into(),
        }
    }
}

/// Items on the wire.
pub fn items(items: &[Item]) -> Vec<WireItem> {
    items.iter().map(WireItem::from).collect()
}

/// Values on the wire.
pub fn values(values: &[OibusValue]) -> Vec<u8> {
    codec::encode(values)
}

/// Values from the wire.
pub fn values_from(bytes: &[u8]) -> Result<Vec<OibusValue>, String> {
    codec::decode(bytes)
}

/// One call of the connector contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Call {
    /// `start`.
    Start,
    /// `connect`.
    Connect,
    /// `stop`.
    Stop,
    /// `disconnect`.
    Disconnect,
    /// `test_connection`.
    TestConnection,
    /// `handle_values`, values in the cache's binary form.
    HandleValues(#[serde(with = "serde_bytes")] Vec<u8>),
    /// `handle_file`.
    HandleFile(String),
    /// `last_point_query`.
    LastPoint(Vec<WireItem>),
    /// `file_query`.
    FileQuery(Vec<WireItem>),
    /// `history_query` over `[start, end)` (nanoseconds since the epoch).
    History {
        /// Items.
        items: Vec<WireItem>,
        /// Start.
        start: i64,
        /// End.
        end: i64,
    },
    /// `subscribe`.
    Subscribe(Vec<WireItem>),
    /// `unsubscribe`.
    Unsubscribe(Vec<WireItem>),
    /// `test_item`.
    TestItem(WireItem),
    /// `browse`, with its JSON request.
    Browse(String),
    /// `handle_files`.
    HandleFiles(Vec<String>),
}

/// What a successful call returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Returned {
    /// Nothing (every call but the two below).
    Nothing,
    /// A history query's newest timestamp, in nanoseconds since the epoch.
    Newest(Option<i64>),
    /// The values an item test read, in the cache's binary form.
    Values(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A JSON answer (browsing).
    Json(String),
}

/// Engine → child.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToChild {
    /// The first message: create the connector.
    Create {
        /// Connector id.
        connector_id: String,
        /// Connector type.
        type_id: String,
        /// Settings JSON, validated.
        settings: String,
        /// The connector's state folder.
        state_dir: String,
        /// The folder shared by the plugin's connectors.
        plugin_dir: String,
        /// The most verbose log level the engine wants.
        max_level: u8,
    },
    /// A call; answered by [`FromChild::Done`] with the same id.
    Call {
        /// Call id.
        id: u64,
        /// What.
        call: Call,
    },
    /// The answer to [`FromChild::AddValues`] or [`FromChild::AddFile`].
    HostDone {
        /// The request's id.
        id: u64,
        /// Stored durably, or why not.
        result: Result<(), WireError>,
    },
}

/// Child → engine.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromChild {
    /// The answer to [`ToChild::Create`].
    Created(Result<(), WireError>),
    /// The answer to a call.
    Done {
        /// Call id.
        id: u64,
        /// Result.
        result: Result<Returned, WireError>,
    },
    /// `add_values`, answered by [`ToChild::HostDone`] once durable.
    AddValues {
        /// Request id.
        id: u64,
        /// Values in the cache's binary form (one block, not a sequence of bytes).
        #[serde(with = "serde_bytes")]
        values: Vec<u8>,
    },
    /// `add_file`, answered by [`ToChild::HostDone`] once durable.
    AddFile {
        /// Request id.
        id: u64,
        /// The file.
        path: String,
    },
    /// A log record.
    Log {
        /// Level (`LogLevel`).
        level: u8,
        /// The plugin's target.
        target: String,
        /// The message.
        message: String,
    },
    /// `connection_lost`.
    ConnectionLost(String),
    /// `dropped`.
    Dropped {
        /// How many.
        count: u64,
        /// Why.
        reason: String,
    },
    /// `item_status`.
    ItemStatus {
        /// The item.
        item: String,
        /// Why it fails; `None` when it works.
        error: Option<String>,
    },
}

/// What a probe prints on its protocol output: the manifest, or why the library was refused.
#[derive(Debug, Serialize, Deserialize)]
pub enum ProbeAnswer {
    /// The manifest's JSON.
    Manifest(String),
    /// The refusal line of the loader.
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::Timestamp;

    #[test]
    fn messages_and_values_round_trip() {
        let v = vec![OibusValue::new("a", Timestamp::from_millis(5), 1.5)];
        let m = FromChild::AddValues {
            id: 7,
            values: values(&v),
        };
        let back: FromChild = decode(&encode(&m)).unwrap();
        let FromChild::AddValues { id, values: bytes } = back else {
            panic!("{back:?}")
        };
        assert_eq!((id, values_from(&bytes).unwrap()), (7, v));
        let e: PluginError = WireError::from(PluginError::permanent("no")).into();
        assert_eq!(e.kind, ErrorKind::PERMANENT);
        assert!(decode::<ToChild>(&[0xff, 0xff, 0xff]).is_err());
    }
}
