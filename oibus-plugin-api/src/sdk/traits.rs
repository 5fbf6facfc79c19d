//! The traits a vendor implements.

use super::context::Context;
use crate::{
    error::Result, model::BrowseRequest, model::BrowsedNode, model::OibusValue, model::Timestamp,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use std::{
    future::Future,
    path::{Path, PathBuf},
};

/// The lifecycle every connector has. Only `new` is required; the other methods have the defaults
/// of OIBus: `start` calls `connect`, `stop` calls `disconnect`, `connect` and `disconnect` do
/// nothing, `test_connection` connects then disconnects.
///
/// The engine calls the methods of one connector one at a time, so `&mut self` is all you need.
pub trait Connector: Send + Sized + 'static {
    /// The connector's settings. Its JSON Schema (from `schemars`) is published in the manifest and
    /// the engine validates user settings against it before calling [`Connector::new`].
    type Settings: DeserializeOwned + JsonSchema;

    /// Creates the connector. Do not connect here; keep the settings and the context.
    fn new(settings: Self::Settings, ctx: Context) -> Result<Self>;

    /// Called once when the connector starts. Default: `self.connect()`.
    fn start(&mut self) -> impl Future<Output = Result<()>> + Send {
        self.connect()
    }

    /// Opens the connection to the target. Default: nothing to do.
    fn connect(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Called when the connector stops (configuration change, shutdown, upgrade).
    /// Default: `self.disconnect()`.
    fn stop(&mut self) -> impl Future<Output = Result<()>> + Send {
        self.disconnect()
    }

    /// Closes every connection. Default: nothing to do.
    fn disconnect(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Checks that the settings work: open a connection and close it again, and return an error
    /// that names what failed. Default: `connect` then `disconnect`.
    fn test_connection(&mut self) -> impl Future<Output = Result<()>> + Send {
        async {
            self.connect().await?;
            self.disconnect().await
        }
    }
}

/// North capability: receives batches of values from the engine's cache, in order.
/// Return a `transient` error to have the batch retried, `permanent` to send it to the error store.
pub trait HandlesValues: Connector {
    /// Sends one batch.
    fn handle_values(&mut self, values: Vec<OibusValue>)
    -> impl Future<Output = Result<()>> + Send;
}

/// North capability: receives files from the engine's cache, in order. The file belongs to the
/// engine: read or copy it, never move or delete it, and only during the call: once the call has
/// returned, the engine may delete the file or write another file's content into it (keep no
/// handle open to read it later).
pub trait HandlesFile: Connector {
    /// Sends one file.
    fn handle_file(&mut self, path: &Path) -> impl Future<Output = Result<()>> + Send;
}

/// North capability (API 1.3): receives the files waiting in the engine's cache several at a
/// time, so that they can be made durable together (one round of fsyncs for the batch rather
/// than one per file), declared with
/// [`ConnectorType::handles_file_batches`](super::plugin::ConnectorType::handles_file_batches).
///
/// Return `Ok` only once every file of the batch is delivered. On an error, whatever its kind,
/// the engine sends the batch's files again one at a time with [`HandlesFile::handle_file`], so
/// that a refused file is retried or set aside alone: files the failed batch had already
/// delivered are then delivered again (at least once). The files belong to the engine, and the
/// whole batch must be handled within the engine's data time-out.
///
/// ```
/// use oibus_plugin_api::prelude::*;
/// use std::path::{Path, PathBuf};
///
/// struct Counter(usize);
/// impl Connector for Counter {
///     type Settings = ();
///     fn new(_: (), _: Context) -> Result<Self> { Ok(Self(0)) }
/// }
/// impl HandlesFile for Counter {
///     async fn handle_file(&mut self, _path: &Path) -> Result<()> {
///         self.0 += 1;
///         Ok(())
///     }
/// }
/// impl HandlesFileBatches for Counter {
///     async fn handle_files(&mut self, paths: &[PathBuf]) -> Result<()> {
///         self.0 += paths.len();
///         Ok(())
///     }
/// }
/// let _ = ConnectorType::<Counter>::north("counter", "Counter")
///     .handles_file()
///     .handles_file_batches();
/// ```
pub trait HandlesFileBatches: HandlesFile {
    /// Sends these files, in order.
    fn handle_files(&mut self, paths: &[PathBuf]) -> impl Future<Output = Result<()>> + Send;
}

/// A South item with its settings deserialized.
#[derive(Debug, Clone, PartialEq)]
pub struct SouthItem<S> {
    /// Unique name inside the connector (the default point id).
    pub name: String,
    /// Always true for items handed to a query: disabled items are filtered by the engine.
    pub enabled: bool,
    /// The scan mode the item is read on.
    pub scan_mode: String,
    /// The item's settings.
    pub settings: S,
}

/// Every South connector names the settings type of its items.
pub trait South: Connector {
    /// Settings of one item. Its JSON Schema is published in the manifest.
    type ItemSettings: DeserializeOwned + JsonSchema + Send + Sync + 'static;
}

/// South capability: reads the current value of items on each scan and pushes them with
/// [`Context::add_values`].
pub trait QueriesLastPoint: South {
    /// Reads these items once.
    fn last_point_query(
        &mut self,
        items: &[SouthItem<Self::ItemSettings>],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// South capability: collects files on each scan and hands them over with [`Context::add_file`].
pub trait QueriesFile: South {
    /// Collects files for these items once.
    fn file_query(
        &mut self,
        items: &[SouthItem<Self::ItemSettings>],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// South capability: reads the history of items over `[start, end)` and pushes it with
/// [`Context::add_values`].
pub trait QueriesHistory: South {
    /// Reads one window; returns the newest timestamp actually read (`None` if nothing was read).
    /// The engine advances its tracked instant only after the data is durably cached.
    fn history_query(
        &mut self,
        items: &[SouthItem<Self::ItemSettings>],
        start: Timestamp,
        end: Timestamp,
    ) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
}

/// South capability: pushes values as they arrive. Spawn your listeners with [`Context::spawn`].
pub trait QueriesSubscription: South {
    /// Starts pushing values for these items (called after every (re)connect).
    fn subscribe(
        &mut self,
        items: &[SouthItem<Self::ItemSettings>],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Stops pushing values for these items.
    fn unsubscribe(
        &mut self,
        items: &[SouthItem<Self::ItemSettings>],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// South capability (API 1.1): reads one item once, on demand, and returns what it read instead
/// of handing it to the engine. This is OIBus's "test an item before saving it", offered by
/// `oibus test-item` and `POST /api/south/test-item`. Declare it with
/// [`ConnectorType::tests_item`](super::plugin::ConnectorType::tests_item).
///
/// The engine calls it on a connector created for the test alone, between `connect` and
/// `disconnect`: read the item the way the connector's queries do (one register read, the query
/// run once, the first message of a subscription within a bounded wait) and return the values,
/// or an error that names what failed. Do not call [`Context::add_values`]: nothing of a test is
/// sent to the Norths.
pub trait TestsItem: South {
    /// Reads `item` once.
    fn test_item(
        &mut self,
        item: &SouthItem<Self::ItemSettings>,
    ) -> impl Future<Output = Result<Vec<OibusValue>>> + Send;
}

/// South capability (API 1.2): lists what the source offers, as nodes that can become items, so
/// that nobody types ten thousand node ids. Offered by `oibus browse` and `POST /api/south/browse`.
/// Declare it with [`ConnectorType::browses`](super::plugin::ConnectorType::browses).
///
/// The engine calls it on a connector created for the purpose, between `connect` and
/// `disconnect`. Return the children of `request.from` (the source's root when `None`) down to
/// `request.depth` levels, each readable node with the settings of an item that reads it.
pub trait Browses: South {
    /// Lists the nodes under `request.from`.
    fn browse(
        &mut self,
        request: &BrowseRequest,
    ) -> impl Future<Output = Result<Vec<BrowsedNode>>> + Send;
}
