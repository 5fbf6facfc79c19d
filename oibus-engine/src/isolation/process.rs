//! Starting a plugin-host child process with the operating system's limits, and saying in words
//! how it ended.

use std::{
    collections::VecDeque,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
};
use tokio::process::{Child, Command};

pub use oibus_platform::child::{Contained, Limits, describe};

/// The environment variable naming a program (and its arguments, split on spaces) that plugin-host
/// children are started through: an emulator such as `qemu-aarch64 -L /usr/aarch64-linux-gnu`
/// when the engine itself runs emulated on a machine that cannot start its binaries directly.
pub const LAUNCHER_ENV: &str = "OIBUS_PLUGIN_HOST_LAUNCHER";

/// A command that starts the `oibus` executable `exe`, through the launcher of [`LAUNCHER_ENV`]
/// when one is set, prepared with the platform's limits and process group.
pub fn host_command(exe: &Path, limits: Limits) -> std::process::Command {
    command_through(std::env::var(LAUNCHER_ENV).ok().as_deref(), exe, limits)
}

/// A command that starts `exe` through `launcher` (a program and its arguments, split on
/// spaces), if any, prepared with `limits`.
fn command_through(launcher: Option<&str>, exe: &Path, limits: Limits) -> std::process::Command {
    let mut words = launcher.unwrap_or_default().split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    };
    oibus_platform::child::prepare(&mut cmd, limits);
    cmd
}

/// Contains the started child `pid` with no limits beyond the engine's (its Job object on
/// Windows, so that it dies with the engine).
pub fn contain(pid: u32) -> std::io::Result<Contained> {
    oibus_platform::child::contain(pid, Limits::default())
}

/// Starts `exe args…` with piped standard streams, killed when dropped, and ending with the
/// engine (Linux: a death signal; Windows: its Job object, held in the returned [`Contained`]).
pub fn spawn(
    exe: &Path,
    args: &[&std::ffi::OsStr],
    limits: Limits,
) -> std::io::Result<(Child, Contained)> {
    let mut cmd = host_command(exe, limits);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Command::from(cmd).kill_on_drop(true).spawn()?;
    let contained = child
        .id()
        .ok_or_else(|| std::io::Error::other("the child ended at once"))
        .and_then(|pid| oibus_platform::child::contain(pid, limits));
    match contained {
        Ok(contained) => Ok((child, contained)),
        Err(e) => {
            let _ = child.start_kill();
            Err(e)
        }
    }
}

/// The last lines a child wrote on its standard error, for the diagnosis of its end.
#[derive(Clone, Default)]
pub struct Tail(
    Arc<Mutex<VecDeque<String>>>,
    Arc<std::sync::atomic::AtomicBool>,
);

impl Tail {
    const LINES: usize = 20;

    /// Keeps `line`. Rust's allocation-failure message (after which the child aborts) is
    /// remembered even once it is out of the tail (a backtrace follows it); says whether `line`
    /// is that message, the first time.
    pub fn push(&self, line: String) -> bool {
        let rust_abort = line.starts_with("memory allocation of") && line.ends_with("failed");
        if let Ok(mut t) = self.0.lock() {
            if t.len() == Self::LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
        rust_abort && !self.1.swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether the child reported running out of memory: Rust's allocation-failure message
    /// at any time, or the C library's `Cannot allocate memory` among its last lines.
    pub fn out_of_memory(&self) -> bool {
        self.1.load(std::sync::atomic::Ordering::SeqCst)
            || self.0.lock().is_ok_and(|t| {
                t.iter()
                    .any(|l| l.contains("Cannot allocate memory") || l.contains("out of memory"))
            })
    }

    /// The last non-empty line.
    pub fn last(&self) -> Option<String> {
        self.0
            .lock()
            .ok()?
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .cloned()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ends_are_described_with_the_signal_or_the_code() {
        let sh = Path::new("/bin/sh");
        for (script, expected) in [
            ("exit 0", "exited with code 0"),
            ("exit 3", "exited with code 3"),
            ("kill -SEGV $$", "killed by signal 11 (SIGSEGV"),
        ] {
            let args = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(script)];
            let (mut child, _contained) = spawn(sh, &args, Limits::default()).unwrap();
            let status = child.wait().await.unwrap();
            assert!(
                describe(status).starts_with(expected),
                "{script}: {}",
                describe(status)
            );
        }
    }

    #[test]
    fn a_launcher_starts_the_child_through_it() {
        // `env` as the launcher: the child runs, through it.
        let launcher = Some("/usr/bin/env MARK=launched");
        let mut cmd = command_through(launcher, Path::new("/bin/sh"), Limits::default());
        let out = cmd.args(["-c", "echo $MARK"]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "launched");
        let mut cmd = command_through(None, Path::new("/bin/sh"), Limits::default());
        let out = cmd.args(["-c", "echo ${MARK:-direct}"]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "direct");
    }
}

#[cfg(test)]
mod tail_tests {
    use super::Tail;

    #[test]
    fn an_allocation_failure_is_remembered_past_the_tail_and_said_once() {
        let t = Tail::default();
        assert!(!t.push("a log line about out of memory elsewhere".into()));
        assert!(t.out_of_memory(), "a report is remembered");
        let t = Tail::default();
        assert!(t.push("memory allocation of 67108864 bytes failed".into()));
        assert!(
            !t.push("memory allocation of 64 bytes failed".into()),
            "said once"
        );
        for i in 0..100 {
            t.push(format!("   {i}: a frame of the backtrace"));
        }
        assert!(t.out_of_memory());
    }
}
