//! Unix: SIGINT (Ctrl-C) and SIGTERM.

use std::future::pending;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The two signals, listened to from [`listen`] on.
pub struct Listener {
    term: Option<Signal>,
    int: Option<Signal>,
}

/// Installs the handlers now: from here on, the signals are no longer the default action that
/// ends the process.
pub fn listen() -> Listener {
    Listener {
        term: signal(SignalKind::terminate()).ok(),
        int: signal(SignalKind::interrupt()).ok(),
    }
}

impl Listener {
    /// Resolves at the first of the signals (one that cannot be listened to never comes).
    pub async fn requested(self) {
        let wait = |s: Option<Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(self.term) => {}
            _ = wait(self.int) => {}
        }
    }
}
