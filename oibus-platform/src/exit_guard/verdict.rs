//! Whether the guard is armed, and what it does then: the state the platform hooks read.

use std::sync::{
    OnceLock,
    atomic::{AtomicBool, Ordering},
};

static ARMED: AtomicBool = AtomicBool::new(false);
static VERDICT: OnceLock<(&'static str, i32)> = OnceLock::new();

/// Keeps the line and code of an unexpected exit (the first ones given).
pub fn set(line: &'static str, code: i32) {
    let _ = VERDICT.set((line, code));
}

/// Arms or disarms the guard.
pub fn arm(armed: bool) {
    ARMED.store(armed, Ordering::SeqCst);
}

/// What the platform's hook must do when the process is exiting: end it with this line and
/// code if the guard is armed; `None`: let the exit go on.
fn due() -> Option<(&'static str, i32)> {
    if !ARMED.load(Ordering::SeqCst) {
        return None;
    }
    VERDICT.get().copied()
}

/// What a platform's hook calls when the process is exiting: if the guard is armed, writes its
/// line with `write` and ends the process with `end`; else returns and the exit goes on.
pub fn end_if_due(write: fn(&[u8]), end: fn(i32) -> !) {
    if let Some((line, code)) = due() {
        write(line.as_bytes());
        write(b"\n");
        end(code);
    }
}
