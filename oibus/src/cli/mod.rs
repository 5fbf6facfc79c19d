//! The `oibus` command line.

mod api;
mod browse;
mod check;
pub mod exit_guard;
mod inspection;
mod plugins;
mod reference;
mod replay;
pub mod run;
mod scaffold;
mod scratch;
pub mod service;
mod signing;
mod status;
mod table;
mod test_connection;
mod test_item;

use clap::{Parser, Subcommand};
use inspection::inspection_options;
use std::path::PathBuf;

/// oibus-rs: an industrial data-collection gateway with plugin connectors.
#[derive(Debug, Parser)]
#[command(name = "oibus", version, about)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace) or a tracing filter; overrides OIBUS_LOG.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover and inspect plugin files.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Validate settings for a connector type and run its `test_connection`.
    TestConnection(test_connection::Args),
    /// List the nodes of a South type's source (its `browse`): a tree, JSON, or item tables to paste.
    Browse(browse::Args),
    /// Read one item of a South type once (its `test_item`) and print what it read; nothing is sent.
    TestItem(test_item::Args),
    /// Run the engine (the embedded demo without --config).
    Run(run::Args),
    /// Check a configuration against the plugins it would run with, and start nothing: exit 0
    /// if `run` would start every connector, 1 if some would wait for their plugin (named), 2
    /// with every problem (file, connector, field) if it would not start.
    Check(run::Args),
    /// The child process of an isolated connector or of a probe (started by the engine).
    #[command(subcommand, hide = true)]
    PluginHost(PluginHostCommand),
    /// The engine as a Windows service: install, start, stop, uninstall (on Linux: systemd).
    #[command(subcommand)]
    Service(service::Command),
    /// Make a North of a running engine send again what the Souths' logs retain since an
    /// instant (a replay; see `[south.retention]`).
    Replay(replay::Args),
    /// Show what every connector of an engine is doing.
    Status {
        /// The engine's data folder.
        #[arg(long, default_value = "oibus-data")]
        data: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `oibus plugin-host …` (started by the engine, never by hand).
#[derive(Debug, Subcommand)]
pub enum PluginHostCommand {
    /// Open LIBRARY and print its manifest on the protocol channel.
    Probe {
        /// The engine's checked copy.
        #[arg(long)]
        library: PathBuf,
        /// The plugin file it stands for (in messages).
        #[arg(long)]
        file: PathBuf,
    },
    /// Run one connector of LIBRARY for the engine, over standard input and output.
    Serve {
        /// The engine's checked copy.
        #[arg(long)]
        library: PathBuf,
        /// The plugin file it stands for (in messages).
        #[arg(long)]
        file: PathBuf,
    },
}

/// `oibus plugins …`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// One row per library file of DIR: plugin, versions, connector types, ok or refused.
    List {
        /// The plugins folder.
        #[arg(long)]
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Data folder: trusted signing keys from DATA/trusted-keys, shadow copies into
        /// DATA/plugin-cache; default: a folder in the system temp dir (no trusted key).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Ask a running engine to look at its plugins folder now; prints what it found.
    Rescan {
        /// The engine's data folder.
        #[arg(long, default_value = "oibus-data")]
        data: PathBuf,
    },
    /// Make a running engine use the plugin of FILE (in its plugins folder) even if its version
    /// is lower than the loaded one (a forced downgrade). The choice is recorded in the data
    /// folder and kept across restarts until `unforce`.
    Force {
        /// The file name in the plugins folder.
        file: PathBuf,
        /// The engine's data folder.
        #[arg(long, default_value = "oibus-data")]
        data: PathBuf,
    },
    /// Make a running engine forget the forced version of plugin ID (`force`): it goes back to
    /// the highest version in its folder.
    Unforce {
        /// The plugin id.
        id: String,
        /// The engine's data folder.
        #[arg(long, default_value = "oibus-data")]
        data: PathBuf,
    },
    /// Write a ready plugin crate NAME (Cargo.toml, src/lib.rs with a unit test, README) that
    /// builds and loads unchanged, for you to fill in.
    #[command(group(clap::ArgGroup::new("kind").required(true).args(["south", "north"])))]
    New {
        /// The crate's and the plugin's id, with your vendor prefix: `acme-gauge`.
        name: String,
        /// A South connector (a last-point query).
        #[arg(long)]
        south: bool,
        /// A North connector (values).
        #[arg(long)]
        north: bool,
        /// The folder the crate is written into.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The `oibus-plugin-api` folder to depend on (default: the sources this oibus was built
        /// from, if present).
        #[arg(long)]
        api: Option<PathBuf>,
    },
    /// Create a signing key pair: NAME.pub (for the gateways' trusted-keys/) and NAME.key
    /// (secret, mode 0600, encrypted with OIBUS_SIGNING_PASSWORD or a password asked for).
    Keygen {
        /// The folder the two files are written to.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The key's name.
        #[arg(long, default_value = "oibus-signing")]
        name: String,
        /// Leave the secret key unencrypted (for build machines that keep it elsewhere).
        #[arg(long)]
        no_password: bool,
    },
    /// Sign a plugin file: writes FILE.minisig beside it.
    Sign {
        /// The plugin file.
        file: PathBuf,
        /// The secret key (NAME.key from `keygen`, or a minisign secret key).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check FILE.minisig against public keys: exit code 0 for a good signature by one of them.
    Verify {
        /// The plugin file.
        file: PathBuf,
        /// A public key file (repeatable).
        #[arg(long)]
        key: Vec<PathBuf>,
        /// A data folder whose trusted-keys/ to use.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Print the manifest of one plugin file as JSON.
    Inspect {
        /// The plugin file.
        file: PathBuf,
        /// Data folder (shadow copies go to DATA/plugin-cache).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// The reference of the plugin's connector types in Markdown (settings and item settings
    /// tables with types, defaults, descriptions and secrets), made from its JSON Schemas.
    Doc {
        /// The plugin file.
        file: PathBuf,
        /// Write the reference into this Markdown page, between its generated-block lines for
        /// FILE's name, instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// With --out: change nothing; exit 1 if the page's block is not what FILE gives.
        #[arg(long, requires = "out")]
        check: bool,
        /// Data folder (shadow copies go to DATA/plugin-cache).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

/// Runs a parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Plugins(PluginsCommand::List { dir, json, data }) => {
            plugins::list(&dir, json, &inspection_options(data.as_ref())?)
        }
        Command::Plugins(PluginsCommand::Unforce { id, data }) => {
            let report = api::call(
                &data,
                "POST",
                "/api/plugins/unforce",
                Some(serde_json::json!({ "id": id })),
            )?;
            plugins::print_reports(&[serde_json::from_value(report)?]);
            Ok(0)
        }
        Command::Plugins(PluginsCommand::New {
            name,
            south,
            dir,
            api,
            ..
        }) => {
            let kind = if south {
                scaffold::Kind::South
            } else {
                scaffold::Kind::North
            };
            scaffold::new(&name, kind, &dir, api.as_deref())
        }
        Command::Plugins(PluginsCommand::Keygen {
            out,
            name,
            no_password,
        }) => signing::keygen(&out, &name, no_password),
        Command::Plugins(PluginsCommand::Sign { file, key }) => signing::sign(&file, &key),
        Command::Plugins(PluginsCommand::Verify { file, key, data }) => {
            signing::verify(&file, &key, data.as_deref())
        }
        Command::PluginHost(PluginHostCommand::Probe { library, file }) => {
            oibus_engine::isolation::child::probe(&library, &file)
        }
        Command::PluginHost(PluginHostCommand::Serve { library, file }) => {
            oibus_engine::isolation::child::serve(&library, &file)
        }
        Command::Plugins(PluginsCommand::Rescan { data }) => {
            let reports = api::call(&data, "POST", "/api/plugins/rescan", None)?;
            let reports: Vec<oibus_engine::loader::PluginReport> = serde_json::from_value(reports)?;
            plugins::print_reports(&reports);
            Ok(0)
        }
        Command::Plugins(PluginsCommand::Force { file, data }) => {
            let report = api::call(
                &data,
                "POST",
                "/api/plugins/force",
                Some(serde_json::json!({ "file": file })),
            )?;
            plugins::print_reports(&[serde_json::from_value(report)?]);
            Ok(0)
        }
        Command::Plugins(PluginsCommand::Inspect { file, data }) => {
            plugins::inspect(&file, &inspection_options(data.as_ref())?)
        }
        Command::Plugins(PluginsCommand::Doc {
            file,
            out,
            check,
            data,
        }) => plugins::doc(
            &file,
            out.as_deref(),
            check,
            &inspection_options(data.as_ref())?,
        ),
        Command::TestConnection(args) => test_connection::run(args),
        Command::TestItem(args) => test_item::run(args),
        Command::Browse(args) => browse::run(args),
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(&args),
        Command::Status { data, json } => status::run(&data, json),
        Command::Replay(args) => replay::run(&args),
        Command::Service(command) => service::command(command),
    }
}
