//! Writing to a closed pipe (`oibus plugins list | head`): on Unix a short-lived command should
//! die quietly of SIGPIPE as other tools do, which Rust turns off by default; Windows has no such
//! signal (the write fails, and the command reports it).

/// Restores the default action of writing to a closed pipe, for a short-lived command. Call it
/// at start-up, before any thread exists; never for the engine, for which a closed socket is an
/// error to handle, not its end.
pub fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
