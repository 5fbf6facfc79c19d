//! What differs between the platforms the gateway runs on (Linux, Windows), behind one API per
//! concern. Every other crate calls these functions and holds no `cfg(unix)` or `cfg(windows)`
//! of its own for them.
//!
//! - [`allocator`]: how the process uses the C library's allocator (glibc's arenas).
//! - [`broken_pipe`]: what writing to a closed pipe does to a short-lived command.
//! - [`durable`]: making a write survive a power cut (syncing files, folders and renames).
//! - [`private`]: files and folders only their owner can read (tokens, keys, plugin copies).
//! - [`child`]: plugin-host child processes: limits, dying with the engine, how they ended,
//!   and the child's side of its protocol channel.
//! - [`file_marks`]: telling versions of a file apart without reading it.
//! - [`exit_guard`]: turning an `exit()` called by a plugin into a visible failure.
//! - [`service`]: the gateway as a Windows service (registered, started, stopped, served).
//! - [`shutdown`]: the requests to stop that the operating system sends (Ctrl-C, SIGTERM,
//!   console close, system shutdown).
//!
//! Each module is a file stating the API, with one implementation per platform beside it
//! (`unix.rs`, `windows.rs`).

pub mod allocator;
pub mod broken_pipe;
pub mod child;
pub mod durable;
pub mod exit_guard;
pub mod file_marks;
pub mod private;
pub mod service;
pub mod shutdown;
