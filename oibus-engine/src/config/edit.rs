//! Writing a changed configuration back into the text of its file, keeping the comments and
//! layout of everything that did not change: the admin API edits one connector at a time, and
//! the file is the operator's.

use super::{load::expand_variables, types::Config};
use serde::Serialize;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

/// `old_text` changed to say `new`. Sections (`engine`, `scan_modes`) and connectors (matched by
/// id) that did not change keep their text, comments included; a changed connector keeps the
/// comment above it; new connectors go at the end. `variables` are those expanded in `new`
/// (`${data_dir}`…), so that unchanged text that uses them is recognised as unchanged. If
/// `old_text` is not a configuration, the result is `new` serialized anew.
pub fn rewrite(
    old_text: &str,
    new: &Config,
    variables: &[(&str, String)],
) -> Result<String, String> {
    // TOML has no null: a setting set to null is written as absent, which it means.
    let mut new = new.clone();
    for s in &mut new.south {
        // Items kept in a file are written there (by the caller), not into the configuration.
        if s.items_file.is_some() {
            s.items = Default::default();
        }
        without_nulls(&mut s.settings);
        for item in std::sync::Arc::make_mut(&mut s.items) {
            item.settings.update(without_nulls);
        }
    }
    for n in &mut new.north {
        without_nulls(&mut n.settings);
    }
    let new = &new;
    let fresh_text = toml::to_string_pretty(new).map_err(|e| e.to_string())?;
    let (Ok(mut doc), Ok(mut old)) = (
        old_text.parse::<DocumentMut>(),
        toml::from_str::<Config>(old_text),
    ) else {
        return Ok(fresh_text);
    };
    expand_variables(&mut old, variables);
    let fresh = fresh_text
        .parse::<DocumentMut>()
        .map_err(|e| e.to_string())?;
    if json(&old.engine) != json(&new.engine) {
        replace(&mut doc, &fresh, "engine");
    }
    if json(&old.scan_modes) != json(&new.scan_modes) {
        replace(&mut doc, &fresh, "scan_modes");
    }
    let south_old: Vec<_> = old.south.iter().map(|s| (s.id.clone(), json(s))).collect();
    let south_new: Vec<_> = new.south.iter().map(|s| (s.id.clone(), json(s))).collect();
    connectors(&mut doc, &fresh, "south", &south_old, &south_new);
    let north_old: Vec<_> = old.north.iter().map(|n| (n.id.clone(), json(n))).collect();
    let north_new: Vec<_> = new.north.iter().map(|n| (n.id.clone(), json(n))).collect();
    connectors(&mut doc, &fresh, "north", &north_old, &north_new);
    Ok(doc.to_string())
}

