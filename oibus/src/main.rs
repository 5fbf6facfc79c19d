//! The `oibus` binary.

mod cli;

use clap::Parser as _;
use cli::{Cli, Command, service::Command as ServiceCommand};
use oibus_engine::engine::EngineOptions;
use std::io::IsTerminal as _;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};

/// The log filter: `--log-level`, else `OIBUS_LOG`, else the configuration's `engine.log_level`
/// for `oibus run`, else warnings only.
fn log_filter(cli: &Cli, run: Option<&EngineOptions>) -> String {
    if let Some(level) = &cli.log_level {
        return level.clone();
    }
    if let Ok(level) = std::env::var("OIBUS_LOG") {
        return level;
    }
    match (&cli.command, run) {
        (_, Some(o)) => o.config.engine.log_level.clone(),
        (Command::Run(_) | Command::Service(ServiceCommand::Run { .. }), None) => "info".into(),
        _ => "warn".into(),
    }
}

/// The log file of `engine.log_file` for `oibus run`, rotated by size; its folder is made and the
/// file opened here, so that a path that cannot be written stops the engine with its name.
fn log_file(
    options: &EngineOptions,
) -> anyhow::Result<Option<file_rotate::FileRotate<file_rotate::suffix::AppendCount>>> {
    use anyhow::Context as _;
    let Some(file) = &options.config.engine.log_file else {
        return Ok(None);
    };
    let path = options.data.0.join(&file.path);
    if file.max_size.0 == 0 {
        anyhow::bail!(
            "{}: engine.log_file.max_size must be above 0",
            options.origin
        );
    }
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(folder)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        .with_context(|| {
            format!(
                "{}: engine.log_file: cannot write {}",
                options.origin,
                path.display()
            )
        })?;
    Ok(Some(file_rotate::FileRotate::new(
        &path,
        file_rotate::suffix::AppendCount::new(file.keep),
        file_rotate::ContentLimit::BytesSurpassed(file.max_size.0 as usize),
        file_rotate::compression::Compression::None,
        None,
    )))
}

/// The short commands end quietly when the reader of their output goes away
/// (`oibus plugins list --json | head`), as Unix tools do: the default action of SIGPIPE, which
/// Rust's runtime ignores. The engine and the plugin hosts keep ignoring it, so that a peer
/// closing a socket is an error to handle, not the end of the gateway.
fn quiet_on_closed_pipe(command: &Command) {
    if !matches!(
        command,
        Command::Run(_) | Command::PluginHost(_) | Command::Service(ServiceCommand::Run { .. })
    ) {
        oibus_platform::broken_pipe::die_quietly_on_closed_pipe();
    }
}

fn main() {
    oibus_platform::allocator::limit_arenas();
    let cli = Cli::parse();
    quiet_on_closed_pipe(&cli.command);
    // For `oibus run`, the configuration as the engine will read it (an unreadable one is
    // reported by the engine itself).
    let mut run = match &cli.command {
        Command::Run(args) | Command::Service(ServiceCommand::Run { run: args, .. }) => {
            cli::run::options(args).ok()
        }
        _ => None,
    };
    let filter = log_filter(&cli, run.as_ref());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: invalid log filter {filter:?} ({e}); using \"info\"");
        EnvFilter::new("info")
    });
    let file = match run.as_ref().map(log_file).transpose().map(Option::flatten) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    // The terminal, the ring of recent records the admin API reads, and the log file if one is
    // set, at the same level.
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr),
        )
        .with(oibus_engine::logs::RingLayer)
        .with(file.map(|f| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
        }))
        .init();
    let result = match (run.take(), &cli.command) {
        (Some(options), Command::Service(ServiceCommand::Run { name, .. })) => {
            cli::service::serve(name, options)
        }
        (Some(options), _) => cli::run::run_with(options),
        (None, _) => cli::run(cli),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
