//! Finding a connector by kind and id, in the running engine or in a configuration.

use crate::{config::Config, engine::running::Engine};
use oibus_plugin_api::ConnectorKind;

pub(super) fn slot_index(engine: &Engine, kind: ConnectorKind, id: &str) -> Option<usize> {
    engine
        .slots
        .iter()
        .position(|s| s.id() == id && s.is_south() == (kind == ConnectorKind::South))
}

pub(super) fn exists(config: &Config, kind: ConnectorKind, id: &str) -> bool {
    match kind {
        ConnectorKind::South => config.south.iter().any(|s| s.id == id),
        ConnectorKind::North => config.north.iter().any(|n| n.id == id),
    }
}
