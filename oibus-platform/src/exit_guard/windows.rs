//! Windows: a TLS callback of the executable, called with `DLL_PROCESS_DETACH` when the process
//! exits through `ExitProcess` (after the other threads are gone).

use std::ffi::c_void;
use windows_sys::Win32::{
    Storage::FileSystem::WriteFile,
    System::{
        Console::{GetStdHandle, STD_ERROR_HANDLE},
        SystemServices::DLL_PROCESS_DETACH,
        Threading::{GetCurrentProcess, TerminateProcess},
    },
};

unsafe extern "system" fn on_tls(_module: *mut c_void, reason: u32, _reserved: *mut c_void) {
    if reason == DLL_PROCESS_DETACH {
        super::verdict::end_if_due(write_stderr, end_now);
    }
}

/// Placed among the C runtime's TLS callbacks (`.CRT$XL?`, read by the loader through the
/// executable's TLS directory, which Rust's standard library already has).
#[used]
#[unsafe(link_section = ".CRT$XLY")]
static TLS_CALLBACK: unsafe extern "system" fn(*mut c_void, u32, *mut c_void) = on_tls;

pub fn install() {
    // Keeps the callback's object file in the link.
    std::hint::black_box(&TLS_CALLBACK);
}

fn write_stderr(bytes: &[u8]) {
    let mut written = 0u32;
    // SAFETY: a plain write of a live buffer to the standard error handle.
    unsafe {
        WriteFile(
            GetStdHandle(STD_ERROR_HANDLE),
            bytes.as_ptr(),
            bytes.len() as u32,
            &mut written,
            std::ptr::null_mut(),
        );
    }
}

fn end_now(code: i32) -> ! {
    // SAFETY: ends this process at once with `code`; the exit already under way is replaced.
    unsafe {
        TerminateProcess(GetCurrentProcess(), code as u32);
    }
    // TerminateProcess of the current process does not return.
    std::process::abort()
}
