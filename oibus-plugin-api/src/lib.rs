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

pub use error::{ErrorKind, PluginError};
pub use manifest::{Capability, ConnectorKind, ConnectorTypeManifest, Manifest};
pub use model::{DataValue, Item, OibusValue, Quality, Timestamp};
pub use version::{API_VERSION, check_compatibility};

/// Re-exports used by [`export_plugin!`] so that a plugin crate needs no dependency but this one.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use async_ffi;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use tokio;
    pub use tracing;
}

/// Result alias used throughout the SDK.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;
