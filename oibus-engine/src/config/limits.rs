//! Bounds of the strings a user or the API sets (ids, names, every text of the settings), so
//! that none grows without limit in the configuration, the store, the logs or an error; and how
//! a user's text is quoted in a message: cut, with its length said.

/// Longest connector id (it names the connector's folders in the data folder).
pub const MAX_ID: usize = 128;

/// Longest item name or scan mode name, in bytes.
pub const MAX_NAME: usize = 512;

/// Longest text one setting may hold (a path, a topic, a point id, a query, a template), and
/// longest key of a settings object, in bytes: 64 KiB.
pub const MAX_SETTING: usize = 64 * 1024;

/// Shortest bearer token: 16 characters, so that with the API's limit on wrong tokens (a few
/// a minute per address) a token chosen at random is never found by trying.
pub const MIN_TOKEN: usize = 16;

/// Longest bearer token.
pub const MAX_TOKEN: usize = 1024;

/// Why `token` cannot be a bearer token: too short or long, or with characters an HTTP header
/// cannot carry (spaces and controls included); `None` if it can.
pub fn bad_token(token: &str) -> Option<String> {
    if token.len() < MIN_TOKEN {
        return Some(format!(
            "a token of {} characters is too short: at least {MIN_TOKEN} are needed (remove the \
             line to have one generated at random)",
            token.chars().count()
        ));
    }
    if token.len() > MAX_TOKEN {
        return Some(too_long("a token", token.len(), MAX_TOKEN));
    }
    if let Some(c) = token.chars().find(|c| !c.is_ascii_graphic()) {
        return Some(format!(
            "a token holds only visible ASCII characters, not {c:?}"
        ));
    }
    None
}

/// Why `host` is not a host name (letters, digits, `-`, `_` and `.`, at most 253 bytes, no scheme,
/// port or path), or `*`; `None` if it is.
pub fn bad_host_name(host: &str) -> Option<String> {
    if host == "*" {
        return None;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if host.len() > 253 || !name.split('.').all(label_ok) {
        return Some(format!(
            "{} is not a host name: give the name alone (gateway.plant.example), without \
             scheme, port or path, or \"*\" for any",
            quoted(host)
        ));
    }
    None
}

/// Characters of a user's text quoted in a message.
const QUOTED: usize = 64;

/// `text` quoted for a message; past [`QUOTED`] characters it is cut, with its length said
/// (`"aaaa…" (1048576 bytes)`).
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?} ({} bytes)", format!("{}…", &text[..end]), text.len()),
    }
}

/// The message for a text of `len` bytes where `max` fit.
pub fn too_long(what: &str, len: usize, max: usize) -> String {
    format!("{what} of {len} bytes is longer than the {max} bytes allowed")
}

/// The texts of `value` (string values and object keys) longer than `max` bytes: the JSON
/// pointer of each (a key's is its object's, with the key cut) and its length.
pub fn long_texts(value: &serde_json::Value, max: usize) -> Vec<(String, usize)> {
    fn walk(v: &serde_json::Value, at: &mut String, max: usize, out: &mut Vec<(String, usize)>) {
        match v {
            serde_json::Value::String(s) if s.len() > max => out.push((at.clone(), s.len())),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(item, at, max, out);
                    at.truncate(len);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    if key.len() > max {
                        out.push((at.clone(), key.len()));
                        continue;
                    }
                    let len = at.len();
                    at.push('/');
                    at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    walk(item, at, max, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), max, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_long_text_is_quoted_cut_with_its_length() {
        assert_eq!(quoted("plc-1"), "\"plc-1\"");
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert!(q.starts_with(&format!("\"{}…\"", "é".repeat(64))), "{q}");
        assert!(q.ends_with("(200 bytes)"), "{q}");
    }

    #[test]
    fn long_texts_are_found_by_pointer_keys_included() {
        let big = "x".repeat(20);
        let value = json!({
            "folder": big,
            "ok": "short",
            "nodes": {"a/b": big, big.clone(): "key too long"},
            "list": [1, "y", big],
        });
        let mut found = long_texts(&value, 10);
        found.sort();
        assert_eq!(
            found,
            [
                ("/folder".to_string(), 20),
                ("/list/2".to_string(), 20),
                ("/nodes".to_string(), 20),
                ("/nodes/a~1b".to_string(), 20),
            ]
        );
        assert!(long_texts(&json!({"a": "b"}), 10).is_empty());
    }

    #[test]
    fn tokens_are_long_enough_and_fit_in_a_header() {
        assert!(bad_token("1").unwrap().contains("too short"));
        assert!(bad_token(&"a".repeat(15)).is_some());
        assert_eq!(bad_token(&"a".repeat(16)), None);
        assert!(bad_token(&format!("{}\n", "a".repeat(20))).is_some());
        assert!(bad_token(&format!("{} x", "a".repeat(20))).is_some());
        assert!(bad_token(&"é".repeat(20)).is_some());
        assert!(bad_token(&"a".repeat(MAX_TOKEN + 1)).is_some());
    }

    #[test]
    fn host_names_are_names_alone() {
        for ok in [
            "*",
            "localhost",
            "gateway.plant.example",
            "gw-1",
            "gw-1.example.",
            "gw_1",
        ] {
            assert_eq!(bad_host_name(ok), None, "{ok}");
        }
        for bad in [
            "",
            "http://gw",
            "gw:2223",
            "gw/x",
            "-gw",
            "a..b",
            "é.example",
        ] {
            assert!(bad_host_name(bad).is_some(), "{bad}");
        }
    }
}
