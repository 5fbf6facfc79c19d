//! `oibus run`: the engine, until the operating system asks it to stop (Ctrl-C, SIGTERM, a
//! console closed, the system shutting down).

use anyhow::Context as _;
use oibus_engine::{
    config,
    engine::{self, DataDir, EngineOptions},
};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Arguments of `oibus run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML). Without it, the embedded demo configuration runs.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data folder (cache, state, status); default: `oibus-data` beside the configuration
    /// (or in the current folder for the demo).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The plugins folder; default: `engine.plugins` of the configuration, else `<data>/plugins`.
    #[arg(long)]
    pub plugins: Option<PathBuf>,
    /// Where the admin API listens, overriding `engine.admin.listen` (port 0: any free port; the
    /// URL is written to `<data>/admin-url`).
    #[arg(long)]
    pub admin_listen: Option<String>,
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Reads the configuration and resolves the folders.
pub fn options(args: &Args) -> Result<EngineOptions, anyhow::Error> {
    let (mut config, origin, config_dir) = match &args.config {
        Some(path) => {
            let config = config::load(path)?;
            let dir = absolute(path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            (config, path.display().to_string(), dir)
        }
        None => (
            config::parse(config::DEMO, "embedded demo configuration")?,
            "embedded demo configuration".to_string(),
            absolute(Path::new(".")),
        ),
    };
    let data = absolute(
        &args
            .data
            .clone()
            .unwrap_or_else(|| config_dir.join("oibus-data")),
    );
    let variables = vec![
        ("data_dir", data.to_string_lossy().into_owned()),
        ("config_dir", config_dir.to_string_lossy().into_owned()),
    ];
    config::expand_variables(&mut config, &variables);
    let data = DataDir(data);
    let plugins = match (&args.plugins, &config.engine.plugins.folder) {
        (Some(p), _) => absolute(p),
        (None, Some(p)) if p.is_relative() => config_dir.join(p),
        (None, Some(p)) => p.clone(),
        (None, None) => data.plugins(),
    };
    let admin = if config.engine.admin.enabled {
        let listen = args
            .admin_listen
            .as_deref()
            .unwrap_or(&config.engine.admin.listen);
        let listen = listen.parse().map_err(|e| {
            anyhow::anyhow!(
                "{origin}: engine.admin.listen: {listen:?} is not an address and port: {e}"
            )
        })?;
        let mut admin = oibus_admin::AdminOptions::new(listen, config.engine.admin.token.clone());
        admin.metrics_token = config.engine.admin.metrics_token.clone();
        admin.allowed_hosts = config.engine.admin.allowed_hosts.clone();
        let beside_config = |p: &Path| {
            if p.is_relative() {
                config_dir.join(p)
            } else {
                p.to_path_buf()
            }
        };
        if let (Some(certificate), Some(private_key)) = (
            &config.engine.admin.tls_certificate,
            &config.engine.admin.tls_private_key,
        ) {
            admin.tls = Some(oibus_admin::TlsFiles {
                certificate: beside_config(certificate),
                private_key: beside_config(private_key),
            });
        }
        vec![Box::new(admin) as Box<dyn oibus_engine::engine::Frontend>]
    } else {
        Vec::new()
    };
    Ok(EngineOptions {
        config_file: args.config.as_ref().map(|p| absolute(p)),
        variables,
        config,
        origin,
        data,
        plugins,
        static_plugins: Vec::new(),
        frontends: admin,
        host_exe: std::env::current_exe().ok(),
    })
}

/// Runs the engine until a signal.
pub fn run(args: Args) -> anyhow::Result<i32> {
    run_with(options(&args)?)
}

/// Runs the engine until a signal, with options already read (`oibus run` reads them once, to
/// set up logging before anything else, and hands them over: a large configuration is parsed
/// and held once).
pub fn run_with(options: EngineOptions) -> anyhow::Result<i32> {
    oibus_engine::logs::ring().set_capacity(options.config.engine.log_records);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("oibus-engine")
        .build()
        .context("cannot start the runtime")?;
    super::exit_guard::arm();
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        // Listening starts before the engine does: a stop asked while it starts (systemd's
        // stop right after a start) is a clean stop, not the default action of the signal.
        let requests = oibus_platform::shutdown::listen();
        tokio::spawn(async move {
            requests.requested().await;
            signal.cancel();
        });
        engine::run(options, shutdown).await
    });
    super::exit_guard::disarm();
    result?;
    Ok(0)
}
