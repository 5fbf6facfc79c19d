//! Windows: the console control events. Windows gives a process a few seconds after a close or
//! shutdown event; the engine's stop is made to fit (it stops connectors with time-outs).

use std::future::pending;
use tokio::signal::windows::{
    CtrlBreak, CtrlC, CtrlClose, CtrlShutdown, ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown,
};

/// The four events, listened to from [`listen`] on.
pub struct Listener {
    c: Option<CtrlC>,
    b: Option<CtrlBreak>,
    close: Option<CtrlClose>,
    shutdown: Option<CtrlShutdown>,
}

/// Installs the handlers now: from here on, the events no longer end the process at once.
pub fn listen() -> Listener {
    Listener {
        c: ctrl_c().ok(),
        b: ctrl_break().ok(),
        close: ctrl_close().ok(),
        shutdown: ctrl_shutdown().ok(),
    }
}

impl Listener {
    /// Resolves at the first of the events (one that cannot be listened to never comes).
    pub async fn requested(self) {
        let Self {
            c,
            b,
            close,
            shutdown,
        } = self;
        let c = async move {
            match c {
                Some(mut s) => s.recv().await,
                None => pending().await,
            }
        };
        let b = async move {
            match b {
                Some(mut s) => s.recv().await,
                None => pending().await,
            }
        };
        let close = async move {
            match close {
                Some(mut s) => s.recv().await,
                None => pending().await,
            }
        };
        let shutdown = async move {
            match shutdown {
                Some(mut s) => s.recv().await,
                None => pending().await,
            }
        };
        tokio::select! {
            _ = c => {}
            _ = b => {}
            _ = close => {}
            _ = shutdown => {}
        }
    }
}
