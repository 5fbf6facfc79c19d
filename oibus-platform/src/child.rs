//! Plugin-host child processes: started in their own group with the engine's limits, ending
//! with the engine, and described in words when they end; and, in the child, the protocol
//! channel taken from standard output before any plugin code runs.
//!
//! Linux: an address-space limit (`RLIMIT_AS`), `PR_SET_PDEATHSIG`, a process group of its own
//! that ignores the terminal's Ctrl-C, and signals named. Windows: a Job object (committed-memory
//! limit, every process killed when the engine's handle closes, which it does when the engine
//! dies), `CREATE_NEW_PROCESS_GROUP`, and exception codes (NTSTATUS) named.

use std::{fs::File, io, process::ExitStatus};

mod limits;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

pub use limits::Limits;

/// Sets on `cmd` what must be set before the child starts: its own process group, and on Linux
/// its limits and its death with the engine.
pub fn prepare(cmd: &mut std::process::Command, limits: Limits) {
    imp::prepare(cmd, limits);
}

/// What keeps a started child within its limits and ties its life to the engine's, for as long
/// as it is held (on Windows, its Job object: dropping it kills the child). Keep it until the
/// child has been waited for.
#[derive(Debug)]
pub struct Contained(#[allow(dead_code)] imp::Containment);

impl Contained {
    /// Ends the containment now (Windows: closes the Job object, which kills the child if it
    /// still runs); dropping it does the same.
    pub fn release(self) {}
}

/// Applies what can only be applied once the child runs (Windows: its Job object). Call it right
/// after the spawn, with the child's process id.
pub fn contain(pid: u32, limits: Limits) -> io::Result<Contained> {
    imp::contain(pid, limits).map(Contained)
}

/// How a process ended, in words: `killed by signal 11 (SIGSEGV)`, `crashed with 0xC0000005
/// (STATUS_ACCESS_VIOLATION)`, `exited with code 0`.
pub fn describe(status: ExitStatus) -> String {
    if let Some(how) = imp::abnormal_end(status) {
        return how;
    }
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "ended".to_string(),
    }
}

/// In the child: takes the protocol channel (the original standard output) and sends standard
/// output to standard error from then on, for this process and its C runtime, so that a plugin
/// that prints cannot corrupt the protocol.
pub fn take_protocol_output() -> io::Result<File> {
    imp::take_protocol_output()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell command line for this platform.
    fn shell(script: &str) -> std::process::Command {
        #[cfg(unix)]
        let (exe, flag) = ("/bin/sh", "-c");
        #[cfg(windows)]
        let (exe, flag) = ("cmd.exe", "/C");
        let mut cmd = std::process::Command::new(exe);
        cmd.args([flag, script]);
        cmd
    }

    #[test]
    fn a_prepared_and_contained_child_runs_and_its_end_is_described() {
        let mut cmd = shell("exit 3");
        prepare(&mut cmd, Limits::default());
        let mut child = cmd.spawn().unwrap();
        let contained = contain(child.id(), Limits::default()).unwrap();
        let status = child.wait().unwrap();
        contained.release();
        assert_eq!(describe(status), "exited with code 3");
    }

    #[cfg(unix)]
    #[test]
    fn signals_are_named() {
        for (script, expected) in [
            ("kill -SEGV $$", "killed by signal 11 (SIGSEGV"),
            ("kill -ABRT $$", "killed by signal 6 (SIGABRT"),
        ] {
            let status = shell(script).status().unwrap();
            assert!(
                describe(status).starts_with(expected),
                "{}",
                describe(status)
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_memory_limit_applies_to_the_child() {
        // A shell limited to 64 MiB of address space says so.
        let mut cmd = shell("ulimit -v");
        let limits = Limits {
            max_memory: Some(64 << 20),
        };
        prepare(&mut cmd, limits);
        let out = cmd.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "65536");
    }

    #[cfg(windows)]
    #[test]
    fn exception_codes_are_named() {
        use std::os::windows::process::ExitStatusExt as _;
        let status = ExitStatus::from_raw(0xC000_0005);
        assert_eq!(
            describe(status),
            "crashed with 0xC0000005 (STATUS_ACCESS_VIOLATION)"
        );
        let status = ExitStatus::from_raw(0xC000_0409);
        assert!(describe(status).contains("STATUS_STACK_BUFFER_OVERRUN"));
        assert_eq!(describe(ExitStatus::from_raw(2)), "exited with code 2");
    }

    /// Not a test of its own: the long-lived child of the test below (this test binary, asked
    /// to run only this).
    #[test]
    #[ignore = "run by a_contained_child_dies_when_its_containment_is_dropped"]
    fn sleeper() {
        std::thread::sleep(std::time::Duration::from_secs(30));
    }

    #[test]
    fn a_contained_child_dies_when_its_containment_is_dropped() {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--ignored",
            "--exact",
            "child::tests::sleeper",
            "--nocapture",
        ]);
        prepare(&mut cmd, Limits::default());
        let mut child = cmd.spawn().unwrap();
        let contained = contain(child.id(), Limits::default()).unwrap();
        let started = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(child.try_wait().unwrap().is_none(), "the sleeper runs");
        contained.release();
        if cfg!(unix) {
            // Nothing to close on Unix: the child dies with the engine (PR_SET_PDEATHSIG).
            child.kill().unwrap();
        }
        // Ended long before its 30 s (the exit code of a Job's kill is not specified).
        child.wait().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
