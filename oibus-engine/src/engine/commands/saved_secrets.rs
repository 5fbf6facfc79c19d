//! Secrets and commands: a configuration handed out has its secrets left out; a replacement, or
//! a test of a saved connector's settings, gets back the secrets it leaves out from the saved
//! connector. Done here, in the main loop, in the same step as the command itself, so that two
//! edits that overlap cannot fill one with the other's stale secrets.
//!
//! A secret is a `writeOnly` setting of the type's JSON Schema; without the schema (its plugin
//! missing or refused), a setting whose name says it is one (`crate::secrets`).

use super::request::ConnectorConfig;
use crate::{
    config::{Config, NorthConfig, SouthConfig},
    engine::running::Engine,
    secrets,
};
use oibus_plugin_api::ConnectorKind;
use serde_json::Value;
use std::sync::Arc;

/// The settings and item-settings schemas of `type_id`, if a loaded plugin offers it.
fn schemas<'e>(engine: &'e Engine, type_id: &str) -> Option<(&'e Value, Option<&'e Value>)> {
    engine
        .folder
        .registry
        .connector_type(type_id)
        .map(|(_, t)| (&t.settings_schema, t.item_schema.as_ref()))
}

/// Leaves the secrets out of `value`, per `schema` or, without one, per the settings' names.
fn hide(schema: Option<&Value>, value: &mut Value) {
    match schema {
        Some(schema) => secrets::hide(schema, value),
        None => secrets::hide_by_name(value),
    }
}

/// Puts back the secrets of `old` that `value` leaves out.
fn keep(schema: Option<&Value>, value: &mut Value, old: &Value) {
    match schema {
        Some(schema) => secrets::keep(schema, value, old),
        None => secrets::keep_by_name(value, old),
    }
}

/// A South without its secrets, its items' included.
fn shown_south(engine: &Engine, mut s: SouthConfig) -> SouthConfig {
    let known = schemas(engine, &s.type_id);
    hide(known.map(|k| k.0), &mut s.settings);
    for item in Arc::make_mut(&mut s.items) {
        item.settings.update(|v| hide(known.and_then(|k| k.1), v));
    }
    s
}

/// A North without its secrets.
fn shown_north(engine: &Engine, mut n: NorthConfig) -> NorthConfig {
    hide(schemas(engine, &n.type_id).map(|k| k.0), &mut n.settings);
    n
}

/// The engine's configuration as a front end may show it: every secret left out.
pub(super) fn shown_config(engine: &Engine) -> Config {
    let mut config = engine.config.clone();
    config.south = config
        .south
        .into_iter()
        .map(|s| shown_south(engine, s))
        .collect();
    config.north = config
        .north
        .into_iter()
        .map(|n| shown_north(engine, n))
        .collect();
    config
}

/// Fills the secrets that `settings` (and the named items' settings) leave out from the saved
/// connector `saved` of this kind and type: a form of a saved connector never holds its secrets,
/// and a test of it must still have them. No saved connector named, or none of that id and
/// type: unchanged.
pub(super) fn fill_from_saved(
    engine: &Engine,
    saved: Option<&str>,
    kind: ConnectorKind,
    type_id: &str,
    settings: &mut Value,
    items: &mut [(&str, &mut Value)],
) {
    let Some(id) = saved else {
        return;
    };
    let known = schemas(engine, type_id);
    match kind {
        ConnectorKind::South => {
            let Some(old) = engine
                .config
                .south
                .iter()
                .find(|s| s.id == id && s.type_id == type_id)
            else {
                return;
            };
            keep(known.map(|k| k.0), settings, &old.settings);
            for (name, item) in items.iter_mut() {
                if let Some(before) = old.items.iter().find(|i| i.name == *name) {
                    keep(known.and_then(|k| k.1), item, &before.settings.value());
                }
            }
        }
        ConnectorKind::North => {
            if let Some(old) = engine
                .config
                .north
                .iter()
                .find(|n| n.id == id && n.type_id == type_id)
            {
                keep(known.map(|k| k.0), settings, &old.settings);
            }
        }
    }
}

/// A replacement keeps the secrets it leaves out from the connector it replaces.
pub(super) fn keep_in_replacement(engine: &Engine, connector: &mut ConnectorConfig) {
    match connector {
        ConnectorConfig::South(new) => {
            let items = Arc::make_mut(&mut new.items);
            let mut values: Vec<Value> = items.iter().map(|i| i.settings.value()).collect();
            let mut named: Vec<(&str, &mut Value)> = items
                .iter()
                .map(|i| i.name.as_str())
                .zip(values.iter_mut())
                .collect();
            fill_from_saved(
                engine,
                Some(&new.id),
                ConnectorKind::South,
                &new.type_id,
                &mut new.settings,
                &mut named,
            );
            for (item, value) in items.iter_mut().zip(values) {
                item.settings = value.into();
            }
        }
        ConnectorConfig::North(new) => fill_from_saved(
            engine,
            Some(&new.id),
            ConnectorKind::North,
            &new.type_id,
            &mut new.settings,
            &mut [],
        ),
    }
}
