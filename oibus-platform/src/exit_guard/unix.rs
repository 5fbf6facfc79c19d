//! Unix: an `atexit` handler.

extern "C" fn at_exit() {
    super::verdict::end_if_due(write_stderr, end_now);
}

pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a handler with no preconditions.
    INSTALLED.call_once(|| unsafe {
        libc::atexit(at_exit);
    });
}

fn write_stderr(bytes: &[u8]) {
    // SAFETY: a plain write of a live buffer to descriptor 2.
    unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    }
}

fn end_now(code: i32) -> ! {
    // SAFETY: ends the process without running the exit handlers again.
    unsafe { libc::_exit(code) }
}
