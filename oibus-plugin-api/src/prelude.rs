//! Everything a connector implementation usually needs, in one `use`:
//! `use oibus_plugin_api::prelude::*;`.

pub use crate::schemars::JsonSchema;
pub use crate::sdk::{
    Browses, Connector, ConnectorType, Context, HandlesFile, HandlesFileBatches, HandlesValues,
    PartialRead, Plugin, QueriesFile, QueriesHistory, QueriesLastPoint, QueriesSubscription, South,
    SouthItem, TestsItem,
};
pub use crate::serde::{Deserialize, Serialize};
pub use crate::{
    error::PluginError, error::Result, model::BrowseRequest, model::BrowsedNode, model::DataValue,
    model::OibusValue, model::Quality, model::Timestamp,
};
pub use crate::{tokio, tracing};
