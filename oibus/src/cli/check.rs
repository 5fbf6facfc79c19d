//! `oibus check`: validates a configuration against the plugins of its folder, as `oibus run`
//! would before starting anything, and starts nothing.

use super::run::{Args, options};
use anyhow::Context as _;
use oibus_engine::{config, loader::PluginRegistry};

/// Prints the plugins found and the verdict: exit code 0 when the configuration would start
/// with every connector, 1 when it would start but some connectors would wait for a plugin that
/// provides their type (each named), 2 (an error) when it would not start.
pub fn run(args: &Args) -> anyhow::Result<i32> {
    let options = options(args)?;
    let load = oibus_engine::engine::load_options(
        &options.config,
        &options.data,
        options.host_exe.as_deref(),
    )?;
    let (registry, reports) =
        PluginRegistry::discover(&options.plugins, &load).with_context(|| {
            format!(
                "cannot read the plugins folder {}",
                options.plugins.display()
            )
        })?;
    println!("plugins folder {}:", options.plugins.display());
    super::plugins::print_reports(&reports);
    let waiting = config::validate(&options.config, &registry, &options.origin)?;
    let c = &options.config;
    let counts = format!(
        "{} scan mode(s), {} South, {} North",
        c.scan_modes.len(),
        c.south.len(),
        c.north.len()
    );
    if waiting.is_empty() {
        println!("{}: ok ({counts})", options.origin);
        return Ok(0);
    }
    println!(
        "{}: would start ({counts}), but {} connector(s) would wait for a plugin that provides \
         their type: {}; add it to {}",
        options.origin,
        waiting.len(),
        waiting.join(", "),
        options.plugins.display()
    );
    Ok(1)
}
