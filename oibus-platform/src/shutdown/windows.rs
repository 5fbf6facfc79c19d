//! Windows: the console control events. Windows gives a process a few seconds after a close or
//! shutdown event; the engine's stop is made to fit (it stops connectors with time-outs).

use std::future::pending;
use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};

pub async fn requested() {
    // An event that cannot be listened to is one that never comes.
    let c = async {
        match ctrl_c() {
            Ok(mut s) => s.recv().await,
            Err(_) => pending().await,
        }
    };
    let b = async {
        match ctrl_break() {
            Ok(mut s) => s.recv().await,
            Err(_) => pending().await,
        }
    };
    let close = async {
        match ctrl_close() {
            Ok(mut s) => s.recv().await,
            Err(_) => pending().await,
        }
    };
    let shutdown = async {
        match ctrl_shutdown() {
            Ok(mut s) => s.recv().await,
            Err(_) => pending().await,
        }
    };
    tokio::select! {
        _ = c => {}
        _ = b => {}
        _ = close => {}
        _ = shutdown => {}
    }
}
