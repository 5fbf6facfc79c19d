//! The engine's housekeeping: the status document every second, a durable commit every ten
//! seconds (sent records are removed without fsync), the logs' retention every ten seconds,
//! archive retention every ten minutes.

use super::status::StatusBoard;
use crate::cache::Store;
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running housekeeping task.
pub struct Background {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Background {
    /// Stops it and waits.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

/// Starts the housekeeping.
pub fn spawn(board: Arc<StatusBoard>, store: Store, status_path: PathBuf) -> Background {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n = 0u64;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = board.write(&status_path) {
                tracing::warn!("cannot write {}: {e}", status_path.display());
            }
            n += 1;
            if n.is_multiple_of(5) {
                board.persist_counters(&store).await;
            }
            // Removals of sent records are committed without fsync; a periodic durable commit
            // bounds what a crash resends and lets the store reuse their pages.
            if n.is_multiple_of(10)
                && let Err(e) = store.flush().await
            {
                tracing::warn!("{e}");
            }
            // The logs' age bound drops entries also when nothing is sent.
            if n.is_multiple_of(10) {
                let logs = board.logs.lock().map(|l| l.clone()).unwrap_or_default();
                for log in logs {
                    if let Err(e) = log.trim().await {
                        tracing::warn!(south = log.south(), "{e}");
                    }
                }
            }
            if n % 600 == 1 {
                let queues = board.queues.lock().map(|q| q.clone()).unwrap_or_default();
                for q in queues {
                    q.purge_archive();
                }
            }
        }
    });
    Background { cancel, task }
}
