//! What browsing a source gives (API 1.2): nodes of its address space, each ready to become an
//! item. They cross the boundary as JSON.

use serde::{Deserialize, Serialize};

/// Where to browse from, and how deep.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BrowseRequest {
    /// The node to list the children of, in the source's own notation (an OPC UA node id, a
    /// topic…); `None`: the source's root (an OPC UA server's Objects folder).
    #[serde(default)]
    pub from: Option<String>,
    /// Levels below `from` to list: 1 lists its children only.
    #[serde(default = "one")]
    pub depth: u32,
}

fn one() -> u32 {
    1
}

/// One node of a source's address space.
///
/// ```
/// use oibus_plugin_api::BrowsedNode;
///
/// let node = BrowsedNode {
///     id: "ns=2;s=Line1.Speed".into(),
///     name: "Speed".into(),
///     kind: "variable".into(),
///     data_type: Some("Double".into()),
///     historizing: false,
///     item_settings: Some(oibus_plugin_api::serde_json::json!({"node_id": "ns=2;s=Line1.Speed"})),
///     children: Vec::new(),
/// };
/// assert!(node.is_readable());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowsedNode {
    /// Its id in the source's notation, to browse from or read.
    pub id: String,
    /// Its name, as the source shows it (an OPC UA browse name).
    pub name: String,
    /// What it is, in the source's words (`object`, `variable`, `folder`…).
    pub kind: String,
    /// The type of its values, when it has values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Whether the source keeps its history (an item of it can use history queries).
    #[serde(default)]
    pub historizing: bool,
    /// The settings of an item that reads it, valid against the type's item schema; `None` for a
    /// node that holds no value (a folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_settings: Option<serde_json::Value>,
    /// Its children, down to the depth asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<BrowsedNode>,
}

impl BrowsedNode {
    /// Whether an item can read it.
    pub fn is_readable(&self) -> bool {
        self.item_settings.is_some()
    }
}
