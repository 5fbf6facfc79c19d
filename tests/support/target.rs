//! The platform the end-to-end tests run the gateway on: this machine's by default, or another
//! one built from here and run through an emulator, chosen by two variables (`scripts/cross`
//! sets them):
//!
//! - `OIBUS_TEST_TARGET`: a Rust target triple (`x86_64-pc-windows-gnu`,
//!   `aarch64-unknown-linux-gnu`); the binaries and plugins are built for it;
//! - `OIBUS_TEST_RUNNER`: the program, with its arguments split on spaces, that runs them
//!   (`wine64`, `qemu-aarch64 -L /usr/aarch64-linux-gnu`). The engine is told to start its
//!   plugin-host children through it too.

use std::{path::Path, process::Command, sync::OnceLock};

/// The platform under test.
#[derive(Debug)]
pub struct Target {
    /// The target triple; `None`: this machine's.
    pub triple: Option<String>,
    /// The emulator's program and arguments; empty: run directly.
    pub runner: Vec<String>,
}

/// The platform under test, read once from the environment.
pub fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| Target {
        triple: std::env::var("OIBUS_TEST_TARGET")
            .ok()
            .filter(|t| !t.is_empty()),
        runner: std::env::var("OIBUS_TEST_RUNNER")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    })
}

impl Target {
    /// Whether the gateway under test is a Windows build.
    pub fn is_windows(&self) -> bool {
        match &self.triple {
            Some(t) => t.contains("windows"),
            None => cfg!(windows),
        }
    }

    /// Whether the gateway under test was built for another platform than the tests'.
    pub fn is_cross(&self) -> bool {
        self.triple.is_some()
    }

    /// The file name of plugin library `base` on that platform (`libx.so`, `x.dll`).
    pub fn library_name(&self, base: &str) -> String {
        if self.is_windows() {
            format!("{base}.dll")
        } else if self.is_cross() {
            format!("lib{base}.so")
        } else {
            format!(
                "{}{base}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )
        }
    }

    /// The file name of executable `name` on that platform.
    pub fn exe_name(&self, name: &str) -> String {
        if self.is_windows() {
            format!("{name}.exe")
        } else {
            name.to_string()
        }
    }

    /// A command running `program` on that platform (through the runner, if any); an emulated
    /// engine starts its children through the runner too.
    pub fn command(&self, program: &Path) -> Command {
        match self.runner.split_first() {
            Some((runner, args)) => {
                let mut cmd = Command::new(runner);
                cmd.args(args).arg(program);
                if !self.is_windows() {
                    cmd.env("OIBUS_PLUGIN_HOST_LAUNCHER", self.runner.join(" "));
                }
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Whether the process id the tests see is the one the engine writes in its status (not
    /// under Wine, which numbers Windows processes itself).
    pub fn same_process_ids(&self) -> bool {
        !self.is_windows() || self.runner.is_empty()
    }

    /// Whether the engine's exit hook runs when a plugin ends the process: everywhere but under
    /// Wine, whose loader does not call an executable's TLS callbacks at exit as Windows does.
    pub fn exits_run_hooks(&self) -> bool {
        self.same_process_ids()
    }

    /// The signal that asks the engine to stop: SIGTERM; under Wine, SIGINT (which Wine turns
    /// into the console's Ctrl-C, the Windows way of asking).
    pub fn stop_signal(&self) -> &'static str {
        if self.is_windows() { "-INT" } else { "-TERM" }
    }
}
