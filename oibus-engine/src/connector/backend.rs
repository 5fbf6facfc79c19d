//! Where a connector's calls run, as one small trait with its two implementations side by side:
//! [`InProcess`](super::in_process::InProcess) calls the plugin's vtable in the engine's process,
//! [`IsolatedConnector`](super::isolated::IsolatedConnector) carries each call to a child process
//! of its own. The handle ([`ConnectorHandle`](super::handle::ConnectorHandle)) knows only this trait: time-outs,
//! spans and the contract's checks are the same whichever runs it.

use super::error::ConnectorError;
use futures_util::future::BoxFuture;
use oibus_plugin_api::{Item, OibusValue, Timestamp};
use std::time::Duration;

/// One call of the connector contract, with its arguments.
#[derive(Debug)]
pub enum Call {
    /// `start` (the SDK default calls `connect`).
    Start,
    /// `connect`.
    Connect,
    /// `stop` (the SDK default calls `disconnect`).
    Stop,
    /// `disconnect`.
    Disconnect,
    /// `test_connection`.
    TestConnection,
    /// North `handle_values`.
    HandleValues(Vec<OibusValue>),
    /// North `handle_file`: the file's path.
    HandleFile(String),
    /// North `handle_files` (API 1.3): the files' paths.
    HandleFiles(Vec<String>),
    /// South `last_point_query`.
    LastPoint(Vec<Item>),
    /// South `file_query`.
    FileQuery(Vec<Item>),
    /// South `subscribe`.
    Subscribe(Vec<Item>),
    /// South `unsubscribe`.
    Unsubscribe(Vec<Item>),
    /// South `history_query` over `[start, end)`.
    History {
        /// The items read.
        items: Vec<Item>,
        /// Range start.
        start: Timestamp,
        /// Range end.
        end: Timestamp,
    },
    /// South `test_item` (API 1.1).
    TestItem(Item),
    /// South `browse` (API 1.2): the request as JSON.
    Browse(String),
}

/// What a call gave back.
#[derive(Debug)]
pub enum Answer {
    /// Nothing but success.
    Done,
    /// A history query's newest timestamp read.
    Newest(Option<Timestamp>),
    /// An item test's values.
    Values(Vec<OibusValue>),
    /// A browse's answer, as the plugin wrote it (JSON).
    Json(String),
}

/// Where a connector's calls run.
pub trait Backend: Send + Sync {
    /// Runs `call` (named `op` in errors and logs) within `limit`.
    fn call(
        &self,
        op: &'static str,
        limit: Duration,
        call: Call,
    ) -> BoxFuture<'_, Result<Answer, ConnectorError>>;

    /// Whether the calls run in a child process.
    fn is_isolated(&self) -> bool;
}
