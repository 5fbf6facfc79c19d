//! Watching the plugins folder: which events can mean a plugin file changed, and how often an
//! idle engine looks anyway.

use notify::{RecursiveMode, Watcher as _};
use std::{path::Path, time::Duration};
use tokio::sync::mpsc;

/// How often an idle engine looks at its plugins folder without any event: a safety net for file
/// systems whose events do not reach the watcher (network shares).
pub const SAFETY_INTERVAL: Duration = Duration::from_secs(30);

/// Whether a folder event can mean a plugin file changed. Reads are not changes: the engine's
/// own rescans open the folder and the files, and their events must not wake it again.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watches `dir`; every change sends a unit on the returned channel. Keep the watcher alive.
pub fn watch(dir: &Path) -> notify::Result<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
    let (tx, rx) = mpsc::channel(16);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| is_change(&e.kind)) {
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok((watcher, rx))
}
