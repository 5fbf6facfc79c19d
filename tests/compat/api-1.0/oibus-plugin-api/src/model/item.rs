//! A South item: one thing to read (a tag, a register, a topic, a query).

use abi_stable::{StableAbi, std_types::RString};
use serde::{Deserialize, Serialize};

/// A South item as configured by the user, in OIBus's shape
/// `{name, enabled, scanMode, settings}`. `settings` is JSON text validated against the connector
/// type's item schema before the connector sees it; the SDK hands it to vendors already deserialized.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Item {
    /// Unique name inside its connector; also the default point id of the values it produces.
    pub name: RString,
    /// Disabled items are never queried.
    pub enabled: bool,
    /// The scan mode (a cron schedule name) this item is read on; `subscription` for subscriptions.
    pub scan_mode: RString,
    /// The item's settings, as JSON text.
    pub settings: RString,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemJson {
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    scan_mode: String,
    #[serde(default)]
    settings: serde_json::Value,
}

fn yes() -> bool {
    true
}

impl Serialize for Item {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let settings = serde_json::from_str(&self.settings).unwrap_or(serde_json::Value::Null);
        ItemJson {
            name: self.name.to_string(),
            enabled: self.enabled,
            scan_mode: self.scan_mode.to_string(),
            settings,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = ItemJson::deserialize(d)?;
        Ok(Self {
            name: j.name.into(),
            enabled: j.enabled,
            scan_mode: j.scan_mode.into(),
            settings: j.settings.to_string().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"name": "t1", "enabled": false, "scanMode": "every-second",
            "settings": {"signal": "sine"}});
        let item: Item = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(item.settings.as_str(), r#"{"signal":"sine"}"#);
        assert_eq!(serde_json::to_value(&item).unwrap(), j);
    }
}
