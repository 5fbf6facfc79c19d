//! Plugin discovery and loading.
//!
//! A plugin file goes through: [`inspect`] (is it a complete library for this machine?),
//! [`shadow`] (content-addressed copy, so the user may overwrite the original and two versions can
//! coexist), [`trust`] (the signature, checked on the copy), [`library`] (declaration and
//! API-version rule, then dlopen here or first in a throwaway process, abi_stable layout check,
//! manifest), then the [`registry`] (duplicate ids, connector types).

mod error;
pub mod inspect;
mod layout;
pub mod library;
mod options;
pub mod registry;
pub mod shadow;
pub mod trust;

pub use error::LoadError;
pub use inspect::LIBRARY_EXTENSIONS;
pub use library::LoadedPlugin;
pub use options::{LoadOptions, Probe, Prober};
pub use registry::{Choices, PluginRegistry, PluginReport, PluginStatus, Refused};
pub use trust::{SignaturePolicy, Signer, Trust};
