//! The connector vtable: the OIBus connector contract, FFI-safe.
// The sabi_trait macro generates impls inside a const block.
#![allow(non_local_definitions)]

use super::future::FfiResultFuture;
use crate::{error::PluginError, model::Item, model::OibusValue, model::Timestamp};
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RString, RVec},
};

/// One connector instance living in a plugin. Every method returns at once with a future that the
/// engine awaits (with a time-out). Methods of capabilities the type does not declare return a
/// `not-supported` error. Calls to one connector never overlap: the SDK runs them one at a time.
///
/// Evolution: methods are only ever appended, after the last one of API 1.0 (`unsubscribe`),
/// each with a default body answering `not-supported`. A connector of a plugin built for an older
/// minor has no entry for them, and the host runs the default body instead; the host also calls
/// them only on connector types whose manifest lists the matching [`crate::manifest::Capability`].
#[sabi_trait]
pub trait FfiConnector: Send + Sync + 'static {
    /// Called once when the connector starts (default: calls `connect`).
    fn start(&self) -> FfiResultFuture<()>;
    /// Opens the connection to the target.
    fn connect(&self) -> FfiResultFuture<()>;
    /// Called when the connector stops (default: calls `disconnect`).
    fn stop(&self) -> FfiResultFuture<()>;
    /// Closes every connection.
    fn disconnect(&self) -> FfiResultFuture<()>;
    /// Opens and closes a connection with the current settings, reporting what failed.
    fn test_connection(&self) -> FfiResultFuture<()>;
    /// North `HandlesValues`.
    fn handle_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()>;
    /// North `HandlesFile`.
    fn handle_file(&self, path: RString) -> FfiResultFuture<()>;
    /// South `QueriesLastPoint`.
    fn last_point_query(&self, items: RVec<Item>) -> FfiResultFuture<()>;
    /// South `QueriesFile`.
    fn file_query(&self, items: RVec<Item>) -> FfiResultFuture<()>;
    /// South `QueriesHistory`: reads `[start, end)` and returns the newest timestamp actually read.
    fn history_query(
        &self,
        items: RVec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> FfiResultFuture<ROption<Timestamp>>;
    /// South `QueriesSubscription`: start pushing values for these items.
    fn subscribe(&self, items: RVec<Item>) -> FfiResultFuture<()>;
    /// South `QueriesSubscription`: stop pushing values for these items.
    #[sabi(last_prefix_field)]
    fn unsubscribe(&self, items: RVec<Item>) -> FfiResultFuture<()>;

    /// South `TestsItem` (API 1.1): reads one item once and returns what it read, without handing
    /// anything to the engine.
    fn test_item(&self, item: Item) -> FfiResultFuture<RVec<OibusValue>> {
        let _ = item;
        not_supported("test_item (item testing, API 1.1)")
    }

    /// South `Browses` (API 1.2): lists the source's address space. `request` and the answer are
    /// JSON: a [`crate::model::BrowseRequest`] and a list of [`crate::model::BrowsedNode`].
    fn browse(&self, request: RString) -> FfiResultFuture<RString> {
        let _ = request;
        not_supported("browse (browsing, API 1.2)")
    }

    /// North `HandlesFileBatches` (API 1.3): delivers several files, in order, in one call.
    fn handle_files(&self, paths: RVec<RString>) -> FfiResultFuture<()> {
        let _ = paths;
        not_supported("handle_files (batches of files, API 1.3)")
    }
}

/// The answer of a method the connector's plugin was built without.
fn not_supported<T: Send + 'static>(what: &str) -> FfiResultFuture<T> {
    let error = PluginError::not_supported(format!(
        "the plugin was built against an API without {what}: rebuild it against a newer oibus-plugin-api"
    ));
    async_ffi::FutureExt::into_ffi(async move { abi_stable::std_types::RResult::RErr(error) })
}

/// An owned connector instance.
pub type ConnectorBox = FfiConnector_TO<RBox<()>>;
