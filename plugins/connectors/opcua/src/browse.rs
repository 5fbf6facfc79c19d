//! Browsing (`Browses`, API 1.2): the objects and variables under a node, with their browse
//! names, data types and whether they are historized, each variable whose value is a
//! measurement ready as an item (one holding a structure or a LocalizedText is listed, as no
//! item).

use oibus_plugin_api::prelude::*;
use opcua::{
    client::Session,
    types::{
        AttributeId, BrowseDescription, BrowseDirection, BrowseResultMask, ByteString, DataTypeId,
        Identifier, NodeClass, NodeId, ObjectId, ReadValueId, ReferenceDescription,
        ReferenceTypeId, TimestampsToReturn, Variant,
    },
};

/// The most nodes one browse lists.
const MOST: usize = 10_000;

/// Lists the children of `from` (the Objects folder when `None`) down to `depth` levels.
pub async fn browse(
    session: &Session,
    request: &BrowseRequest,
    url: &str,
) -> Result<Vec<BrowsedNode>> {
    let root = match &request.from {
        None => NodeId::from(ObjectId::ObjectsFolder),
        Some(text) => crate::nodes::parse(session, text)
            .await
            .map_err(PluginError::invalid_settings)?,
    };
    let mut listed = 0;
    level(session, &root, request.depth.max(1), &mut listed, url).await
}

/// The children of `node`, and theirs while `depth` lasts.
async fn level(
    session: &Session,
    node: &NodeId,
    depth: u32,
    listed: &mut usize,
    url: &str,
) -> Result<Vec<BrowsedNode>> {
    let references = children(session, node, url).await?;
    *listed += references.len();
    if *listed > MOST {
        return Err(PluginError::invalid_settings(format!(
            "more than {MOST} nodes under {node}: browse from a node further down, or less deep"
        )));
    }
    let ids: Vec<NodeId> = references
        .iter()
        .map(|r| r.node_id.node_id.clone())
        .collect();
    let about = attributes(session, &references, url).await?;
    let mut nodes = Vec::with_capacity(references.len());
    for ((reference, id), about) in references.iter().zip(ids).zip(about) {
        let variable = reference.node_class == NodeClass::Variable;
        let children = if depth > 1 {
            Box::pin(level(session, &id, depth - 1, listed, url)).await?
        } else {
            Vec::new()
        };
        nodes.push(BrowsedNode {
            id: id.to_string(),
            name: reference.browse_name.name.as_ref().to_string(),
            kind: if variable { "variable" } else { "object" }.into(),
            data_type: about.data_type,
            historizing: about.historizing,
            item_settings: (variable && about.measurement)
                .then(|| oibus_plugin_api::serde_json::json!({ "node_id": id.to_string() })),
            children,
        });
    }
    Ok(nodes)
}

/// The objects and variables `node` organizes, following continuation points.
async fn children(
    session: &Session,
    node: &NodeId,
    url: &str,
) -> Result<Vec<ReferenceDescription>> {
    let failed = |what: &str, e: opcua::types::Error| {
        PluginError::connection_lost(format!(
            "OPC UA server {url}: {what} {node} failed: {}",
            crate::convert::status_text(e.status())
        ))
    };
    let description = BrowseDescription {
        node_id: node.clone(),
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: NodeClass::Object as u32 | NodeClass::Variable as u32,
        result_mask: BrowseResultMask::All as u32,
    };
    let mut results = session
        .browse(&[description], 1000, None)
        .await
        .map_err(|e| failed("browsing", e))?;
    let mut references = Vec::new();
    while let Some(result) = results.pop() {
        if result.status_code.is_bad() {
            return Err(PluginError::invalid_settings(format!(
                "browsing {node}: {}",
                crate::convert::status_text(result.status_code)
            )));
        }
        references.extend(result.references.unwrap_or_default());
        if result.continuation_point.is_null() {
            break;
        }
        let next: ByteString = result.continuation_point;
        results = session
            .browse_next(false, &[next])
            .await
            .map_err(|e| failed("browsing further", e))?;
    }
    Ok(references)
}

/// What the listing says of a node beside its reference.
#[derive(Default)]
struct About {
    /// Its data type's name, `[]` after it for an array (`None` for an object).
    data_type: Option<String>,
    /// Whether the server keeps its history.
    historizing: bool,
    /// Whether its value is one an item reads (a measurement, or no value to judge by now).
    measurement: bool,
}

/// For each reference, what its variable is: data type, value rank, history, and whether its
/// current value is a measurement (nothing for an object).
async fn attributes(
    session: &Session,
    references: &[ReferenceDescription],
    url: &str,
) -> Result<Vec<About>> {
    const ASKED: [AttributeId; 4] = [
        AttributeId::DataType,
        AttributeId::ValueRank,
        AttributeId::Historizing,
        AttributeId::Value,
    ];
    let variables: Vec<&NodeId> = references
        .iter()
        .filter(|r| r.node_class == NodeClass::Variable)
        .map(|r| &r.node_id.node_id)
        .collect();
    let mut read = Vec::with_capacity(variables.len() * ASKED.len());
    for id in &variables {
        read.extend(ASKED.map(|a| ReadValueId::new((*id).clone(), a)));
    }
    let mut values = Vec::new();
    for chunk in read.chunks(1000) {
        values.extend(
            session
                .read(chunk, TimestampsToReturn::Neither, 0.0)
                .await
                .map_err(|e| {
                    PluginError::connection_lost(format!(
                        "OPC UA server {url}: reading node attributes failed: {}",
                        crate::convert::status_text(e.status())
                    ))
                })?,
        );
    }
    let mut each = values.chunks(ASKED.len());
    Ok(references
        .iter()
        .map(|r| {
            if r.node_class != NodeClass::Variable {
                return About::default();
            }
            let Some([data_type, rank, historizing, value]) = each.next() else {
                return About::default();
            };
            let array = matches!(rank.value, Some(Variant::Int32(n)) if n >= 1);
            About {
                data_type: match &data_type.value {
                    Some(Variant::NodeId(id)) => Some(format!(
                        "{}{}",
                        type_name(id),
                        if array { "[]" } else { "" }
                    )),
                    _ => None,
                },
                historizing: matches!(historizing.value, Some(Variant::Boolean(true))),
                measurement: match &value.value {
                    Some(v) if !matches!(v, Variant::Empty) => crate::convert::data(v).is_ok(),
                    _ => true,
                },
            }
        })
        .collect())
}

/// A standard data type by its name (`Double`), another by its node id.
fn type_name(id: &NodeId) -> String {
    match (&id.namespace, &id.identifier) {
        (0, Identifier::Numeric(n)) => DataTypeId::try_from(*n)
            .map(|t| format!("{t:?}"))
            .unwrap_or_else(|_| id.to_string()),
        _ => id.to_string(),
    }
}
