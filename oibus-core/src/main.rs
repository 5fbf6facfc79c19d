//! The `oibus` binary.

use clap::Parser as _;
use oibus_core::cli::{self, Cli, Command};
use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// The log filter: `--log-level`, else `OIBUS_LOG`, else the configuration's `engine.log_level`
/// for `oibus run`, else warnings only.
fn log_filter(cli: &Cli) -> String {
    if let Some(level) = &cli.log_level {
        return level.clone();
    }
    if let Ok(level) = std::env::var("OIBUS_LOG") {
        return level;
    }
    match &cli.command {
        Command::Run(args) => cli::run::options(args)
            .map(|o| o.config.engine.log_level)
            .unwrap_or_else(|_| "info".into()),
        _ => "warn".into(),
    }
}

fn main() {
    let cli = Cli::parse();
    let filter = log_filter(&cli);
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: invalid log filter {filter:?} ({e}); using \"info\"");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
