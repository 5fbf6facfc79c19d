//! How the commands that look at plugin files (`plugins list`, `plugins inspect`,
//! `test-connection`…) load them.

use std::path::PathBuf;

/// How `plugins list`, `plugins inspect` and `test-connection` load files: the signature policy
/// `warn` with the keys of `<data>/trusted-keys`, and every file opened first in a throwaway
/// process, so that no file's code runs in this one before it has been seen to load.
pub fn inspection_options(
    data: Option<&PathBuf>,
) -> anyhow::Result<oibus_engine::loader::LoadOptions> {
    let keys = data.map(|d| d.join("trusted-keys"));
    let trust = oibus_engine::loader::Trust::load(
        oibus_engine::loader::SignaturePolicy::Warn,
        keys.as_deref(),
        &[],
    )
    .map_err(anyhow::Error::msg)?;
    let exe = std::env::current_exe()?;
    Ok(oibus_engine::loader::LoadOptions {
        cache_dir: plugin_cache_dir(data),
        trust: std::sync::Arc::new(trust),
        probe: Some(oibus_engine::loader::Probe {
            prober: std::sync::Arc::new(oibus_engine::isolation::ChildProber::new(
                exe,
                oibus_engine::config::PluginsConfig::default()
                    .probe_timeout
                    .0,
                None,
            )),
            always: true,
        }),
    })
}

/// Where shadow copies of plugins go: the data folder's, or without one a folder of this user's
/// own (`$XDG_CACHE_HOME/oibus/plugin-cache`, `~/.cache/oibus/plugin-cache`), never a folder
/// shared with other users. The loader checks that it is private before each use.
pub fn plugin_cache_dir(data: Option<&PathBuf>) -> PathBuf {
    if let Some(d) = data {
        return d.join("plugin-cache");
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(cache) = env("XDG_CACHE_HOME") {
        return cache.join("oibus").join("plugin-cache");
    }
    if let Some(home) = env("HOME").or_else(|| env("USERPROFILE")) {
        return home.join(".cache").join("oibus").join("plugin-cache");
    }
    // No home: a folder named after this user in the temporary folder, checked private.
    let user = oibus_platform::private::user_tag();
    std::env::temp_dir().join(format!("oibus-plugin-cache-{user}"))
}
