//! Settings and behaviour shared by both probe connectors: the call journal and the lifecycle
//! faults.

use oibus_plugin_api::prelude::*;
use std::{fs, io::Write, path::Path, time::Duration};

/// How a probe connector behaves in its lifecycle calls.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Behaviour {
    /// File every call is appended to, one operation name per line.
    #[serde(default)]
    pub journal: Option<String>,
    /// `connect` panics.
    #[serde(default)]
    pub connect_panics: bool,
    /// `connect` never completes.
    #[serde(default)]
    pub connect_hangs: bool,
    /// `connect` blocks its thread for an hour (a synchronous call that never returns, as a
    /// careless driver makes), holding one of the plugin runtime's threads.
    #[serde(default)]
    pub connect_blocks: bool,
    /// `connect` ends the whole process with `std::process::exit(code)`, as a careless library
    /// would.
    #[serde(default)]
    pub connect_exits: Option<i32>,
    /// `connect` fails this many times (counted in the state folder, across restarts) first.
    #[serde(default)]
    pub connect_failures: u32,
    /// `test_connection` fails with this message.
    #[serde(default)]
    pub test_connection_error: Option<String>,
    /// `connect` fails when the plugin's own declared version is this one (upgrade tests make
    /// versions of one library by rewriting the version in its declaration).
    #[serde(default)]
    pub fail_connect_on_version: Option<String>,
    /// When this file exists at a send (North) or a batch (South), it is removed and the process
    /// ends as it says: `segfault`, `abort`, `exit0`, `oom` (allocates until memory runs out) or
    /// `hang` (blocks its thread for an hour). For isolation tests: once per file.
    #[serde(default)]
    pub crash_file: Option<String>,
}

/// Appends the connector's id to `connections` in the folder the plugin's connectors share
/// (`ctx.plugin_dir()`, API 1.1), at each successful `connect`.
pub fn note_connection(ctx: &Context) -> Result<()> {
    let path = ctx.plugin_dir().join("connections");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| PluginError::transient(format!("{}: {e}", path.display())))?;
    // One write for the whole line: connectors of several processes append to this file.
    f.write_all(format!("{}\n", ctx.connector_id()).as_bytes())?;
    Ok(())
}

/// The plugin version in this library's declaration, as `lib.rs` read it from memory when the
/// plugin was described (tests rewrite it in the file).
static DECLARED_VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Remembers the declared plugin version (called by `lib.rs`, which holds the declaration).
pub fn set_declared_version(version: String) {
    let _ = DECLARED_VERSION.set(version);
}

/// The declared plugin version, once `lib.rs` has told it.
fn declared_version() -> Option<&'static str> {
    DECLARED_VERSION.get().map(String::as_str)
}

impl Behaviour {
    /// Appends `op` to the journal, if any.
    pub fn journal(&self, op: &str) -> Result<()> {
        if let Some(path) = &self.journal {
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(f, "{op}")?;
        }
        Ok(())
    }

    /// Ends the process as the crash file says, if there is one (see [`Behaviour::crash_file`]).
    pub fn crash_if_asked(&self) {
        let Some(path) = &self.crash_file else { return };
        let Ok(how) = fs::read_to_string(path) else {
            return;
        };
        if fs::remove_file(path).is_err() {
            return; // another task took it
        }
        match how.trim() {
            // SAFETY: none; the point is to crash as a buggy plugin would.
            "segfault" => unsafe { std::ptr::null_mut::<u8>().write_volatile(1) },
            "abort" => std::process::abort(),
            "exit0" => std::process::exit(0),
            "oom" => {
                // Address space, as the engine's limit counts it: reserved at once, without
                // the seconds that writing a gigabyte takes in a debug build.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(Vec::<u8>::with_capacity(64 << 20)));
                }
            }
            "hang" => std::thread::sleep(Duration::from_secs(3600)),
            other => tracing::warn!("probe: unknown crash {other:?}"),
        }
    }

    /// The `connect` behaviour.
    pub async fn connect(&self, state_dir: &Path) -> Result<()> {
        self.journal("connect")?;
        if self.connect_panics {
            panic!("probe: connect panics as configured");
        }
        if let Some(code) = self.connect_exits {
            std::process::exit(code);
        }
        if let Some(v) = &self.fail_connect_on_version
            && Some(v.as_str()) == declared_version()
        {
            return Err(PluginError::transient(format!(
                "probe: version {v} is configured to fail at connect"
            )));
        }
        if self.connect_hangs {
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
        if self.connect_blocks {
            std::thread::sleep(Duration::from_secs(3600));
        }
        if self.connect_failures > 0 {
            let counter = state_dir.join("connect-attempts");
            let attempts: u32 = fs::read_to_string(&counter)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            fs::create_dir_all(state_dir)?;
            fs::write(&counter, (attempts + 1).to_string())?;
            if attempts < self.connect_failures {
                return Err(PluginError::transient(format!(
                    "probe: connect failure {} of {}",
                    attempts + 1,
                    self.connect_failures
                )));
            }
        }
        Ok(())
    }

    /// The `test_connection` behaviour.
    pub fn test_connection(&self) -> Result<()> {
        self.journal("test_connection")?;
        match &self.test_connection_error {
            Some(m) => Err(PluginError::transient(m)),
            None => Ok(()),
        }
    }
}

/// Implements the lifecycle methods of [`Connector`] by journaling them and applying the
/// [`Behaviour`] in field `behaviour`.
macro_rules! probe_lifecycle {
    () => {
        async fn start(&mut self) -> Result<()> {
            self.behaviour.journal("start")?;
            self.connect().await
        }
        async fn connect(&mut self) -> Result<()> {
            self.behaviour.connect(&self.ctx.state_dir()).await?;
            $crate::behaviour::note_connection(&self.ctx)
        }
        async fn stop(&mut self) -> Result<()> {
            self.behaviour.journal("stop")?;
            self.disconnect().await
        }
        async fn test_connection(&mut self) -> Result<()> {
            self.behaviour.test_connection()
        }
    };
}
pub(crate) use probe_lifecycle;
