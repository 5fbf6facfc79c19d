//! The North (`HandlesValues`): writes each value to the node its point maps to, converted to
//! the node's data type, in as few Write requests as the server allows. A value that cannot be
//! written (no node, a type it does not fit, a node that refuses it) is a permanent error that
//! names it: the engine sets it apart in the error store and sends the rest.

use crate::{
    nodes,
    session::{self, Live},
    settings::NorthSettings,
};
use oibus_plugin_api::prelude::*;
use opcua::types::{
    AttributeId, DataTypeId, DateTime, Identifier, NodeId, ReadValueId, StatusCode,
    TimestampsToReturn, VariableId, Variant, WriteValue,
};
use std::collections::HashMap;

/// The OPC UA North connector.
pub struct OpcuaNorth {
    settings: NorthSettings,
    ctx: Context,
    live: Option<Live>,
    /// Nodes per Write request: the setting, capped by the server's `MaxNodesPerWrite` and by
    /// what it was seen to refuse as too large.
    per_write: usize,
    /// The largest Write the server refused as too large (or closed the connection on), kept
    /// across reconnections.
    refused_write: Option<usize>,
    /// The data type of each node written so far (read once per connection), or why it has none
    /// this North can write.
    types: HashMap<NodeId, std::result::Result<DataTypeId, String>>,
}

impl Connector for OpcuaNorth {
    type Settings = NorthSettings;

