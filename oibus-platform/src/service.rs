//! Running the gateway as a Windows service: registering it with the service control manager,
//! starting, stopping and removing it, and the service's own side ([`serve`]), which turns the
//! manager's stop and shutdown requests into [`crate::shutdown::request`].
//!
//! On Linux the gateway is a systemd service instead (the `.deb` installs `oibus.service`, which
//! runs `oibus run` and stops it with SIGTERM): every function here answers
//! [`ServiceError::Unsupported`] with that hint.

mod types;
pub use types::{Registration, ServiceError, State};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Registers the service (it is not started).
pub fn install(registration: &Registration) -> Result<(), ServiceError> {
    imp::install(registration)
}

/// Removes the service `name`; a running service must be stopped first.
pub fn uninstall(name: &str) -> Result<(), ServiceError> {
    imp::uninstall(name)
}

/// Asks the manager to start the service `name`; returns without waiting (see [`state`]).
pub fn start(name: &str) -> Result<(), ServiceError> {
    imp::start(name)
}

/// Asks the service `name` to stop; returns without waiting (see [`state`]).
pub fn stop(name: &str) -> Result<(), ServiceError> {
    imp::stop(name)
}

/// The state of the service `name`.
pub fn state(name: &str) -> Result<State, ServiceError> {
    imp::state(name)
}

/// The service's side, called by the program the manager started: reports the service running,
/// runs `body` on the manager's service thread, turns a stop or shutdown request into
/// [`crate::shutdown::request`] (so `body` sees it through [`crate::shutdown::requested`]), and
/// reports the service stopped with `body`'s exit code. Returns that code once the manager has
/// been told.
pub fn serve<F>(name: &str, body: F) -> Result<i32, ServiceError>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    imp::serve(name, Box::new(body))
}
