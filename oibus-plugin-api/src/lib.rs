//! # oibus-plugin-api
//!
//! The only crate an oibus-rs connector vendor depends on.
//!
//! * [`model`]: the data that flows through the gateway ([`OibusValue`], [`Item`], [`Timestamp`]).
//! * [`manifest`]: what a plugin declares about itself (id, versions, connector types, JSON Schemas).
//! * [`ffi`]: the FFI-safe contract between the engine and a plugin library (abi_stable + async-ffi).
//!   Vendors never touch it directly.
//! * [`sdk`]: ordinary async Rust traits ([`sdk::Connector`], [`sdk::HandlesValues`], …) and the
//!   [`export_plugin!`] macro that turns an implementation into a loadable `.so`/`.dll`/`.dylib`.
//! * [`version`]: [`API_VERSION`] and the compatibility rule the engine applies when loading.
//!
//! See `docs/writing-a-connector.md` in the repository for a guided tour.

pub mod error;
pub mod ffi;
pub mod manifest;
pub mod model;
pub mod sdk;
pub mod version;

pub use error::{ErrorKind, PluginError, Result, with_causes};
pub use manifest::{Capability, ConnectorKind, ConnectorTypeManifest, Manifest};
pub use model::{
    BrowseRequest, BrowsedNode, DataValue, Item, OibusValue, Quality, Timestamp, f32_as_decimal,
};
pub use version::{API_VERSION, check_compatibility};

/// Re-exported so that a plugin needs no dependency but this crate, and uses the very copies the
/// SDK uses (in particular the `tokio` whose runtime runs the plugin's futures).
pub use {schemars, serde, serde_json, tokio, tracing};

pub mod prelude;

/// Re-exports used by [`export_plugin!`].
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use async_ffi;
}