/// Removes the null members of every object in `v`.
fn without_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            o.retain(|_, m| !m.is_null());
            o.values_mut().for_each(without_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Takes section `key` from `fresh` (or removes it), keeping the comment above the old one.
fn replace(doc: &mut DocumentMut, fresh: &DocumentMut, key: &str) {
    let Some(mut item) = fresh.get(key).cloned() else {
        doc.remove(key);
        return;
    };
    unposition(&mut item);
    if let (Some(old), Some(new)) = (doc.get(key).and_then(Item::as_table), item.as_table_mut()) {
        *new.decor_mut() = old.decor().clone();
    }
    doc.insert(key, item);
}

/// Rebuilds the list `key` of connectors in `new`'s order: unchanged ones as they were written,
/// changed and new ones from `fresh`.
fn connectors(
    doc: &mut DocumentMut,
    fresh: &DocumentMut,
    key: &str,
    old: &[(String, serde_json::Value)],
    new: &[(String, serde_json::Value)],
) {
    let fresh_tables: Vec<Table> = fresh
        .get(key)
        .and_then(Item::as_array_of_tables)
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default();
    let previous = |id: &str| old.iter().position(|(o, _)| o == id);
    match doc.get(key) {
        Some(Item::ArrayOfTables(written)) => {
            let mut out = ArrayOfTables::new();
            for (i, (id, value)) in new.iter().enumerate() {
                match previous(id).and_then(|k| Some((k, written.get(k)?))) {
                    Some((k, table)) if old[k].1 == *value => out.push(table.clone()),
                    was => {
                        let mut t = fresh_tables.get(i).cloned().unwrap_or_default();
                        unposition_table(&mut t);
                        if let Some((_, table)) = was {
                            *t.decor_mut() = table.decor().clone();
                        }
                        out.push(t);
                    }
                }
            }
            doc.insert(key, Item::ArrayOfTables(out));
        }
        Some(Item::Value(Value::Array(written))) => {
            // `south = [{ … }, { … }]`: the same, with inline tables.
            let mut out = Array::new();
            for (i, (id, value)) in new.iter().enumerate() {
                match previous(id).and_then(|k| Some((k, written.get(k)?))) {
                    Some((k, v)) if old[k].1 == *value => out.push_formatted(v.clone()),
                    was => {
                        let t = fresh_tables.get(i).cloned().unwrap_or_default();
                        let mut inline = t.into_inline_table();
                        inline.fmt();
                        let mut v = Value::InlineTable(inline);
                        match was {
                            Some((_, old)) => *v.decor_mut() = old.decor().clone(),
                            None => v.decor_mut().set_prefix("\n  "),
                        }
                        out.push_formatted(v);
                    }
                }
            }
            out.set_trailing("\n");
            out.set_trailing_comma(true);
            doc.insert(key, Item::Value(Value::Array(out)));
        }
        _ if new.is_empty() => {
            doc.remove(key);
        }
        _ => replace(doc, fresh, key),
    }
}

/// Lets the tables of an item taken from another document follow the one before them.
fn unposition(item: &mut Item) {
    match item {
        Item::Table(t) => unposition_table(t),
        Item::ArrayOfTables(a) => a.iter_mut().for_each(unposition_table),
        _ => {}
    }
}

fn unposition_table(t: &mut Table) {
    t.set_position(None);
    for (_, item) in t.iter_mut() {
        unposition(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# Plant 7 gateway: owned by the process team.
[engine]
name = "plant-7"   # shown in the status

[[scan_modes]]
name = "fast"
cron = "* * * * * *"

# The PLC of line 1 (do not read faster than 1 s).
[[south]]
id = "plc-1"
type = "modbus"
settings = { host = "10.0.0.1", port = 502 }
[[south.items]]
name = "speed"
scan_mode = "fast"
settings = { register = "holding-register", address = 0 }

# Line 2.
[[south]]
id = "plc-2"
type = "modbus"
settings = { host = "10.0.0.2" }

# Archive everything under the data folder.
[[north]]
id = "files"
type = "file-writer"
settings = { folder = "${data_dir}/out" }
"#;

    fn vars() -> Vec<(&'static str, String)> {
        vec![("data_dir", "/var/lib/oibus".to_string())]
    }

    fn loaded() -> Config {
        let mut c: Config = toml::from_str(FILE).unwrap();
        expand_variables(&mut c, &vars());
        c
    }

    #[test]
    fn an_unchanged_configuration_keeps_its_text() {
        assert_eq!(rewrite(FILE, &loaded(), &vars()).unwrap(), FILE);
    }

    #[test]
    fn a_changed_connector_is_rewritten_and_the_rest_kept_word_for_word() {
        let mut c = loaded();
        c.south[1].settings = serde_json::json!({"host": "10.0.0.22"});
        let text = rewrite(FILE, &c, &vars()).unwrap();
        // Everything before plc-2 and the North with its variable are as written.
        let head = FILE.split("# Line 2.").next().unwrap();
        assert!(text.starts_with(head), "{text}");
        assert!(text.contains("# Line 2.\n[[south]]\n"), "{text}");
        assert!(
            text.contains("10.0.0.22") && !text.contains("10.0.0.2\""),
            "{text}"
        );
        assert!(
            text.contains("# Archive everything under the data folder.\n[[north]]"),
            "{text}"
        );
        assert!(text.contains("${data_dir}/out"), "{text}");
        // What is written reads back as the new configuration.
        let mut back: Config = toml::from_str(&text).unwrap();
        expand_variables(&mut back, &vars());
        assert_eq!(json(&back), json(&c));
    }

    #[test]
    fn a_changed_connector_with_sub_tables_keeps_them_under_its_own_header() {
        let mut c = loaded();
        std::sync::Arc::make_mut(&mut c.south[0].items)[0].name = "line-speed".into();
        c.south[0].settings = serde_json::json!({"host": "10.0.0.11", "port": 1502});
        let text = rewrite(FILE, &c, &vars()).unwrap();
        let mut back: Config = toml::from_str(&text).unwrap();
        expand_variables(&mut back, &vars());
        assert_eq!(json(&back), json(&c), "{text}");
        assert!(
            text.contains("# The PLC of line 1 (do not read faster than 1 s).\n[[south]]"),
            "{text}"
        );
        assert!(text.find("line-speed") < text.find("# Line 2."), "{text}");
    }

    #[test]
    fn connectors_are_added_and_deleted_in_place() {
        let mut c = loaded();
        c.south.remove(0);
        let mut extra = c.north[0].clone();
        extra.id = "more-files".into();
        c.north.push(extra);
        let text = rewrite(FILE, &c, &vars()).unwrap();
        assert!(
            !text.contains("plc-1") && !text.contains("do not read faster"),
            "{text}"
        );
        assert!(text.starts_with("# Plant 7 gateway"), "{text}");
        assert!(
            text.contains("name = \"plant-7\"   # shown in the status"),
            "{text}"
        );
        let mut back: Config = toml::from_str(&text).unwrap();
        expand_variables(&mut back, &vars());
        assert_eq!(json(&back), json(&c));
        assert!(
            text.find("id = \"files\"") < text.find("id = \"more-files\""),
            "{text}"
        );
    }

    #[test]
    fn inline_lists_of_connectors_stay_inline() {
        let file = "south = [\n  { id = \"a\", type = \"simulator\" }, # first\n  { id = \"b\", type = \"simulator\" },\n]\n";
        let mut c: Config = toml::from_str(file).unwrap();
        c.south[1].enabled = false;
        let text = rewrite(file, &c, &[]).unwrap();
        assert!(
            text.contains("{ id = \"a\", type = \"simulator\" }, # first"),
            "{text}"
        );
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(json(&back), json(&c));
    }

    #[test]
    fn text_that_is_not_a_configuration_is_replaced() {
        let c = loaded();
        let text = rewrite("not = [toml", &c, &vars()).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(json(&back), json(&c));
    }
}
