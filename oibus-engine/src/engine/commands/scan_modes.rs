//! The scan modes: listed, created or replaced, deleted; checked, saved, applied. A replaced
//! mode restarts the running Souths whose items use it (their timers are made from it); a mode
//! that items use cannot be deleted.

use super::{connectors::commit_config, refusal::CommandError};
use crate::{
    config::{ScanModeConfig, limits::quoted},
    engine::{running::Engine, status::State},
};

/// The Souths (and one item of each) whose items use scan mode `name`.
fn users(engine: &Engine, name: &str) -> Vec<(String, String)> {
    engine
        .config
        .south
        .iter()
        .filter_map(|s| {
            let item = s.items.iter().find(|i| i.scan_mode == name)?;
            Some((s.id.clone(), item.name.clone()))
        })
        .collect()
}

/// Creates scan mode `mode`, or replaces the one of its name.
pub(super) async fn put(engine: &mut Engine, mode: ScanModeConfig) -> Result<(), CommandError> {
    let mut candidate = engine.config.clone();
    let replaced = match candidate
        .scan_modes
        .iter_mut()
        .find(|m| m.name == mode.name)
    {
        Some(m) => {
            *m = mode.clone();
            true
        }
        None => {
            candidate.scan_modes.push(mode.clone());
            false
        }
    };
    commit_config(engine, candidate)?;
    engine.shared.scan_modes = engine.config.scan_modes.clone();
    if !replaced {
        return Ok(());
    }
    // Running Souths read their timers from the mode when they start: start them again.
    let using: Vec<String> = users(engine, &mode.name)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    for i in 0..engine.slots.len() {
        let slot = &engine.slots[i];
        if !slot.is_south() || !using.iter().any(|id| id == slot.id()) || slot.plugin().is_none() {
            continue;
        }
        engine.slots[i].stop(State::Stopped).await;
        if let Err(e) = engine.start_slot(i) {
            tracing::warn!(
                "scan mode {} changed: South {} did not start again: {e}",
                quoted(&mode.name),
                engine.slots[i].id()
            );
        }
    }
    Ok(())
}

/// Deletes scan mode `name`, unless items use it.
pub(super) fn delete(engine: &mut Engine, name: &str) -> Result<(), CommandError> {
    if !engine.config.scan_modes.iter().any(|m| m.name == name) {
        return Err(CommandError::not_found(format!(
            "no scan mode {}",
            quoted(name)
        )));
    }
    let using = users(engine, name);
    if !using.is_empty() {
        return Err(CommandError::conflict(format!(
            "scan mode {} is used by {}: give those items another scan mode first",
            quoted(name),
            using
                .iter()
                .take(5)
                .map(|(s, i)| format!("South {s} (item {})", quoted(i)))
                .chain((using.len() > 5).then(|| format!("{} more Souths", using.len() - 5)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut candidate = engine.config.clone();
    candidate.scan_modes.retain(|m| m.name != name);
    commit_config(engine, candidate)?;
    engine.shared.scan_modes = engine.config.scan_modes.clone();
    Ok(())
}
