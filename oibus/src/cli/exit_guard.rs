//! A process exit while the engine runs is a failure, even `exit(0)`: a plugin that calls
//! `exit` (or `std::process::exit`) ends the whole gateway, and a supervisor that restarts it on
//! failure must see a failure. While the guard is armed, an exit is turned into exit code 70
//! (EX_SOFTWARE) with a line on standard error.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an exit the engine did not ask for.
pub const UNEXPECTED_EXIT: i32 = 70;

static ARMED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_exit() {
    if ARMED.load(Ordering::SeqCst) {
        let line = b"oibus: the process was ended by exit() while the engine was running (a plugin called exit?): exit code 70\n";
        // SAFETY: plain system calls on a static buffer; `_exit` ends the process without
        // running the other exit handlers again.
        unsafe {
            libc::write(2, line.as_ptr().cast(), line.len());
            libc::_exit(UNEXPECTED_EXIT);
        }
    }
}

/// Arms the guard (once the engine is about to run plugins).
pub fn arm() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    #[cfg(unix)]
    INSTALLED.call_once(|| {
        // SAFETY: registers a handler with no preconditions; it only reads an atomic.
        unsafe {
            libc::atexit(on_exit);
        }
    });
    #[cfg(not(unix))]
    INSTALLED.call_once(|| {});
    ARMED.store(true, Ordering::SeqCst);
}

/// Disarms it: the engine has stopped and the exit that follows is its own.
pub fn disarm() {
    ARMED.store(false, Ordering::SeqCst);
}
