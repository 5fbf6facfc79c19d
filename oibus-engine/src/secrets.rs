//! Secrets: settings whose schema says `"writeOnly": true`, such as passwords. They never leave
//! the gateway: the admin API leaves them out of what it answers and keeps them when a
//! replacement leaves them out (to clear one, send it as `null` or `""`), and validation
//! messages show `"***"` in their place. A leaf: it uses nothing of the crate.

use serde_json::Value;

/// The schema a `$ref` of `root` (`#/$defs/Name`) points at.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..16 {
        let Some(target) = s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
        else {
            break;
        };
        s = target;
    }
    s
}

/// Whether `value` can be an instance of the alternative `schema`: none of its `const`
/// properties says otherwise (the tag of a tagged union picks its variant).
fn fits(schema: &Value, value: &Value) -> bool {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return true;
    };
    props
        .iter()
        .all(|(k, p)| match (p.get("const"), value.get(k)) {
            (Some(c), Some(v)) => c == v,
            _ => true,
        })
}

/// What to do with a secret: its key, the object holding it, and the same object's value before.
type OnSecret<'a> = dyn FnMut(&str, &mut serde_json::Map<String, Value>, Option<&Value>) + 'a;

/// Calls `on_secret(key, object)` for every secret of `value`, and descends into the rest.
fn walk(
    schema: &Value,
    root: &Value,
    value: &mut Value,
    old: Option<&Value>,
    depth: u32,
    on_secret: &mut OnSecret<'_>,
) {
    if depth > 32 {
        return;
    }
    let schema = resolve(schema, root);
    for key in ["anyOf", "oneOf", "allOf"] {
        for alternative in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let alternative = resolve(alternative, root);
            if fits(alternative, value) {
                walk(alternative, root, value, old, depth + 1, on_secret);
            }
        }
    }
    if let (Some(props), Some(object)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object_mut(),
    ) {
        for (key, prop) in props {
            let prop = resolve(prop, root);
            let before = old.and_then(|o| o.get(key));
            if prop.get("writeOnly") == Some(&Value::Bool(true)) {
                on_secret(key, object, before);
            } else if let Some(child) = object.get_mut(key) {
                walk(prop, root, child, before, depth + 1, on_secret);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array_mut()) {
        for (i, element) in array.iter_mut().enumerate() {
            let before = old.and_then(|o| o.get(i));
            walk(items, root, element, before, depth + 1, on_secret);
        }
    }
}

/// Leaves the secrets out of `value` (settings of the `schema`).
pub fn hide(schema: &Value, value: &mut Value) {
    walk(schema, schema, value, None, 0, &mut |key, object, _| {
        object.remove(key);
    });
}

/// Whether a setting's name says it is a secret: how secrets are recognised when the schema of
/// their type is not known (its plugin is missing or refused).
fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passphrase",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|s| k == *s || k.ends_with(&format!("_{s}")))
}

/// Calls `on_secret` for every member of `value`, at any depth, whose name says it is a secret.
fn walk_names(value: &mut Value, old: Option<&Value>, depth: u32, on_secret: &mut OnSecret<'_>) {
    if depth > 32 {
        return;
    }
    match value {
        Value::Object(object) => {
            let keys: Vec<String> = object.keys().cloned().collect();
            let secrets = old
                .and_then(Value::as_object)
                .map(|o| {
                    o.keys()
                        .filter(|k| secret_name(k))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            for key in keys.iter().chain(&secrets) {
                let before = old.and_then(|o| o.get(key));
                if secret_name(key) {
                    on_secret(key, object, before);
                } else if let Some(child) = object.get_mut(key) {
                    walk_names(child, before, depth + 1, on_secret);
                }
            }
        }
        Value::Array(array) => {
            for (i, element) in array.iter_mut().enumerate() {
                walk_names(element, old.and_then(|o| o.get(i)), depth + 1, on_secret);
            }
        }
        _ => {}
    }
}

/// Leaves out of `value` the members whose name says they are secrets (the schema unknown).
pub fn hide_by_name(value: &mut Value) {
    walk_names(value, None, 0, &mut |key, object, _| {
        object.remove(key);
    });
}

/// Puts back into `value` the members of `old` whose name says they are secrets and that
/// `value` leaves out (the schema unknown).
pub fn keep_by_name(value: &mut Value, old: &Value) {
    walk_names(value, Some(old), 0, &mut |key, object, before| {
        if !object.contains_key(key)
            && let Some(before) = before
        {
            object.insert(key.to_string(), before.clone());
        }
    });
}

/// The text of every secret of `value` (settings of the `schema`).
pub fn values(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut copy = value.clone();
    walk(schema, schema, &mut copy, None, 0, &mut |key, object, _| {
        if let Some(Value::String(s)) = object.get(key)
            && !s.is_empty()
        {
            found.push(s.clone());
        }
    });
    found
}

/// `text` with each of `secrets` (from [`values`]) written as `"***"` where it is quoted, as
/// JSON writes strings.
pub fn redact(secrets: &[String], text: &str) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if let Ok(quoted) = serde_json::to_string(secret) {
            out = out.replace(&quoted, "\"***\"");
        }
    }
    out
}

