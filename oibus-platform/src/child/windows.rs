//! Windows: a Job object per child, a process group of its own, and exception codes named.

use super::limits::Limits;
use std::{
    fs::File,
    io,
    os::windows::{io::FromRawHandle as _, process::CommandExt as _},
    process::ExitStatus,
    ptr::{null, null_mut},
};
use windows_sys::Win32::{
    Foundation::{CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, HANDLE},
    System::{
        Console::{GetStdHandle, STD_ERROR_HANDLE, STD_OUTPUT_HANDLE, SetStdHandle},
        JobObjects::{
            AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
            JOB_OBJECT_LIMIT_PROCESS_MEMORY, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
            JobObjectExtendedLimitInformation, SetInformationJobObject,
        },
        Threading::{
            CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, GetCurrentProcess, OpenProcess,
            PROCESS_SET_QUOTA, PROCESS_TERMINATE,
        },
    },
};

pub fn prepare(cmd: &mut std::process::Command, _limits: Limits) {
    // Its own group: the console's Ctrl-C reaches the engine, which stops its connectors; the
    // children end when it closes their input, or with its Job object. No console window of
    // its own when the engine runs as a service.
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

/// The child's Job object: closing it (on drop, or when the engine dies) kills the child.
#[derive(Debug)]
pub struct Containment(HANDLE);

// SAFETY: a Job handle may be used and closed from any thread.
unsafe impl Send for Containment {}
// SAFETY: as above; it is only closed, on drop.
unsafe impl Sync for Containment {}

impl Drop for Containment {
    fn drop(&mut self) {
        // SAFETY: the handle was created by `contain` and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

pub fn contain(pid: u32, limits: Limits) -> io::Result<Containment> {
    // SAFETY: plain calls; every handle opened here is either returned or closed.
    unsafe {
        let job = CreateJobObjectW(null(), null());
        if job.is_null() {
            return Err(io::Error::last_os_error());
        }
        let job = Containment(job);
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if let Some(bytes) = limits.max_memory {
            info.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
            info.ProcessMemoryLimit = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if SetInformationJobObject(
            job.0,
            JobObjectExtendedLimitInformation,
            (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        let process = OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid);
        if process.is_null() {
            return Err(io::Error::last_os_error());
        }
        let assigned = AssignProcessToJobObject(job.0, process);
        let error = io::Error::last_os_error();
        CloseHandle(process);
        if assigned == 0 {
            return Err(error);
        }
        Ok(job)
    }
}

/// Names of the exception codes a crashed process ends with.
fn status_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x8000_0003 => "STATUS_BREAKPOINT",
        0xC000_0005 => "STATUS_ACCESS_VIOLATION",
        0xC000_0017 => "STATUS_NO_MEMORY",
        0xC000_001D => "STATUS_ILLEGAL_INSTRUCTION",
        0xC000_0094 => "STATUS_INTEGER_DIVIDE_BY_ZERO",
        0xC000_0096 => "STATUS_PRIVILEGED_INSTRUCTION",
        0xC000_00FD => "STATUS_STACK_OVERFLOW",
        0xC000_0135 => "STATUS_DLL_NOT_FOUND",
        0xC000_0139 => "STATUS_ENTRYPOINT_NOT_FOUND",
        0xC000_013A => "STATUS_CONTROL_C_EXIT",
        0xC000_0142 => "STATUS_DLL_INIT_FAILED",
        0xC000_0374 => "STATUS_HEAP_CORRUPTION",
        // Also how `abort` ends a process (`__fastfail`).
        0xC000_0409 => "STATUS_STACK_BUFFER_OVERRUN",
        0xC000_0420 => "STATUS_ASSERTION_FAILURE",
        _ => return None,
    })
}

pub fn abnormal_end(status: ExitStatus) -> Option<String> {
    let code = status.code()? as u32;
    // Error-severity NTSTATUS values (0xC…) and the breakpoint are crashes, not exit codes.
    if code >> 30 != 0b11 && code != 0x8000_0003 {
        return None;
    }
    Some(match status_name(code) {
        Some(name) => format!("crashed with {code:#010X} ({name})").replacen("0X", "0x", 1),
        None => format!("crashed with {code:#010X}").replacen("0X", "0x", 1),
    })
}

pub fn take_protocol_output() -> io::Result<File> {
    // SAFETY: calls on this process's own standard handles; the duplicate is owned by the file.
    unsafe {
        let out = GetStdHandle(STD_OUTPUT_HANDLE);
        let mut own: HANDLE = null_mut();
        let me = GetCurrentProcess();
        if DuplicateHandle(me, out, me, &mut own, 0, 0, DUPLICATE_SAME_ACCESS) == 0 {
            return Err(io::Error::last_os_error());
        }
        // The C runtime's descriptor 1 (printf), then the handle Rust's `print!` asks for.
        libc::dup2(2, 1);
        if SetStdHandle(STD_OUTPUT_HANDLE, GetStdHandle(STD_ERROR_HANDLE)) == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_handle(own))
    }
}
