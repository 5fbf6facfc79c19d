//! Unix: limits and group set between fork and exec; signals named.

use super::limits::Limits;
use std::{
    fs::File,
    io,
    os::unix::process::{CommandExt as _, ExitStatusExt as _},
    process::ExitStatus,
};

pub fn prepare(cmd: &mut std::process::Command, limits: Limits) {
    // glibc reserves 64 MiB of address space per thread arena: without this an address-space
    // limit is used up by arenas before the plugin allocates anything.
    cmd.env("MALLOC_ARENA_MAX", "2");
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
                    return Err(io::Error::last_os_error());
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

/// Nothing to hold: everything was set before exec.
#[derive(Debug)]
pub struct Containment;

pub fn contain(_pid: u32, _limits: Limits) -> io::Result<Containment> {
    Ok(Containment)
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "signal",
    }
}

pub fn abnormal_end(status: ExitStatus) -> Option<String> {
    let signal = status.signal()?;
    let core = if status.core_dumped() {
        ", core dumped"
    } else {
        ""
    };
    Some(format!(
        "killed by signal {signal} ({}{core})",
        signal_name(signal)
    ))
}

pub fn take_protocol_output() -> io::Result<File> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: plain descriptor calls on the process's own standard descriptors; `out` is a new
    // descriptor owned by the returned file.
    unsafe {
        let out = libc::dup(1);
        if out < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(out))
    }
}
