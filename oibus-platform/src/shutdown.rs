//! The requests to stop that the operating system sends a gateway: Ctrl-C and SIGTERM (a
//! terminal, systemd, `kill`) on Linux; Ctrl-C, Ctrl-Break, closing the console window and the
//! system shutting down on Windows (a service's stop request comes through the service control
//! manager instead: see the `oibus service` command).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Resolves at the first request to stop. Needs a tokio runtime with its signal driver.
pub async fn requested() {
    imp::requested().await
}