    fn new(settings: NorthSettings, ctx: Context) -> Result<Self> {
        if let Some(t) = &settings.node_id_template
            && !t.contains("{pointId}")
        {
            return Err(PluginError::invalid_settings(format!(
                "node_id_template {t:?} has no {{pointId}}: every point would go to one node"
            )));
        }
        Ok(Self {
            settings,
            ctx,
            live: None,
            per_write: usize::MAX,
            refused_write: None,
            types: HashMap::new(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.disconnect().await?;
        let live = session::open_for(&self.settings.connection, &self.ctx).await?;
        let limit = nodes::operation_limit(
            &live.session,
            VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerWrite,
        )
        .await;
        let own = match self.settings.max_nodes_per_write {
            0 => usize::MAX,
            n => n as usize,
        };
        self.per_write = own
            .min(limit.unwrap_or(usize::MAX))
            .min(self.refused_write.map_or(usize::MAX, |n| (n / 2).max(1)))
            .max(1);
        self.types.clear();
        self.live = Some(live);
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(live) = self.live.take() {
            live.close().await;
        }
        Ok(())
    }
}

impl OpcuaNorth {
    /// The node of a point: from the table, else from the template.
    fn node_text(&self, point: &str) -> std::result::Result<String, String> {
        if let Some(n) = self.settings.nodes.get(point) {
            return Ok(n.clone());
        }
        match &self.settings.node_id_template {
            Some(t) => Ok(t.replace("{pointId}", point)),
            None => {
                Err("no node for this point (add it to `nodes`, or set `node_id_template`)".into())
            }
        }
    }

    /// The data types of `nodes` not known yet, read in one request per `per_write` nodes.
    async fn learn_types(&mut self, nodes: &[NodeId]) -> Result<()> {
        let url = self.settings.connection.url.clone();
        let session = session::of(&self.live, &url)?;
        let mut seen = std::collections::HashSet::new();
        let unknown: Vec<NodeId> = nodes
            .iter()
            .filter(|n| !self.types.contains_key(*n) && seen.insert(*n))
            .cloned()
            .collect();
        for chunk in unknown.chunks(self.per_write.min(1000)) {
            let read: Vec<ReadValueId> = chunk
                .iter()
                .map(|n| ReadValueId::new(n.clone(), AttributeId::DataType))
                .collect();
            let answers = session
                .read(&read, TimestampsToReturn::Neither, 0.0)
                .await
                .map_err(|e| {
                    PluginError::connection_lost(format!(
                        "OPC UA server {url}: reading data types failed: {}",
                        crate::convert::status_text(e.status())
                    ))
                })?;
            for (node, answer) in chunk.iter().zip(answers) {
                let status = answer.status.unwrap_or(StatusCode::Good);
                let t = match answer.value {
                    _ if status.is_bad() => Err(format!(
                        "its data type cannot be read: {}",
                        crate::convert::status_text(status)
                    )),
                    Some(Variant::NodeId(id)) => match (id.namespace, &id.identifier) {
                        (0, Identifier::Numeric(n)) => DataTypeId::try_from(*n)
                            .map_err(|_| format!("its data type {id} is not a standard one")),
                        _ => Err(format!(
                            "its data type {id} is not a standard one (a structure?)"
                        )),
                    },
                    _ => Err("the server gives no data type for it".into()),
                };
                self.types.insert(node.clone(), t);
            }
        }
        Ok(())
    }
}

impl HandlesValues for OpcuaNorth {
    /// Converts every value first (one that does not fit fails the batch, named, before anything
    /// is written), then writes them in groups and checks each node's status code.
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let url = self.settings.connection.url.clone();
        let session = session::of(&self.live, &url)?;
        let refuse = |v: &OibusValue, node: &str, why: String| {
            PluginError::permanent(format!(
                "point {:?} (node {node}): {why}",
                v.point_id.as_str()
            ))
        };
        let mut targets = Vec::with_capacity(values.len());
        for v in &values {
            let text = self
                .node_text(&v.point_id)
                .map_err(|why| refuse(v, "none", why))?;
            let node = nodes::parse(&session, &text)
                .await
                .map_err(|why| refuse(v, &text, why))?;
            targets.push((v, text, node));
        }
        let ids: Vec<NodeId> = targets.iter().map(|(_, _, n)| n.clone()).collect();
        self.learn_types(&ids).await?;
        let mut writes = Vec::with_capacity(targets.len());
        for (v, text, node) in &targets {
            let t = match self.types.get(node) {
                Some(Ok(t)) => *t,
                Some(Err(why)) => return Err(refuse(v, text, why.clone())),
                None => return Err(refuse(v, text, "its data type was not read".into())),
            };
            let variant = variant(&v.value, t).map_err(|why| refuse(v, text, why))?;
            writes.push(WriteValue::value_attr(node.clone(), variant));
        }
        let mut at = 0;
        while at < targets.len() {
            let end = (at + self.per_write).min(targets.len());
            let size = end - at;
            let results = match session.write(&writes[at..end]).await {
                Ok(results) => results,
                // A server may take fewer nodes per Write than it advertises (its message
                // size): halve the groups, for this batch and the next ones.
                Err(e) if crate::request_size::too_large(e.status()) && size > 1 => {
                    self.refused_write = Some(size);
                    self.per_write = (size / 2).max(1);
                    tracing::warn!(
                        "OPC UA server {url} refused a Write of {size} nodes ({}): writing {} at \
                         a time",
                        crate::convert::status_text(e.status()),
                        self.per_write
                    );
                    continue;
                }
                Err(e) => {
                    // Or it closes the connection: the next connection writes half as many.
                    if e.status() == StatusCode::BadConnectionClosed
                        && size > crate::request_size::LARGE_REQUEST
                    {
                        self.refused_write = Some(size);
                        tracing::warn!(
                            "OPC UA server {url} closed the connection during a Write of {size} \
                             nodes; the next connection writes {} at a time",
                            size / 2
                        );
                    }
                    return Err(PluginError::connection_lost(format!(
                        "OPC UA server {url}: write failed: {}",
                        crate::convert::status_text(e.status())
                    )));
                }
            };
            for ((v, text, _), status) in targets[at..end].iter().zip(results) {
                if status.is_bad() {
                    return Err(refuse(
                        v,
                        text,
                        format!(
                            "the server refused it: {}",
                            crate::convert::status_text(status)
                        ),
                    ));
                }
            }
            at = end;
        }
        Ok(())
    }
}

/// A value as the node's data type holds it, or why it does not fit.
pub fn variant(value: &DataValue, t: DataTypeId) -> std::result::Result<Variant, String> {
    use DataTypeId as D;
    let integer = |v: &DataValue| -> std::result::Result<i128, String> {
        match v {
            DataValue::Int(n) => Ok((*n).into()),
            DataValue::Float(f) if f.is_finite() && f.fract() == 0.0 => Ok(*f as i128),
            DataValue::Bool(b) => Ok((*b).into()),
            other => Err(format!("{} is not an integer", show(other))),
        }
    };
    /// An integer as the node's integer type, or why it does not fit.
    fn fit<T: TryFrom<i128>>(n: i128, name: &str) -> std::result::Result<T, String> {
        T::try_from(n).map_err(|_| format!("{n} does not fit in a {name}"))
    }
    Ok(match t {
        D::Boolean => match value {
            DataValue::Bool(b) => Variant::Boolean(*b),
            DataValue::Int(0) => Variant::Boolean(false),
            DataValue::Int(1) => Variant::Boolean(true),
            DataValue::Float(f) if *f == 0.0 => Variant::Boolean(false),
            DataValue::Float(f) if *f == 1.0 => Variant::Boolean(true),
            other => return Err(format!("{} is not a Boolean", show(other))),
        },
        D::SByte => Variant::SByte(fit(integer(value)?, "SByte")?),
        D::Byte => Variant::Byte(fit(integer(value)?, "Byte")?),
        D::Int16 => Variant::Int16(fit(integer(value)?, "Int16")?),
        D::UInt16 => Variant::UInt16(fit(integer(value)?, "UInt16")?),
        D::Int32 => Variant::Int32(fit(integer(value)?, "Int32")?),
        D::UInt32 => Variant::UInt32(fit(integer(value)?, "UInt32")?),
        D::Int64 => Variant::Int64(fit(integer(value)?, "Int64")?),
        D::UInt64 => Variant::UInt64(fit(integer(value)?, "UInt64")?),
        D::Float | D::Double => {
            let f = match value {
                DataValue::Int(n) => *n as f64,
                DataValue::Float(f) if f.is_finite() => *f,
                other => return Err(format!("{} is not a finite number", show(other))),
            };
            if t == D::Float {
                if f.abs() > f32::MAX as f64 {
                    return Err(format!("{f} does not fit in a Float"));
                }
                Variant::Float(f as f32)
            } else {
                Variant::Double(f)
            }
        }
        D::String => Variant::String(match value {
            DataValue::Text(s) => s.as_str().into(),
            DataValue::Null => return Err("null is not a String".into()),
            other => show(other).into(),
        }),
        D::DateTime | D::UtcTime => match value {
            DataValue::Text(s) => Variant::DateTime(Box::new(
                DateTime::parse_from_rfc3339(s.as_str())
                    .map_err(|e| format!("{} is not an RFC 3339 instant ({e})", show(value)))?,
            )),
            other => return Err(format!("{} is not an RFC 3339 instant", show(other))),
        },
        other => {
            return Err(format!(
                "the node holds {other:?}, which this North does not write (it writes Boolean, \
                 integers of every width, Float, Double, String and DateTime)"
            ));
        }
    })
}

fn show(v: &DataValue) -> String {
    match v {
        DataValue::Null => "null".into(),
        DataValue::Bool(b) => b.to_string(),
        DataValue::Int(n) => n.to_string(),
        DataValue::Float(f) => f.to_string(),
        DataValue::Text(s) => format!("{:?}", s.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_converted_to_the_node_type_or_refused_with_why() {
        assert_eq!(
            variant(&DataValue::Int(-16), DataTypeId::Int16).unwrap(),
            Variant::Int16(-16)
        );
        assert_eq!(
            variant(&DataValue::Float(3.0), DataTypeId::UInt32).unwrap(),
            Variant::UInt32(3)
        );
        assert!(
            variant(&DataValue::Int(70_000), DataTypeId::Int16)
                .unwrap_err()
                .contains("does not fit in a Int16")
        );
        assert!(
            variant(&DataValue::Float(1.5), DataTypeId::Int32)
                .unwrap_err()
                .contains("not an integer")
        );
        assert!(
            variant(&DataValue::Text("x".into()), DataTypeId::Double)
                .unwrap_err()
                .contains("not a finite number")
        );
        // 0 and 1 as integers or floats (a float register, a JSON number) are Booleans.
        for (v, b) in [
            (DataValue::Float(1.0), true),
            (DataValue::Float(0.0), false),
            (DataValue::Float(-0.0), false),
            (DataValue::Int(1), true),
            (DataValue::Bool(false), false),
        ] {
            assert_eq!(
                variant(&v, DataTypeId::Boolean).unwrap(),
                Variant::Boolean(b)
            );
        }
        assert!(
            variant(&DataValue::Float(0.5), DataTypeId::Boolean)
                .unwrap_err()
                .contains("0.5 is not a Boolean")
        );
        assert_eq!(
            variant(&DataValue::Int(7), DataTypeId::String).unwrap(),
            Variant::String("7".into())
        );
        assert!(
            variant(&DataValue::Int(1), DataTypeId::Guid)
                .unwrap_err()
                .contains("does not write")
        );
    }
}
