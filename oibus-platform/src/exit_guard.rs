//! A process exit that nobody in the engine asked for is a failure, even `exit(0)`: a plugin that
//! calls `exit` ends the whole gateway, and a supervisor that restarts it on failure must see a
//! failure. While the guard is armed, such an exit writes a line on standard error and ends the
//! process with the guard's code instead.
//!
//! Linux: an `atexit` handler. Windows: a TLS callback, which runs on `ExitProcess` (what both
//! the C runtime's `exit` and Rust's `std::process::exit` call there).

#[cfg(unix)]
mod unix;
mod verdict;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Arms the guard: until [`disarm`], an exit writes `line` (with a newline) on standard error
/// and ends the process with `code`. The first `line` and `code` given are kept.
pub fn arm(line: &'static str, code: i32) {
    verdict::set(line, code);
    imp::install();
    verdict::arm(true);
}

/// Disarms it: the exit that follows is the engine's own.
pub fn disarm() {
    verdict::arm(false);
}
