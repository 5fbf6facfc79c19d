//! A South's items in a CSV file beside the configuration (`items_file = "plc-items.csv"`), as
//! plants keep and exchange their tag lists: 100,000 items are read as a stream, row by row,
//! without a 10 MB TOML document to parse (which costs about 50 times its size in memory).
//!
//! The first row names the columns: `name`, `scan_mode` and `enabled` (optional, `true` when
//! empty) are the item's own; every other column is a setting, dots naming nested ones
//! (`signal.type`). An empty cell leaves its setting out. Commas or semicolons separate the
//! cells (the header says which: a spreadsheet in a French locale writes semicolons).
//!
//! Cells are text. When the South runs (and when it is validated), each one becomes what the
//! plugin's item schema asks for there: a number, a boolean, or, for an object or a list, the
//! JSON it holds; text stays text.

use super::{json_text::JsonText, problem::Problem, types::ItemConfig};
use serde_json::{Map, Value};
use std::path::Path;

/// The columns that are the item's own; every other column is a setting.
const NAME: &str = "name";
const SCAN_MODE: &str = "scan_mode";
const ENABLED: &str = "enabled";

/// Where row `row` of `file` is, in a problem's location (the header is row 1).
pub fn row_location(file: &str, row: usize) -> String {
    format!("{file} row {row}")
}

/// Reads the items of `path` (`shown` names it in problems). Every problem is reported, each
/// with its row.
pub fn read(path: &Path, shown: &str) -> Result<Vec<ItemConfig>, Vec<Problem>> {
    let problem = |location: String, message: String| Problem { location, message };
    let bytes = std::fs::read(path)
        .map_err(|e| vec![problem(shown.to_string(), format!("cannot read: {e}"))])?;
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::Headers)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| vec![problem(shown.to_string(), e.to_string())])?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(name_at), Some(mode_at)) = (column(NAME), column(SCAN_MODE)) else {
        return Err(vec![problem(
            row_location(shown, 1),
            format!(
                "the header must name the columns {NAME:?} and {SCAN_MODE:?} (it has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        )]);
    };
    let enabled_at = column(ENABLED);
    let settings_at: Vec<(usize, Vec<&str>)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| ![NAME, SCAN_MODE, ENABLED].contains(h))
        .map(|(i, h)| (i, h.split('.').collect()))
        .collect();
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(0, |p| p.line() as usize);
                problems.push(problem(row_location(shown, row), csv_message(&e)));
                continue;
            }
        };
        let row = record.position().map_or(0, |p| p.line() as usize);
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let name = cell(name_at).trim();
        if name.is_empty() {
            problems.push(problem(row_location(shown, row), "no name".into()));
            continue;
        }
        let enabled = match enabled_at.map(|i| cell(i).trim().to_ascii_lowercase()) {
            None => true,
            Some(e) if e.is_empty() || e == "true" || e == "1" || e == "yes" => true,
            Some(e) if e == "false" || e == "0" || e == "no" => false,
            Some(e) => {
                problems.push(problem(
                    format!("{} {name:?} {ENABLED}", row_location(shown, row)),
                    format!("{e:?} is not true or false"),
                ));
                continue;
            }
        };
        let mut settings = Map::new();
        for (i, path) in &settings_at {
            let text = cell(*i);
            if !text.is_empty() {
                set(&mut settings, path, text);
            }
        }
        items.push(ItemConfig {
            name: name.to_string(),
            enabled,
            scan_mode: cell(mode_at).trim().to_string(),
            settings: JsonText::from_value(&Value::Object(settings)),
        });
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems)
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} cell(s) where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Sets `path` (`["signal", "type"]`) to `text` in `settings`.
fn set(settings: &mut Map<String, Value>, path: &[&str], text: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = settings;
    for p in parents {
        let entry = at
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        at = next;
    }
    at.insert(last.to_string(), Value::String(text.to_string()));
}

