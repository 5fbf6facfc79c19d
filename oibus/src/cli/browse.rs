//! `oibus browse`: list the nodes of a South type's source (its `browse`, API 1.2) as a tree, as
//! JSON, or as item tables ready to paste into a configuration.

use super::scratch::{ScratchConnector, TypeArgs};
use oibus_engine::connector;
use oibus_plugin_api::{BrowseRequest, BrowsedNode};

/// Arguments of `oibus browse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    of: TypeArgs,
    /// The node to list the children of (an OPC UA node id…); default: the source's root.
    #[arg(long)]
    node: Option<String>,
    /// Levels to list below it.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    depth: u32,
    /// Print the nodes as JSON.
    #[arg(long, conflicts_with = "toml_items")]
    json: bool,
    /// Print a `[[south.items]]` table for each readable node, named by its path of names.
    #[arg(long)]
    toml_items: bool,
    /// The scan mode of the printed items.
    #[arg(long, default_value = "every-second")]
    scan_mode: String,
}

/// Runs the command; exit code 0 when the source was listed, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let trial = ScratchConnector::open(&args.of)?;
    let type_id = &args.of.type_id;
    let Some((plugin, _)) = trial.registry.connector_type(type_id) else {
        let known: Vec<_> = trial.registry.type_ids().collect();
        eprintln!(
            "browse FAILED: no connector type {type_id:?} in {} (types: {})",
            args.of.plugins.display(),
            known.join(", ")
        );
        return Ok(1);
    };
    let request = BrowseRequest {
        from: args.node.clone(),
        depth: args.depth,
    };
    let result = trial.runtime.block_on(connector::browse(
        plugin,
        trial.spec("browse", type_id),
        &request,
    ));
    let nodes = match result {
        Ok(nodes) => nodes,
        Err(e) => {
            eprintln!("browse FAILED: {e}");
            return Ok(1);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
    } else if args.toml_items {
        let mut out = String::new();
        items(&nodes, "", &args.scan_mode, &mut out);
        print!("{out}");
    } else {
        let mut out = String::new();
        tree(&nodes, 0, &mut out);
        print!("{out}");
    }
    Ok(0)
}

/// One line per node, indented by level: name, kind, type, history, id.
fn tree(nodes: &[BrowsedNode], level: usize, out: &mut String) {
    for n in nodes {
        let mut about = vec![n.kind.clone()];
        about.extend(n.data_type.clone());
        if n.historizing {
            about.push("historized".into());
        }
        if !n.is_readable() && n.data_type.is_some() {
            about.push("not readable as an item".into());
        }
        out.push_str(&format!(
            "{}{}  ({})  {}\n",
            "  ".repeat(level),
            n.name,
            about.join(", "),
            n.id
        ));
        tree(&n.children, level + 1, out);
    }
}

/// A `[[south.items]]` table per readable node, named by the path of names from the listing's
/// root (below the node browsed from); a node with values that no item can read is a comment.
fn items(nodes: &[BrowsedNode], prefix: &str, scan_mode: &str, out: &mut String) {
    for n in nodes {
        let name = if prefix.is_empty() {
            n.name.clone()
        } else {
            format!("{prefix}.{}", n.name)
        };
        if let Some(settings) = &n.item_settings {
            out.push_str(&format!(
                "[[south.items]]\nname = {}\nscan_mode = {}\nsettings = {}\n\n",
                serde_json::Value::from(name.as_str()),
                serde_json::Value::from(scan_mode),
                super::reference::toml_inline(settings)
            ));
        } else if let Some(data_type) = &n.data_type {
            out.push_str(&format!(
                "# {name} ({}): its {data_type} values are not readable as an item\n\n",
                n.id
            ));
        }
        items(&n.children, &name, scan_mode, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, readable: bool, children: Vec<BrowsedNode>) -> BrowsedNode {
        BrowsedNode {
            id: format!("ns=2;s={name}"),
            name: name.into(),
            kind: if readable { "variable" } else { "object" }.into(),
            data_type: readable.then(|| "Double".into()),
            historizing: false,
            item_settings: readable
                .then(|| serde_json::json!({"node_id": format!("ns=2;s={name}")})),
            children,
        }
    }

    #[test]
    fn readable_nodes_become_item_tables_named_by_their_path() {
        let nodes = vec![node("Plant", false, vec![node("Speed", true, vec![])])];
        let mut out = String::new();
        items(&nodes, "", "every-second", &mut out);
        assert_eq!(
            out,
            "[[south.items]]\nname = \"Plant.Speed\"\nscan_mode = \"every-second\"\nsettings = { node_id = \"ns=2;s=Speed\" }\n\n"
        );
        let mut out = String::new();
        tree(&nodes, 0, &mut out);
        assert_eq!(
            out,
            "Plant  (object)  ns=2;s=Plant\n  Speed  (variable, Double)  ns=2;s=Speed\n"
        );
    }

    #[test]
    fn a_variable_no_item_can_read_is_a_comment_and_marked_in_the_tree() {
        let mut text = node("Text", false, vec![]);
        text.kind = "variable".into();
        text.data_type = Some("LocalizedText".into());
        let mut out = String::new();
        items(
            std::slice::from_ref(&text),
            "Plant",
            "every-second",
            &mut out,
        );
        assert_eq!(
            out,
            "# Plant.Text (ns=2;s=Text): its LocalizedText values are not readable as an item\n\n"
        );
        let mut out = String::new();
        tree(&[text], 0, &mut out);
        assert_eq!(
            out,
            "Text  (variable, LocalizedText, not readable as an item)  ns=2;s=Text\n"
        );
    }
}
