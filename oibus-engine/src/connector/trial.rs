//! Trying one item of a South type on a connector created for the test alone (`test_item`, API
//! 1.1): what `oibus test-item` and `POST /api/south/test-item` run. Nothing read is sent.

use super::{
    error::ConnectorError, handle::ConnectorHandle, handle::ConnectorSpec, handle::create_in,
    host::DiscardSink,
};
use crate::{
    loader::LoadedPlugin,
    schema::{self, SchemaError},
};
use oibus_plugin_api::{
    BrowseRequest, BrowsedNode, Capability, ConnectorKind, ConnectorTypeManifest, Item, OibusValue,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The item to test, as it would be configured.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialItem {
    /// Its name (the default point id of what it reads).
    pub name: String,
    /// Its settings, checked against the type's item schema.
    #[serde(default = "empty_object")]
    pub settings: serde_json::Value,
    /// The scan mode it would be read on (some connectors read differently per mode).
    #[serde(default = "default_scan_mode")]
    pub scan_mode: String,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

fn default_scan_mode() -> String {
    "test".into()
}

/// Why an item test or a browse gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The type is not a South.
    #[error("{type_id:?} is a North connector type: only a South reads items")]
    NotSouth {
        /// The type.
        type_id: String,
    },
    /// The type does not offer item testing.
    #[error("{0}")]
    NotSupported(String),
    /// The item's settings do not fit the type's item schema.
    #[error(transparent)]
    Item(SchemaError),
    /// Creating, connecting or reading failed (the connector's settings, the target, the item).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// A South capability a trial needs: what it is called, and the API minor that brought it.
struct Needed {
    capability: Capability,
    what: &'static str,
    minor: u64,
}

/// The type's manifest, once it is checked to be a South offering `needed`.
fn check<'p>(
    plugin: &'p LoadedPlugin,
    type_id: &str,
    needed: Needed,
) -> Result<Option<&'p ConnectorTypeManifest>, TrialError> {
    let Some(t) = plugin.manifest().connector_type(type_id) else {
        return Ok(None);
    };
    if t.kind != ConnectorKind::South {
        return Err(TrialError::NotSouth {
            type_id: type_id.to_string(),
        });
    }
    if !t.capabilities.contains(&needed.capability) {
        return Err(TrialError::NotSupported(not_supported(
            plugin,
            type_id,
            needed.what,
            (needed.minor, &needed.capability.to_string()),
        )));
    }
    Ok(Some(t))
}

/// Creates and connects the connector of `spec` with a sink that refuses data, runs `call` on
/// it, and disconnects, whatever `call` gave.
async fn on_connector<T, F>(
    plugin: &LoadedPlugin,
    spec: ConnectorSpec<'_>,
    call: impl FnOnce(Arc<ConnectorHandle>) -> F,
) -> Result<T, TrialError>
where
    F: std::future::Future<Output = Result<T, ConnectorError>>,
{
    let connector = Arc::new(create_in(
        plugin,
        spec,
        Arc::new(DiscardSink),
        tokio::runtime::Handle::current(),
    )?);
    connector.connect().await?;
    let result = call(connector.clone()).await;
    if let Err(e) = connector.disconnect().await {
        tracing::warn!(parent: connector.span(), "after the trial: {e}");
    }
    Ok(result?)
}

/// Connects a connector of `spec.type_id` made for this test, reads `item` once with
/// `test_item` and disconnects. The connector's sink refuses data: a plugin that calls
/// `add_values` during the test gets an error, and nothing reaches a North.
pub async fn test_item(
    plugin: &LoadedPlugin,
    spec: ConnectorSpec<'_>,
    item: &TrialItem,
) -> Result<Vec<OibusValue>, TrialError> {
    let needed = Needed {
        capability: Capability::TestsItem,
        what: "item testing",
        minor: 1,
    };
    if let Some(item_schema) =
        check(plugin, spec.type_id, needed)?.and_then(|t| t.item_schema.as_ref())
    {
        schema::validate(
            &format!("settings of item {:?}", item.name),
            item_schema,
            &item.settings,
        )
        .map_err(TrialError::Item)?;
    }
    let item = Item {
        name: item.name.as_str().into(),
        enabled: true,
        scan_mode: item.scan_mode.as_str().into(),
        settings: item.settings.to_string().into(),
    };
    on_connector(plugin, spec, |c| async move { c.test_item(item).await }).await
}

/// Connects a connector of `spec.type_id` made for the purpose, lists the nodes under
/// `request.from` with `browse`, and disconnects.
pub async fn browse(
    plugin: &LoadedPlugin,
    spec: ConnectorSpec<'_>,
    request: &BrowseRequest,
) -> Result<Vec<BrowsedNode>, TrialError> {
    let needed = Needed {
        capability: Capability::Browses,
        what: "browsing",
        minor: 2,
    };
    check(plugin, spec.type_id, needed)?;
    let request = request.clone();
    on_connector(plugin, spec, |c| async move { c.browse(&request).await }).await
}

/// Why a type without a capability cannot do `what`, naming its plugin and, for a plugin built
/// before the API minor that brought the capability, the API version it lacks.
fn not_supported(
    plugin: &LoadedPlugin,
    type_id: &str,
    what: &str,
    (minor, capability): (u64, &str),
) -> String {
    let m = plugin.manifest();
    let old_api = semver::Version::parse(&m.api_version)
        .map(|v| v < semver::Version::new(1, minor, 0))
        .unwrap_or(false);
    let why = if old_api {
        format!(
            "it was built against plugin API {}, and {what} arrived in API 1.{minor}",
            m.api_version
        )
    } else {
        format!("its plugin does not declare {capability} for it")
    };
    format!(
        "not-supported: connector type {type_id:?} of plugin {} {} does not offer {what}: {why}",
        m.id, m.version
    )
}
