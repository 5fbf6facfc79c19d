//! What the status says of each plugin version loaded in the engine's process: which, how big,
//! in use or forced, who signed it, and its runtime's health.

use crate::loader::LoadedPlugin;
use serde::Serialize;

/// One plugin version loaded in this process (mapped until it exits).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LoadedVersion {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Bytes of its library file, mapped in the process.
    pub bytes: u64,
    /// Whether connectors use it now.
    pub in_use: bool,
    /// Whether it is in use because an operator forced it (`oibus plugins force`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// Who signed its file: the key id, `unsigned`, `untrusted <key id>`, `-` (not checked).
    #[serde(default)]
    pub signer: String,
    /// Its runtime in the engine's process, when it is open there (isolated connectors run in
    /// child processes of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<PluginRuntime>,
    /// The plugin, to read its runtime's state when the status is taken.
    #[serde(skip)]
    pub plugin: Option<LoadedPlugin>,
}

/// The state of a plugin's runtime in the engine's process.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PluginRuntime {
    /// Calls that timed out whose threads are still blocked in the plugin's code.
    pub stuck_calls: u32,
    /// Times the plugin's SDK replaced its runtime so that its other connectors go on.
    pub replacements: u32,
    /// Worker threads of its runtime.
    pub threads: u32,
    /// Whether threads are stuck now (the plugin works, on a replaced runtime; the stuck threads
    /// are lost until the engine restarts).
    pub degraded: bool,
}

impl LoadedVersion {
    /// Reads its runtime's state now.
    pub fn refresh(&mut self) {
        self.runtime = self
            .plugin
            .as_ref()
            .and_then(LoadedPlugin::runtime_health)
            .map(|h| PluginRuntime {
                stuck_calls: h.stuck_calls,
                replacements: h.replacements,
                threads: h.threads,
                degraded: h.stuck_calls > 0,
            });
    }
}
