//! The vendor SDK: implement ordinary async traits, describe the plugin, export it with
//! [`export_plugin!`](crate::export_plugin).
//!
//! * [`Connector`]: the lifecycle common to every connector (`start`, `connect`, `stop`,
//!   `disconnect`, `test_connection`) with the defaults of OIBus.
//! * North capabilities: [`HandlesValues`], [`HandlesFile`], [`HandlesFileBatches`] (API 1.3).
//! * South capabilities: [`QueriesLastPoint`], [`QueriesFile`], [`QueriesHistory`],
//!   [`QueriesSubscription`], [`TestsItem`] (API 1.1), all on top of [`South`] (which names the
//!   item settings type).
//! * [`Context`]: what the engine gives a connector (`add_values`, `add_file`, state folder, `spawn`).
//! * [`Plugin`] and [`ConnectorType`]: the description the engine reads.
//! * [`state`]: files in the connector's state folder, replaced whole.
//! * [`PartialRead`]: a scan that read some items and not others, handed over or tested.
//!
//! Every plugin future runs on a tokio runtime owned by the plugin library, every panic becomes an
//! error, and `tracing` events emitted by the connector reach the engine's log inside its span.

mod adapter;
mod context;
mod export;
mod logging;
mod partial;
mod plugin;
mod runtime;
pub mod state;
pub mod testing;
mod traits;

pub use context::Context;
pub use partial::PartialRead;
pub use plugin::{ConnectorType, Plugin};
pub use traits::{
    Browses, Connector, HandlesFile, HandlesFileBatches, HandlesValues, QueriesFile,
    QueriesHistory, QueriesLastPoint, QueriesSubscription, South, SouthItem, TestsItem,
};

#[doc(hidden)]
pub use export::{__create_connector, __manifest_json, __runtime_health};
