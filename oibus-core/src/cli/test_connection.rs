//! `oibus test-connection`: validate settings, create the connector, run `test_connection`.

use super::inspection_options;
use crate::{
    connector::{self, ConnectorSpec, DiscardSink, Timeouts},
    plugin::PluginRegistry,
};
use anyhow::Context as _;
use std::{path::PathBuf, sync::Arc, time::Duration};

/// Arguments of `oibus test-connection`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugins folder.
    #[arg(long)]
    plugins: PathBuf,
    /// The connector type id (see `oibus plugins list`).
    #[arg(long = "type")]
    type_id: String,
    /// Settings as JSON text, or @FILE to read them from a file.
    #[arg(long)]
    settings: String,
    /// Seconds to wait for the test before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Data folder (shadow copies go to DATA/plugin-cache).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// The JSON text of option `flag`, or of the file it names with `@FILE`.
pub(super) fn read_json(flag: &str, arg: &str) -> anyhow::Result<serde_json::Value> {
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

/// Runs the command; exit code 0 when the connection works, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let settings = read_json("--settings", &args.settings)?;
    let options = inspection_options(args.data.as_ref())?;
    let (registry, _) = PluginRegistry::discover(&args.plugins, &options)
        .with_context(|| format!("cannot read the plugins folder {}", args.plugins.display()))?;
    let state = tempfile_dir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs(args.timeout);
    let result = runtime.block_on(async {
        let c = connector::create(
            &registry,
            ConnectorSpec {
                id: "test-connection",
                type_id: &args.type_id,
                settings: &settings,
                state_dir: state.clone(),
                plugins_data: args
                    .data
                    .as_ref()
                    .map_or_else(|| state.join("plugin-data"), |d| d.join("plugin-data")),
                timeouts: Timeouts {
                    lifecycle: timeout,
                    data: timeout,
                },
                reports: Default::default(),
                isolation: None,
            },
            Arc::new(DiscardSink),
            tokio::runtime::Handle::current(),
        )?;
        c.test_connection().await
    });
    let _ = std::fs::remove_dir_all(&state);
    match result {
        Ok(()) => {
            println!("connection OK ({})", args.type_id);
            Ok(0)
        }
        Err(e) => {
            eprintln!("connection FAILED: {e}");
            Ok(1)
        }
    }
}

/// A scratch state folder for the connector of a test, removed by the caller.
pub(super) fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("oibus-test-connection-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
