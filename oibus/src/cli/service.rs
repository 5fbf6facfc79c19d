//! `oibus service …`: the engine as a Windows service. `install` registers `oibus service run`
//! with the `oibus run` arguments given (paths made absolute: a service starts in the system
//! folder); the service control manager starts that command, whose stop and shutdown requests
//! stop the engine as Ctrl-C does. On Linux these commands say to use systemd instead.

use super::run;
use anyhow::Context as _;
use oibus_engine::engine::EngineOptions;
use oibus_platform::service::{self, Registration, State};
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// The service name used when `--name` is not given.
pub const DEFAULT_NAME: &str = "oibus";

/// How long `start` waits for the service to report running.
const START_WAIT: Duration = Duration::from_secs(60);
/// How long `stop` and `uninstall` wait for the service to report stopped.
const STOP_WAIT: Duration = Duration::from_secs(90);

/// `oibus service …`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Register the engine as a Windows service running `oibus run` with these arguments
    /// (started with the system unless --manual). Needs an administrator's prompt.
    Install {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
        /// Start it only on demand (`oibus service start`), not with the system.
        #[arg(long)]
        manual: bool,
        /// What the service runs.
        #[command(flatten)]
        run: run::Args,
    },
    /// Stop the service if it runs, then remove it.
    Uninstall {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Start the service and wait until it runs.
    Start {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Stop the service cleanly (as Ctrl-C stops `oibus run`) and wait until it has stopped.
    Stop {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Print the service's state: running, stopped, stopped with code N, …
    State {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// The service itself (started by the service control manager, never by hand).
    #[command(hide = true)]
    Run {
        /// The service name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
        /// What the service runs.
        #[command(flatten)]
        run: run::Args,
    },
}

/// Runs `oibus service …` but `run` (see [`serve`]).
pub fn command(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Install { name, manual, run } => install(&name, !manual, &run),
        Command::Uninstall { name } => {
            if !matches!(service::state(&name)?, State::Stopped { .. }) {
                stop(&name)?;
            }
            service::uninstall(&name)?;
            println!("service {name}: removed");
            Ok(0)
        }
        Command::Start { name } => start(&name),
        Command::Stop { name } => stop(&name).map(|()| 0),
        Command::State { name } => {
            println!("service {name}: {}", service::state(&name)?);
            Ok(0)
        }
        Command::Run { name, run } => match run::options(&run) {
            Ok(options) => serve(&name, options),
            // Still answered through the manager, so that `start` sees the service stop with
            // code 2 at once instead of waiting for it to report running.
            Err(e) => Ok(service::serve(&name, move || {
                eprintln!("error: {e:#}");
                2
            })?),
        },
    }
}

/// Registers the service. The configuration is read first, so that a service that could not
/// start is refused here, with the file and field at fault.
fn install(name: &str, automatic: bool, args: &run::Args) -> anyhow::Result<i32> {
    let options = run::options(args)?;
    let program = std::env::current_exe().context("cannot tell where this oibus program is")?;
    let mut arguments: Vec<OsString> = vec!["service".into(), "run".into()];
    arguments.extend(["--name".into(), name.into()]);
    if let Some(config) = &options.config_file {
        arguments.extend(["--config".into(), config.clone().into_os_string()]);
    }
    arguments.extend(["--data".into(), options.data.0.clone().into_os_string()]);
    if let Some(plugins) = &args.plugins {
        let plugins = std::path::absolute(plugins).unwrap_or_else(|_| plugins.clone());
        arguments.extend(["--plugins".into(), plugins.into_os_string()]);
    }
    if let Some(listen) = &args.admin_listen {
        arguments.extend(["--admin-listen".into(), listen.into()]);
    }
    service::install(&Registration {
        name: name.to_string(),
        display_name: format!("OIBus gateway ({name})"),
        description: format!("oibus-rs data-collection gateway: {}", options.origin),
        program,
        arguments,
        automatic,
    })?;
    println!(
        "service {name}: installed ({} start), data in {}",
        if automatic { "automatic" } else { "manual" },
        options.data.0.display()
    );
    if options.config.engine.log_file.is_none() {
        println!(
            "note: {} sets no engine.log_file; a service has no console, so only the admin \
             API's recent log records will show what it does",
            options.origin
        );
    }
    Ok(0)
}

/// Waits until the service's state satisfies `done`, up to `wait`; returns the last state.
fn wait_for(name: &str, wait: Duration, done: impl Fn(State) -> bool) -> anyhow::Result<State> {
    let until = Instant::now() + wait;
    loop {
        let state = service::state(name)?;
        if done(state) || Instant::now() >= until {
            return Ok(state);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start(name: &str) -> anyhow::Result<i32> {
    service::start(name)?;
    match wait_for(name, START_WAIT, |s| !matches!(s, State::StartPending))? {
        State::Running => {
            println!("service {name}: running");
            Ok(0)
        }
        State::Stopped { exit_code } => anyhow::bail!(
            "service {name} stopped at once with code {exit_code}: its log (engine.log_file) \
             says why; `oibus check --config …` checks the configuration"
        ),
        other => anyhow::bail!(
            "service {name} is still {other} after {}s",
            START_WAIT.as_secs()
        ),
    }
}

fn stop(name: &str) -> anyhow::Result<()> {
    service::stop(name)?;
    match wait_for(name, STOP_WAIT, |s| matches!(s, State::Stopped { .. }))? {
        State::Stopped { exit_code: 0 } => {
            println!("service {name}: stopped");
            Ok(())
        }
        State::Stopped { exit_code } => {
            println!("service {name}: stopped with code {exit_code} (its log says why)");
            Ok(())
        }
        other => anyhow::bail!(
            "service {name} is still {other} after {}s",
            STOP_WAIT.as_secs()
        ),
    }
}

/// `oibus service run`: the engine under the service control manager until it asks for a stop.
/// Errors go to the log (a service has no console) and become the service's exit code.
pub fn serve(name: &str, options: EngineOptions) -> anyhow::Result<i32> {
    let code = service::serve(name, move || match run::run_with(options) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            2
        }
    })?;
    Ok(code)
}
