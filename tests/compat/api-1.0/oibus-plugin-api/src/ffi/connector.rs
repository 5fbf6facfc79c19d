//! The connector vtable: the OIBus connector contract, FFI-safe.
// The sabi_trait macro generates impls inside a const block.
#![allow(non_local_definitions)]

use super::FfiResultFuture;
use crate::{Item, OibusValue, Timestamp};
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RString, RVec},
};

/// One connector instance living in a plugin. Every method returns at once with a future that the
/// engine awaits (with a time-out). Methods of capabilities the type does not declare return a
/// `not-supported` error. Calls to one connector never overlap: the SDK runs them one at a time.
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
}

/// An owned connector instance.
pub type ConnectorBox = FfiConnector_TO<RBox<()>>;
