//! Starting a plugin-host child process with the operating system's limits, and saying in words
//! how it ended.

use std::{
    collections::VecDeque,
    path::Path,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
};
use tokio::process::{Child, Command};

/// Limits applied to a child before it runs any plugin code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Address-space limit in bytes (`RLIMIT_AS`); `None`: the engine's own.
    pub max_memory: Option<u64>,
}

/// Starts `exe args…` with piped standard streams, killed when dropped and (on Linux) when the
/// engine dies, with `limits`.
pub fn spawn(exe: &Path, args: &[&std::ffi::OsStr], limits: Limits) -> std::io::Result<Child> {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // glibc reserves 64 MiB of address space per thread arena: without this an address-space
        // limit is used up by arenas before the plugin allocates anything.
        .env("MALLOC_ARENA_MAX", "2");
    #[cfg(unix)]
    {
        let max_memory = limits.max_memory;
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // async-signal-safe functions (setrlimit, prctl, setpgid, signal).
        unsafe {
            cmd.pre_exec(move || {
                if let Some(bytes) = max_memory {
                    let limit = libc::rlimit {
                        rlim_cur: bytes as libc::rlim_t,
                        rlim_max: bytes as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                #[cfg(target_os = "linux")]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                // The engine decides when its children end: a Ctrl-C or a SIGTERM sent to the
                // whole group (a terminal, `timeout`, systemd) reaches the engine, which stops
                // its connectors; the children end when it closes their input or dies.
                libc::setpgid(0, 0);
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = limits;
    cmd.spawn()
}

/// The name of a signal number.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => "signal",
    }
}

/// How a process ended, in words: `killed by signal 11 (SIGSEGV)`, `exited with code 0`.
pub fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            let core = if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            };
            return format!("killed by signal {signal} ({}{core})", signal_name(signal));
        }
    }
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "ended".to_string(),
    }
}

/// The last lines a child wrote on its standard error, for the diagnosis of its end.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    const LINES: usize = 20;

    /// Keeps `line`.
    pub fn push(&self, line: String) {
        if let Ok(mut t) = self.0.lock() {
            if t.len() == Self::LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }

    /// Whether the child reported running out of memory (Rust's allocation-failure message,
    /// the C library's `Cannot allocate memory`).
    pub fn out_of_memory(&self) -> bool {
        self.0.lock().is_ok_and(|t| {
            t.iter().any(|l| {
                l.contains("memory allocation of")
                    || l.contains("Cannot allocate memory")
                    || l.contains("out of memory")
            })
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
            ("kill -ABRT $$", "killed by signal 6 (SIGABRT"),
        ] {
            let args = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(script)];
            let mut child = spawn(sh, &args, Limits::default()).unwrap();
            let status = child.wait().await.unwrap();
            assert!(
                describe(status).starts_with(expected),
                "{script}: {}",
                describe(status)
            );
        }
    }

    #[tokio::test]
    async fn the_memory_limit_applies_to_the_child() {
        // A shell limited to 64 MiB of address space cannot start a 512 MiB allocation.
        let args = [
            std::ffi::OsStr::new("-c"),
            std::ffi::OsStr::new("ulimit -v"),
        ];
        let child = spawn(
            Path::new("/bin/sh"),
            &args,
            Limits {
                max_memory: Some(64 << 20),
            },
        )
        .unwrap();
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "65536");
    }
}
