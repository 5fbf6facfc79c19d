//! The abi_stable root module of a plugin library.

use super::{connector::ConnectorBox, host::HostBox};
use crate::error::PluginError;
use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr, RString},
};

/// Symbol under which abi_stable 0.11 exports a root module (checked by a unit test).
pub const ABI_STABLE_ROOT_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// The functions a plugin library exports. New functions are only ever appended (prefix type),
/// so an older plugin keeps loading in a newer host.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// The plugin manifest as JSON ([`crate::manifest::Manifest`]).
    pub manifest_json: extern "C" fn() -> RResult<RString, PluginError>,
    /// Creates a connector of `type_id` with the settings (JSON text, already schema-validated by
    /// the host) and the host context it will use.
    pub create_connector: extern "C" fn(
        type_id: RStr<'_>,
        settings_json: RStr<'_>,
        host: HostBox,
    ) -> RResult<ConnectorBox, PluginError>,
    /// The state of the plugin's runtime (last field of API 1.0: fields added later come after
    /// it, each marked `#[sabi(missing_field(option))]`, and the host reads `None` from a plugin
    /// built before them).
    #[sabi(last_prefix_field)]
    pub runtime_health: extern "C" fn() -> RuntimeHealth,
}

/// The state of a plugin's runtime, read by the host for its status.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeHealth {
    /// Calls the host gave up on (their time-out) whose threads are still blocked in plugin code.
    pub stuck_calls: u32,
    /// How many times the SDK replaced the runtime because its threads were stuck.
    pub replacements: u32,
    /// Worker threads of each runtime.
    pub threads: u32,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "oibus_plugin";
    const NAME: &'static str = "oibus plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_symbol_matches_abi_stable() {
        assert_eq!(
            super::ABI_STABLE_ROOT_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
