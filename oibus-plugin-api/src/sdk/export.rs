//! The entry points of a plugin library and the [`export_plugin!`](crate::export_plugin) macro.

use super::{adapter::FfiAdapter, context::Context, plugin::Plugin, runtime::panic_message};
use crate::{
    error::ErrorKind,
    error::PluginError,
    ffi::{ConnectorBox, FfiConnector_TO, HostBox, PluginDeclaration},
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RStr, RString},
};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.into(),
        Err(p) => RResult::RErr(PluginError::new(
            ErrorKind::PANICKED,
            format!("{what} panicked: {}", panic_message(&*p)),
        )),
    }
}

#[doc(hidden)]
pub extern "C" fn __runtime_health() -> crate::ffi::RuntimeHealth {
    super::runtime::health()
}

#[doc(hidden)]
pub fn __manifest_json(
    plugin: fn() -> &'static Plugin,
    declaration: &PluginDeclaration,
) -> RResult<RString, PluginError> {
    guarded("manifest", || {
        let manifest = plugin().manifest(
            &declaration.plugin_id(),
            &declaration.plugin_version(),
            &declaration.api_version().to_string(),
        );
        serde_json::to_string(&manifest)
            .map(RString::from)
            .map_err(PluginError::permanent)
    })
}

#[doc(hidden)]
pub fn __create_connector(
    plugin: fn() -> &'static Plugin,
    type_id: RStr<'_>,
    settings: RStr<'_>,
    host: HostBox,
) -> RResult<ConnectorBox, PluginError> {
    guarded("create_connector", || {
        let ctx = Context::new(host, plugin().quiet());
        let inner = plugin().create(type_id.as_str(), settings.as_str(), ctx.clone())?;
        Ok(FfiConnector_TO::from_value(
            FfiAdapter::new(inner, ctx),
            TD_Opaque,
        ))
    })
}

/// Exports a plugin from a `cdylib` crate. Pass a function returning the [`Plugin`]:
///
/// ```rust,standalone_crate
/// use oibus_plugin_api::prelude::*;
///
/// /// Settings of the North (doc comments become the JSON Schema's descriptions).
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(crate = "oibus_plugin_api::serde")]
/// #[schemars(crate = "oibus_plugin_api::schemars")]
/// struct MySettings {
///     /// Where the values go.
///     url: String,
/// }
///
/// struct MyNorth {
///     settings: MySettings,
/// }
///
/// impl Connector for MyNorth {
///     type Settings = MySettings;
///     fn new(settings: MySettings, _ctx: Context) -> Result<Self> {
///         Ok(Self { settings })
///     }
/// }
///
/// impl HandlesValues for MyNorth {
///     async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
///         tracing::info!("{} values for {}", values.len(), self.settings.url);
///         Ok(())
///     }
/// }
///
/// fn plugin() -> Plugin {
///     Plugin::new("ACME demo", "ACME")
///         .connector(ConnectorType::<MyNorth>::north("acme-north", "ACME North").handles_values())
/// }
/// oibus_plugin_api::export_plugin!(plugin);
/// # fn main() {
/// #     // What the macro recorded at compile time: this crate's name and the API version.
/// #     assert_eq!(oibus_plugin_declaration.plugin_id(), env!("CARGO_PKG_NAME"));
/// #     assert_eq!(
/// #         oibus_plugin_declaration.api_version().to_string(),
/// #         oibus_plugin_api::API_VERSION
/// #     );
/// #     let manifest = plugin().manifest("acme-demo", "1.0.0", oibus_plugin_api::API_VERSION);
/// #     let north = manifest.connector_type("acme-north").unwrap();
/// #     assert_eq!(north.capabilities, [oibus_plugin_api::Capability::HandlesValues]);
/// #     assert_eq!(north.settings_schema["required"][0], "url");
/// # }
/// ```
///
/// The plugin id and version are the package name and version of the crate's `Cargo.toml`; the
/// API version is the version of `oibus-plugin-api` the crate is compiled against. All three are
/// written into a plain declaration the engine reads before running any of the plugin's code.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:path) => {
        $crate::export_plugin!(
            $plugin,
            declaration = $crate::ffi::PluginDeclaration::new(
                $crate::API_VERSION,
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            )
        );
    };
    // Test fixtures only: declare another API version than the one compiled against.
    ($plugin:path, declaration = $declaration:expr) => {
        const _: () = assert!(
            env!("CARGO_PKG_NAME").len() <= $crate::ffi::DECLARATION_TEXT_LEN
                && env!("CARGO_PKG_VERSION").len() <= $crate::ffi::DECLARATION_TEXT_LEN,
            "the package name and version of an oibus plugin must each fit in 64 bytes"
        );

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #[unsafe(no_mangle)]
        pub static oibus_plugin_declaration: $crate::ffi::PluginDeclaration = $declaration;

        #[doc(hidden)]
        fn __oibus_plugin() -> &'static $crate::sdk::Plugin {
            static PLUGIN: ::std::sync::OnceLock<$crate::sdk::Plugin> =
                ::std::sync::OnceLock::new();
            PLUGIN.get_or_init($plugin)
        }

        #[doc(hidden)]
        extern "C" fn __oibus_manifest_json() -> $crate::__private::abi_stable::std_types::RResult<
            $crate::__private::abi_stable::std_types::RString,
            $crate::PluginError,
        > {
            $crate::sdk::__manifest_json(__oibus_plugin, &oibus_plugin_declaration)
        }

        #[doc(hidden)]
        extern "C" fn __oibus_create_connector(
            type_id: $crate::__private::abi_stable::std_types::RStr<'_>,
            settings: $crate::__private::abi_stable::std_types::RStr<'_>,
            host: $crate::ffi::HostBox,
        ) -> $crate::__private::abi_stable::std_types::RResult<
            $crate::ffi::ConnectorBox,
            $crate::PluginError,
        > {
            $crate::sdk::__create_connector(__oibus_plugin, type_id, settings, host)
        }

        #[doc(hidden)]
        fn __oibus_root_module() -> $crate::ffi::PluginModuleRef {
            use $crate::__private::abi_stable::prefix_type::PrefixTypeTrait as _;
            $crate::ffi::PluginModule {
                manifest_json: __oibus_manifest_json,
                create_connector: __oibus_create_connector,
                runtime_health: $crate::sdk::__runtime_health,
            }
            .leak_into_prefix()
        }

        /// The plugin's declaration and module, for an engine that links this crate statically
        /// (benchmarks comparing the plugin boundary with no boundary).
        #[doc(hidden)]
        pub fn __oibus_static_plugin()
        -> ($crate::ffi::PluginDeclaration, $crate::ffi::PluginModuleRef) {
            (oibus_plugin_declaration, __oibus_root_module())
        }

        // What abi_stable's `#[export_root_module]` generates, with paths through this crate so
        // the plugin needs no direct abi_stable dependency.
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __OIBUS_ABI_STABLE_ROOT: $crate::__private::abi_stable::library::LibHeader = {
            extern "C" fn erased() -> $crate::__private::abi_stable::library::RootModuleResult {
                $crate::__private::abi_stable::library::__call_root_module_loader(
                    __oibus_root_module,
                )
            }
            unsafe {
                $crate::__private::abi_stable::library::LibHeader::from_constructor::<
                    $crate::ffi::PluginModuleRef,
                >(
                    erased,
                    $crate::__private::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}
