//! The bounds on the texts of a request (ids, names, settings, items): a text past its bound is
//! refused with a pointer to it, before anything is validated or saved.

use super::{refusal::PointedProblem, request::ConnectorConfig};
use crate::config::limits;

/// A text of `len` bytes at `pointer`, as a problem when it is longer than `max`.
pub(super) fn too_long(
    pointer: String,
    what: &str,
    len: usize,
    max: usize,
) -> Option<PointedProblem> {
    (len > max).then(|| PointedProblem {
        pointer,
        message: limits::too_long(what, len, max),
    })
}

/// The texts of settings `value`, at `prefix`, longer than a setting may hold.
pub(super) fn long_settings<'a>(
    prefix: &'a str,
    value: &serde_json::Value,
) -> impl Iterator<Item = PointedProblem> + 'a {
    let max = limits::MAX_SETTING;
    limits::long_texts(value, max)
        .into_iter()
        .filter_map(move |(pointer, len)| {
            too_long(format!("{prefix}{pointer}"), "a text", len, max)
        })
}

/// An item's name, scan mode and settings texts past their bounds, at `prefix` (`/items/3`,
/// `/item`).
pub(super) fn long_item(
    prefix: &str,
    name: &str,
    scan_mode: &str,
    settings: &serde_json::Value,
) -> Vec<PointedProblem> {
    use limits::MAX_NAME;
    let named = [
        too_long(
            format!("{prefix}/name"),
            "an item name",
            name.len(),
            MAX_NAME,
        ),
        too_long(
            format!("{prefix}/scan_mode"),
            "a scan mode",
            scan_mode.len(),
            MAX_NAME,
        ),
    ];
    let settings_at = format!("{prefix}/settings");
    named
        .into_iter()
        .flatten()
        .chain(long_settings(&settings_at, settings))
        .collect()
}

/// The texts of a connector longer than the engine takes (its id, item names, every text of
/// its settings), by pointer.
pub(super) fn long_texts(connector: &ConnectorConfig) -> Vec<PointedProblem> {
    use limits::{MAX_ID, MAX_NAME};
    let (id, type_id, settings) = match connector {
        ConnectorConfig::South(s) => (&s.id, &s.type_id, &s.settings),
        ConnectorConfig::North(n) => (&n.id, &n.type_id, &n.settings),
    };
    let mut problems: Vec<PointedProblem> = [
        too_long("/id".into(), "an id", id.len(), MAX_ID),
        too_long("/type".into(), "a type", type_id.len(), MAX_NAME),
    ]
    .into_iter()
    .flatten()
    .chain(long_settings("/settings", settings))
    .collect();
    if let ConnectorConfig::South(s) = connector {
        for (i, item) in s.items.iter().enumerate() {
            problems.extend(long_item(
                &format!("/items/{i}"),
                &item.name,
                &item.scan_mode,
                &item.settings.value(),
            ));
        }
    }
    problems
}
