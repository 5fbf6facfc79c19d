//! The requests to stop a gateway gets: the operating system's (Ctrl-C and SIGTERM from a
//! terminal, systemd or `kill` on Linux; Ctrl-C, Ctrl-Break, closing the console window and the
//! system shutting down on Windows) and the program's own ([`request`], which the Windows service
//! calls when the service control manager asks it to stop).

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static REQUEST: Notify = Notify::const_new();

/// Asks the process to stop, as a signal would: every [`requested`] resolves, now or when it is
/// next awaited. Safe to call from any thread, any number of times.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    REQUEST.notify_waiters();
}

/// Resolves at the first request to stop. Needs a tokio runtime with its signal driver.
///
/// ```no_run
/// # async fn engine() {}
/// # async fn example() {
/// tokio::select! {
///     _ = engine() => {}
///     _ = oibus_platform::shutdown::requested() => { /* stop the engine cleanly */ }
/// }
/// # }
/// ```
pub async fn requested() {
    listen().requested().await
}

/// The requests to stop, listened to from [`listen`] on.
pub struct Listener(imp::Listener);

/// Listens for the operating system's requests to stop from now on (in a tokio runtime with its
/// signal driver): a SIGTERM or Ctrl-C arriving after this returns is a request, never the
/// default action that ends the process on the spot. Call it before starting what a stop must
/// end cleanly; [`requested`] starts listening only when first polled.
pub fn listen() -> Listener {
    Listener(imp::listen())
}

impl Listener {
    /// Resolves at the first request to stop: the operating system's, or [`request`].
    pub async fn requested(self) {
        tokio::select! {
            _ = self.0.requested() => {}
            _ = asked() => {}
        }
    }
}

/// Resolves once [`request`] has been called (before or after this started).
async fn asked() {
    let notified = REQUEST.notified();
    tokio::pin!(notified);
    // Registered before the flag is read: a request between the two is not missed.
    notified.as_mut().enable();
    if REQUESTED.load(Ordering::SeqCst) {
        return;
    }
    notified.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reaches_waiters_before_and_after_it() {
        let before = tokio::spawn(requested());
        tokio::task::yield_now().await;
        request();
        tokio::time::timeout(std::time::Duration::from_secs(5), before)
            .await
            .expect("a waiter from before the request resolves")
            .expect("the waiter did not panic");
        tokio::time::timeout(std::time::Duration::from_secs(5), requested())
            .await
            .expect("a waiter from after the request resolves at once");
    }
}
