//! `oibus check`: validates a configuration against the plugins of its folder, as `oibus run`
//! would before starting anything, and starts nothing.

use super::run::{Args, options};
use crate::{config, plugin::PluginRegistry};
use anyhow::Context as _;

/// Prints the plugins found and the verdict; exit code 0 when the configuration would start.
pub fn run(args: &Args) -> anyhow::Result<i32> {
    let options = options(args)?;
    let load =
        crate::engine::load_options(&options.config, &options.data, options.host_exe.as_deref())?;
    let (registry, reports) =
        PluginRegistry::discover(&options.plugins, &load).with_context(|| {
            format!(
                "cannot read the plugins folder {}",
                options.plugins.display()
            )
        })?;
    println!("plugins folder {}:", options.plugins.display());
    super::plugins::print_reports(&reports);
    config::validate(&options.config, &registry, &options.origin)?;
    let c = &options.config;
    println!(
        "{}: ok ({} scan mode(s), {} South, {} North)",
        options.origin,
        c.scan_modes.len(),
        c.south.len(),
        c.north.len()
    );
    Ok(0)
}