/// Puts back into `value` the secrets of `old` that `value` leaves out.
pub fn keep(schema: &Value, value: &mut Value, old: &Value) {
    walk(
        schema,
        schema,
        value,
        Some(old),
        0,
        &mut |key, object, before| {
            if !object.contains_key(key)
                && let Some(before) = before
            {
                object.insert(key.to_string(), before.clone());
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$defs": {
                "Auth": {"oneOf": [
                    {"properties": {"type": {"const": "anonymous"}}},
                    {"properties": {"type": {"const": "username"}, "username": {"type": "string"},
                                    "password": {"type": "string", "writeOnly": true}}}
                ]},
                "Broker": {"properties": {"password": {"type": ["string", "null"], "writeOnly": true},
                                          "host": {"type": "string"}}}
            },
            "properties": {
                "broker": {"$ref": "#/$defs/Broker"},
                "authentication": {"$ref": "#/$defs/Auth"},
                "servers": {"type": "array", "items": {"$ref": "#/$defs/Broker"}}
            }
        })
    }

    #[test]
    fn secrets_are_left_out_at_every_depth() {
        let mut v = json!({
            "broker": {"host": "h", "password": "p1"},
            "authentication": {"type": "username", "username": "u", "password": "p2"},
            "servers": [{"host": "a", "password": "p3"}]
        });
        hide(&schema(), &mut v);
        assert!(!v.to_string().contains("\"p"), "{v}");
        assert_eq!(v["broker"]["host"], "h");
        assert_eq!(v["authentication"]["username"], "u");
    }

    #[test]
    fn without_a_schema_secrets_are_known_by_their_names() {
        let mut v =
            json!({"broker": {"host": "h", "password": "p1"}, "api_token": "t", "tokens": 3});
        let old = v.clone();
        hide_by_name(&mut v);
        assert_eq!(v, json!({"broker": {"host": "h"}, "tokens": 3}));
        keep_by_name(&mut v, &old);
        assert_eq!(v, old);
    }

    #[test]
    fn a_replacement_without_its_secrets_keeps_them_and_null_clears_them() {
        let old = json!({
            "broker": {"host": "h", "password": "p1"},
            "authentication": {"type": "username", "username": "u", "password": "p2"}
        });
        let mut new = json!({
            "broker": {"host": "h2"},
            "authentication": {"type": "username", "username": "v"}
        });
        keep(&schema(), &mut new, &old);
        assert_eq!(new["broker"]["password"], "p1");
        assert_eq!(new["authentication"]["password"], "p2");
        let mut cleared = json!({"broker": {"host": "h", "password": null}});
        keep(&schema(), &mut cleared, &old);
        assert_eq!(cleared["broker"]["password"], Value::Null);
        // A variant without a password gets none from the old one.
        let mut anonymous = json!({"authentication": {"type": "anonymous"}});
        keep(&schema(), &mut anonymous, &old);
        assert_eq!(anonymous["authentication"], json!({"type": "anonymous"}));
    }
}