/// Writes `items` to `path` atomically (a temporary file made durable, then renamed), with a
/// column for every setting any item has.
pub fn write(path: &Path, items: &[ItemConfig]) -> std::io::Result<()> {
    let mut columns = std::collections::BTreeSet::new();
    let flat: Vec<Vec<(String, String)>> = items
        .iter()
        .map(|i| {
            let mut cells = Vec::new();
            flatten("", &i.settings.value(), &mut cells);
            columns.extend(cells.iter().map(|(k, _)| k.clone()));
            cells
        })
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = [NAME, SCAN_MODE, ENABLED]
        .into_iter()
        .chain(columns.iter().map(String::as_str))
        .collect();
    out.write_record(&header)?;
    for (item, cells) in items.iter().zip(flat) {
        let cells: std::collections::HashMap<_, _> = cells.into_iter().collect();
        let mut row = vec![
            item.name.clone(),
            item.scan_mode.clone(),
            item.enabled.to_string(),
        ];
        row.extend(
            columns
                .iter()
                .map(|c| cells.get(c).cloned().unwrap_or_default()),
        );
        out.write_record(&row)?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    crate::whole_file::write(path, &bytes, "csv.tmp")
}

/// The cells of `value` under `prefix`: a leaf's text (a string as it is, other values as JSON).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(m) if !m.is_empty() || prefix.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// `settings` read from cells, each text turned into what `schema` (an item schema) asks for
/// at its place: a number, a boolean, an object or a list. Text that is not what the schema
/// asks for stays text, for validation to report.
pub fn typed(settings: &JsonText, schema: &Value) -> JsonText {
    let mut v = settings.value();
    coerce(&mut v, &[schema], schema);
    JsonText::from_value(&v)
}

/// Deepest `$ref` chain followed (a recursive schema ends there).
const MAX_DEPTH: usize = 16;

fn coerce<'a>(value: &mut Value, schemas: &[&'a Value], root: &'a Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let mut under = Vec::new();
                for s in schemas {
                    properties(s, root, key, 0, &mut under);
                }
                coerce(v, &under, root);
            }
        }
        Value::String(text) => {
            let mut wanted = Vec::new();
            for s in schemas {
                types(s, root, 0, &mut wanted);
            }
            if wanted.is_empty() || wanted.contains(&"string") {
                return;
            }
            if let Some(v) = wanted.iter().find_map(|t| parse_as(text, t)) {
                *value = v;
            }
        }
        _ => {}
    }
}

fn parse_as(text: &str, wanted: &str) -> Option<Value> {
    let text = text.trim();
    match wanted {
        "integer" => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .ok(),
        "number" => text.parse::<i64>().map(Value::from).ok().or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
        }),
        "boolean" => match text.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "object" => serde_json::from_str(text).ok().filter(Value::is_object),
        "array" => serde_json::from_str(text).ok().filter(Value::is_array),
        _ => None,
    }
}

/// `schema` with its `$ref` followed (within `root`).
fn resolved<'a>(schema: &'a Value, root: &'a Value, depth: usize) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) if depth < MAX_DEPTH => {
            let target = root.pointer(r.strip_prefix('#')?)?;
            resolved(target, root, depth + 1)
        }
        Some(_) => None,
        None => Some(schema),
    }
}

/// The alternatives a schema offers (`allOf`, `anyOf`, `oneOf`), itself included.
fn alternatives(schema: &Value) -> impl Iterator<Item = &Value> {
    std::iter::once(schema).chain(
        ["allOf", "anyOf", "oneOf"]
            .into_iter()
            .filter_map(|k| schema.get(k).and_then(Value::as_array))
            .flatten(),
    )
}

/// The schemas of property `key` in `schema`, through every alternative.
fn properties<'a>(
    schema: &'a Value,
    root: &'a Value,
    key: &str,
    depth: usize,
    out: &mut Vec<&'a Value>,
) {
    let Some(schema) = resolved(schema, root, depth) else {
        return;
    };
    if let Some(p) = schema.get("properties").and_then(|p| p.get(key)) {
        out.push(p);
    }
    for alt in alternatives(schema).skip(1) {
        if depth < MAX_DEPTH {
            properties(alt, root, key, depth + 1, out);
        }
    }
}

/// The JSON types `schema` allows, from `type`, or from the values of `enum` and `const`.
fn types<'a>(schema: &'a Value, root: &'a Value, depth: usize, out: &mut Vec<&'a str>) {
    let Some(schema) = resolved(schema, root, depth) else {
        return;
    };
    match schema.get("type") {
        Some(Value::String(t)) => out.push(t),
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str)),
        _ => {
            let values = schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect::<Vec<_>>())
                .or_else(|| schema.get("const").map(|c| vec![c]))
                .unwrap_or_default();
            for v in values {
                out.push(json_type(v));
            }
        }
    }
    for alt in alternatives(schema).skip(1) {
        if depth < MAX_DEPTH {
            types(alt, root, depth + 1, out);
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;
