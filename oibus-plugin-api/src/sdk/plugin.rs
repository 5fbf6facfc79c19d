//! How a vendor describes a plugin and its connector types.

use super::{
    adapter::{Adapter, BoxFut, Caps, DynConnector, parse_items},
    context::Context,
    traits::Browses,
    traits::Connector,
    traits::HandlesFile,
    traits::HandlesFileBatches,
    traits::HandlesValues,
    traits::QueriesFile,
    traits::QueriesHistory,
    traits::QueriesLastPoint,
    traits::QueriesSubscription,
    traits::South,
    traits::TestsItem,
};
use crate::{
    error::PluginError, error::Result, manifest::ConnectorKind, manifest::ConnectorTypeManifest,
    manifest::Manifest, model::Item, model::OibusValue, model::Timestamp,
};
use std::path::PathBuf;

/// A plugin: its display name, vendor and the connector types it offers. Build it in the function
/// you pass to [`export_plugin!`](crate::export_plugin). The plugin id and version are the package
/// name and version of your crate, and the API version the version of `oibus-plugin-api` you build
/// against: the macro records all three at compile time.
pub struct Plugin {
    name: String,
    vendor: String,
    description: String,
    types: Vec<Box<dyn ErasedType>>,
    quiet_libraries: Vec<&'static str>,
}

impl Plugin {
    /// A plugin with a display name and a vendor.
    pub fn new(name: impl Into<String>, vendor: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            vendor: vendor.into(),
            description: String::new(),
            types: Vec::new(),
            quiet_libraries: Vec::new(),
        }
    }

    /// Logs the events of these libraries (`tracing` targets starting with one of the prefixes,
    /// such as `"opcua"` for the `opcua_client::…` modules) at debug level, whatever their own:
    /// a library's warnings about what the connector already reports as its error stay out of
    /// the operator's log, and are there again with `OIBUS_LOG=debug`.
    ///
    /// ```
    /// use oibus_plugin_api::prelude::*;
    ///
    /// let plugin = Plugin::new("OPC UA client", "acme").quiet_libraries(&["opcua"]);
    /// # let _ = plugin;
    /// ```
    pub fn quiet_libraries(mut self, prefixes: &[&'static str]) -> Self {
        self.quiet_libraries.extend_from_slice(prefixes);
        self
    }

    /// The prefixes of [`Plugin::quiet_libraries`].
    pub(crate) fn quiet(&self) -> &[&'static str] {
        &self.quiet_libraries
    }

    /// A one-line description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Adds a connector type.
    pub fn connector<T: Connector>(mut self, t: ConnectorType<T>) -> Self {
        self.types.push(Box::new(t));
        self
    }

    /// The manifest, given the plugin id, its version and the API version it is built against.
    pub fn manifest(&self, id: &str, version: &str, api_version: &str) -> Manifest {
        Manifest {
            id: id.to_string(),
            name: self.name.clone(),
            vendor: self.vendor.clone(),
            description: self.description.clone(),
            version: version.to_string(),
            api_version: api_version.to_string(),
            connector_types: self.types.iter().map(|t| t.manifest()).collect(),
        }
    }

    pub(crate) fn create(
        &self,
        type_id: &str,
        settings: &str,
        ctx: Context,
    ) -> Result<Box<dyn DynConnector>> {
        let t = self
            .types
            .iter()
            .find(|t| t.id() == type_id)
            .ok_or_else(|| {
                PluginError::invalid_settings(format!(
                    "plugin {:?} has no connector type {type_id:?}",
                    self.name
                ))
            })?;
        t.create(settings, ctx)
    }
}

/// One connector type: its id, kind, display name and capabilities. Declare each capability you
/// implement with the matching method (`.handles_values()`, `.queries_history()`…): the compiler
/// checks the trait is implemented, and the manifest lists it.
pub struct ConnectorType<T: Connector> {
    id: &'static str,
    kind: ConnectorKind,
    name: String,
    description: String,
    item_schema: Option<serde_json::Value>,
    caps: Caps<T>,
}

impl<T: Connector> ConnectorType<T> {
    /// A North (destination) type with the configuration id `id` (for example `file-writer`).
    pub fn north(id: &'static str, name: impl Into<String>) -> Self {
        Self::with_kind(id, ConnectorKind::North, name)
    }

    fn with_kind(id: &'static str, kind: ConnectorKind, name: impl Into<String>) -> Self {
        Self {
            id,
            kind,
            name: name.into(),
            description: String::new(),
            item_schema: None,
            caps: Caps::default(),
        }
    }

    /// A one-line description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

impl<T: South> ConnectorType<T> {
    /// A South (source) type with the configuration id `id` (for example `modbus`).
    pub fn south(id: &'static str, name: impl Into<String>) -> Self {
        let mut t = Self::with_kind(id, ConnectorKind::South, name);
        t.item_schema = Some(schema_of::<T::ItemSettings>());
        t
    }
}

impl<T: HandlesValues> ConnectorType<T> {
    /// Declares [`HandlesValues`].
    pub fn handles_values(mut self) -> Self {
        fn f<T: HandlesValues>(t: &mut T, v: Vec<OibusValue>) -> BoxFut<'_, ()> {
            Box::pin(t.handle_values(v))
        }
        self.caps.handle_values = Some(f::<T>);
        self
    }
}

impl<T: HandlesFile> ConnectorType<T> {
    /// Declares [`HandlesFile`].
    pub fn handles_file(mut self) -> Self {
        fn f<T: HandlesFile>(t: &mut T, p: PathBuf) -> BoxFut<'_, ()> {
            Box::pin(async move { t.handle_file(&p).await })
        }
        self.caps.handle_file = Some(f::<T>);
        self
    }
}

