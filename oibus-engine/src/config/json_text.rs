//! A JSON value kept as its text: an item's settings, of which a South may have 100,000.
//!
//! As a `serde_json::Value`, `{ signal = { type = "sine" } }` takes two maps of about 630 bytes
//! each; as text it takes its 25 bytes. The plugin receives the settings as text anyway, so the
//! engine parses them only to validate them or to change them (the admin API).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A JSON value stored as compact JSON text (written by `serde_json`, so always valid).
///
/// ```
/// use oibus_engine::config::JsonText;
/// let t = JsonText::from_value(&serde_json::json!({ "signal": { "type": "sine" } }));
/// assert_eq!(t.as_str(), r#"{"signal":{"type":"sine"}}"#);
/// assert_eq!(t.value()["signal"]["type"], "sine");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct JsonText(Box<str>);

impl JsonText {
    /// The text of `value`.
    pub fn from_value(value: &Value) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    /// An empty object, `{}`.
    pub fn empty_object() -> Self {
        Self("{}".into())
    }

    /// The value, parsed anew (`null` if the text were not JSON, which it cannot be).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Changes the value with `f` and keeps the result.
    pub fn update(&mut self, f: impl FnOnce(&mut Value)) {
        let mut v = self.value();
        f(&mut v);
        *self = Self::from_value(&v);
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for JsonText {
    fn default() -> Self {
        Self::empty_object()
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl std::fmt::Debug for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| Self::from_value(&v))
    }
}

impl JsonSchema for JsonText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Value::schema_name()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_round_trips_through_toml_and_json() {
        #[derive(Deserialize, Serialize)]
        struct Item {
            settings: JsonText,
        }
        let item: Item =
            toml::from_str("settings = { signal = { type = \"sine\" }, n = 3 }").unwrap();
        assert_eq!(item.settings.value()["signal"]["type"], "sine");
        assert_eq!(item.settings.value()["n"], 3);
        let back = toml::to_string(&item).unwrap();
        let again: Item = toml::from_str(&back).unwrap();
        assert!(again.settings == item.settings, "{back}");
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["settings"]["signal"]["type"], "sine");
    }

    #[test]
    fn an_update_is_kept() {
        let mut t = JsonText::empty_object();
        t.update(|v| v["password"] = "x".into());
        assert_eq!(t.as_str(), r#"{"password":"x"}"#);
    }
}
