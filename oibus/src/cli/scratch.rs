//! What `oibus test-connection` and `oibus test-item` share: the arguments that name a connector
//! type and its settings, and the plugins, runtime and scratch folder of a connector made for
//! the test.

use super::inspection::inspection_options;
use anyhow::Context as _;
use oibus_engine::{
    connector::{ConnectorSpec, Timeouts},
    loader::PluginRegistry,
};
use std::{path::PathBuf, time::Duration};

/// The connector type to try and its settings.
#[derive(Debug, clap::Args)]
pub struct TypeArgs {
    /// The plugins folder.
    #[arg(long)]
    pub plugins: PathBuf,
    /// The connector type id (see `oibus plugins list`).
    #[arg(long = "type")]
    pub type_id: String,
    /// Settings as JSON text, or @FILE to read them from a file.
    #[arg(long)]
    settings: String,
    /// Seconds to wait for each call to the connector before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Data folder: the trusted signing keys are read from DATA/trusted-keys (without it, a
    /// signed plugin is said to be signed by a key that is not trusted), shadow copies go to
    /// DATA/plugin-cache, the plugin's shared folder is DATA/plugin-data/PLUGIN.
    #[arg(long)]
    data: Option<PathBuf>,
}

/// The JSON text of option `flag`, or of the file it names with `@FILE`.
pub fn read_json(flag: &str, arg: &str) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the {flag} file {path}"))?,
            path.to_string(),
        ),
        None => (arg.to_string(), flag.to_string()),
    };
    serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))
}

/// The plugins and settings of a test, its runtime, and a scratch state folder removed when the
/// trial is dropped.
pub struct ScratchConnector {
    /// The plugins of `--plugins`, each opened first in a throwaway process.
    pub registry: PluginRegistry,
    /// The parsed `--settings`.
    pub settings: serde_json::Value,
    /// Where the test runs.
    pub runtime: tokio::runtime::Runtime,
    state: PathBuf,
    plugins_data: PathBuf,
    timeout: Duration,
}

impl ScratchConnector {
    /// Reads the settings and the plugins folder of `args`.
    pub fn open(args: &TypeArgs) -> anyhow::Result<Self> {
        let settings = read_json("--settings", &args.settings)?;
        let options = inspection_options(args.data.as_ref())?;
        let (registry, _) =
            PluginRegistry::discover(&args.plugins, &options).with_context(|| {
                format!("cannot read the plugins folder {}", args.plugins.display())
            })?;
        let state =
            std::env::temp_dir().join(format!("oibus-test-connection-{}", std::process::id()));
        std::fs::create_dir_all(&state)
            .with_context(|| format!("cannot create {}", state.display()))?;
        let plugins_data = args.data.as_ref().map_or_else(
            || state.join("plugin-data"),
            // Absolute, as `run` makes it: a plugin may hand the path to a library that
            // resolves relative paths against a folder of its own.
            |d| {
                std::path::absolute(d)
                    .unwrap_or_else(|_| d.clone())
                    .join("plugin-data")
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(Self {
            registry,
            settings,
            runtime,
            state,
            plugins_data,
            timeout: Duration::from_secs(args.timeout),
        })
    }

    /// The connector `id` of `type_id` made for the test, in this process.
    pub fn spec<'a>(&'a self, id: &'a str, type_id: &'a str) -> ConnectorSpec<'a> {
        ConnectorSpec {
            id,
            type_id,
            settings: &self.settings,
            state_dir: self.state.clone(),
            plugins_data: self.plugins_data.clone(),
            timeouts: Timeouts {
                lifecycle: self.timeout,
                data: self.timeout,
            },
            reports: Default::default(),
            isolation: None,
        }
    }
}

impl Drop for ScratchConnector {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