impl<T: HandlesFileBatches> ConnectorType<T> {
    /// Declares [`HandlesFileBatches`] (API 1.3), besides [`HandlesFile`].
    pub fn handles_file_batches(mut self) -> Self {
        fn f<T: HandlesFileBatches>(t: &mut T, p: Vec<PathBuf>) -> BoxFut<'_, ()> {
            Box::pin(async move { t.handle_files(&p).await })
        }
        self.caps.handle_files = Some(f::<T>);
        self
    }
}

impl<T: QueriesLastPoint> ConnectorType<T> {
    /// Declares [`QueriesLastPoint`].
    pub fn queries_last_point(mut self) -> Self {
        fn f<T: QueriesLastPoint>(t: &mut T, items: Vec<Item>) -> BoxFut<'_, ()> {
            Box::pin(async move { t.last_point_query(&parse_items(items)?).await })
        }
        self.caps.last_point = Some(f::<T>);
        self
    }
}

impl<T: QueriesFile> ConnectorType<T> {
    /// Declares [`QueriesFile`].
    pub fn queries_file(mut self) -> Self {
        fn f<T: QueriesFile>(t: &mut T, items: Vec<Item>) -> BoxFut<'_, ()> {
            Box::pin(async move { t.file_query(&parse_items(items)?).await })
        }
        self.caps.file_query = Some(f::<T>);
        self
    }
}

impl<T: QueriesHistory> ConnectorType<T> {
    /// Declares [`QueriesHistory`].
    pub fn queries_history(mut self) -> Self {
        fn f<T: QueriesHistory>(
            t: &mut T,
            items: Vec<Item>,
            start: Timestamp,
            end: Timestamp,
        ) -> BoxFut<'_, Option<Timestamp>> {
            Box::pin(async move { t.history_query(&parse_items(items)?, start, end).await })
        }
        self.caps.history = Some(f::<T>);
        self
    }
}

impl<T: QueriesSubscription> ConnectorType<T> {
    /// Declares [`QueriesSubscription`].
    pub fn queries_subscription(mut self) -> Self {
        fn sub<T: QueriesSubscription>(t: &mut T, items: Vec<Item>) -> BoxFut<'_, ()> {
            Box::pin(async move { t.subscribe(&parse_items(items)?).await })
        }
        fn unsub<T: QueriesSubscription>(t: &mut T, items: Vec<Item>) -> BoxFut<'_, ()> {
            Box::pin(async move { t.unsubscribe(&parse_items(items)?).await })
        }
        self.caps.subscribe = Some(sub::<T>);
        self.caps.unsubscribe = Some(unsub::<T>);
        self
    }
}

impl<T: TestsItem> ConnectorType<T> {
    /// Declares [`TestsItem`] (API 1.1): the engine's `oibus test-item` and
    /// `POST /api/south/test-item` can then read one item of this type on demand.
    pub fn tests_item(mut self) -> Self {
        fn f<T: TestsItem>(t: &mut T, item: Item) -> BoxFut<'_, Vec<OibusValue>> {
            Box::pin(async move {
                let items = parse_items(vec![item])?;
                match items.first() {
                    Some(item) => t.test_item(item).await,
                    None => Ok(Vec::new()),
                }
            })
        }
        self.caps.test_item = Some(f::<T>);
        self
    }
}

impl<T: Browses> ConnectorType<T> {
    /// Declares [`Browses`] (API 1.2): the engine's `oibus browse` and `POST /api/south/browse`
    /// can then list the source's nodes as ready items.
    pub fn browses(mut self) -> Self {
        fn f<T: Browses>(t: &mut T, request: String) -> BoxFut<'_, String> {
            Box::pin(async move {
                let request: crate::model::BrowseRequest =
                    serde_json::from_str(&request).map_err(PluginError::permanent)?;
                let nodes = t.browse(&request).await?;
                serde_json::to_string(&nodes).map_err(PluginError::permanent)
            })
        }
        self.caps.browse = Some(f::<T>);
        self
    }
}

fn schema_of<S: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(S)).unwrap_or(serde_json::Value::Bool(true))
}

/// A connector type with its concrete type erased.
trait ErasedType: Send + Sync {
    fn id(&self) -> &str;
    fn manifest(&self) -> ConnectorTypeManifest;
    fn create(&self, settings: &str, ctx: Context) -> Result<Box<dyn DynConnector>>;
}

impl<T: Connector> ErasedType for ConnectorType<T> {
    fn id(&self) -> &str {
        self.id
    }

    fn manifest(&self) -> ConnectorTypeManifest {
        ConnectorTypeManifest {
            id: self.id.to_string(),
            kind: self.kind,
            name: self.name.clone(),
            description: self.description.clone(),
            capabilities: self.caps.list(),
            settings_schema: schema_of::<T::Settings>(),
            item_schema: self.item_schema.clone(),
        }
    }

    fn create(&self, settings: &str, ctx: Context) -> Result<Box<dyn DynConnector>> {
        let settings: T::Settings = serde_json::from_str(settings).map_err(|e| {
            PluginError::invalid_settings(format!(
                "connector type {:?}: invalid settings: {e}",
                self.id
            ))
        })?;
        // `new` runs inside the plugin's runtime, so that it may use tokio (timers, spawn).
        let _runtime = super::runtime::handle()?.enter();
        let inner =
            tracing::dispatcher::with_default(ctx.dispatch(), || T::new(settings, ctx.clone()))?;
        Ok(Box::new(Adapter {
            inner,
            caps: self.caps,
            type_id: self.id,
        }))
    }
}
