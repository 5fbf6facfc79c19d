//! What the South needs from a database driver.

use crate::{
    cell::Record,
    placeholders::{Param, Query, Style},
    settings::{Columns, TimeFormat},
};
use oibus_plugin_api::serde::de::DeserializeOwned;
use oibus_plugin_api::{Timestamp, prelude::*};
use std::future::Future;
use tokio::sync::mpsc;

/// Rows per batch handed from a driver to the South (and to the engine).
pub const BATCH: usize = 10_000;

/// The values of `@StartTime` and `@EndTime`, and how to write them for non-timestamp columns.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// `@StartTime`.
    pub start: Timestamp,
    /// `@EndTime`.
    pub end: Timestamp,
    /// The item's storage form of instants.
    pub format: TimeFormat,
    /// The zone of zone-less times.
    pub zone: crate::zone::Zone,
}

impl Bounds {
    /// The instant a placeholder stands for.
    pub fn at(&self, p: Param) -> Timestamp {
        match p {
            Param::Start => self.start,
            Param::End => self.end,
        }
    }

    /// The instant a placeholder stands for, as the item stores instants: a number (`unix-s`,
    /// `unix-ms`), or text the database converts.
    pub fn stored(&self, p: Param) -> Stored {
        let at = self.at(p);
        match crate::cell::number_of(at, self.format) {
            Some(n) => Stored::Number(n),
            None => Stored::Text(crate::cell::text_of(at, self.format, self.zone)),
        }
    }
}

/// A bound as the item stores instants (see [`Bounds::stored`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Seconds or milliseconds since 1970.
    Number(i64),
    /// Text.
    Text(String),
}

/// Why a query failed: the South turns it into the error kind the engine acts on.
#[derive(Debug)]
pub enum QueryError {
    /// The item's query or columns are wrong (syntax, unknown table or column, types).
    Settings(String),
    /// The connection is gone: the engine should reconnect.
    Lost(String),
    /// Anything else (a lock held too long, a time-out): retried on the next run.
    Other(String),
}

/// A database the South reads from.
pub trait Driver: Send + 'static {
    /// The connector settings.
    type Settings: DeserializeOwned + JsonSchema + Send + 'static;
    /// How this driver numbers parameters.
    const STYLE: Style;

    /// Keeps the settings; does not connect.
    fn new(settings: Self::Settings, ctx: Context) -> Self;

    /// Opens the connection; the error names the server or file and what failed.
    fn connect(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Closes the connection.
    fn disconnect(&mut self) -> impl Future<Output = ()> + Send;

    /// Runs `query` with its bounds bound, and sends the mapped fields of its rows to `out` in
    /// batches of at most [`BATCH`], as they come. Stops (`Ok`) when `out` is closed. Waits at
    /// most the connector's `query_timeout_ms` for the first row, and as long between rows.
    fn query(
        &mut self,
        query: &Query,
        bounds: Bounds,
        columns: Columns<'_>,
        out: mpsc::Sender<Vec<Record>>,
    ) -> impl Future<Output = Result<(), QueryError>> + Send;
}

/// Runs a driver call within `limit`; its error becomes a [`QueryError`] by the driver's
/// `classify`, and a call past the limit an `Other` naming `query_timeout_ms`.
pub async fn timed<T, E>(
    limit: std::time::Duration,
    call: impl Future<Output = Result<T, E>>,
    classify: impl FnOnce(&E) -> QueryError,
) -> Result<T, QueryError> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(&e)),
        Err(_) => Err(QueryError::Other(format!(
            "no answer within {} ms (query_timeout_ms)",
            limit.as_millis()
        ))),
    }
}
