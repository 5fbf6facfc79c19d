//! The FFI-safe contract between the engine and a plugin library.
//!
//! Vendors use [`crate::sdk`] and [`crate::export_plugin!`], which build all of this for them.
//! A plugin library exports two symbols:
//! * [`DECLARATION_SYMBOL`], a [`PluginDeclaration`] the engine reads first (magic + API version),
//!   so an incompatible plugin is refused with a clear message before anything else runs;
//! * abi_stable's root module ([`PluginModuleRef`]), whose type layout abi_stable checks.

mod connector;
mod declaration;
mod future;
mod host;
mod module;

pub use connector::{ConnectorBox, FfiConnector, FfiConnector_TO};
pub use declaration::{DECLARATION_SYMBOL, DECLARATION_TEXT_LEN, PLUGIN_MAGIC, PluginDeclaration};
pub use future::FfiResultFuture;
pub use host::{FfiHost, FfiHost_TO, HostBox, LogLevel};
pub use module::{ABI_STABLE_ROOT_SYMBOL, PluginModule, PluginModuleRef, RuntimeHealth};
