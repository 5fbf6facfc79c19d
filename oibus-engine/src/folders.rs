//! Folders the engine hands to plugins (state, plugin data), made on their first use.

/// Creates a folder handed to a plugin on its first use. A failure is only logged: the plugin
/// gets the path and its own error, naming the path, when it writes there.
pub fn ensure_dir(dir: &std::path::Path) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!("cannot create {}: {e}", dir.display());
    }
}
