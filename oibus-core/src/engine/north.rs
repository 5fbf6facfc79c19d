//! Sending a North's cache: in order, grouped, retried with back-off, and moved to the error
//! store after `retry_count` failures or a permanent error.

use super::status::{ConnectorStatus, bump};
use crate::{
    cache::{Next, NorthQueue},
    config::CachingConfig,
    connector::{Connector, ConnectorError},
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Longest wait between two retries.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// The sender of one North.
pub struct NorthSender {
    /// The connector.
    pub connector: Arc<Connector>,
    /// Its queues.
    pub queue: Arc<NorthQueue>,
    /// Its caching policy.
    pub caching: CachingConfig,
    /// Its status.
    pub status: Arc<ConnectorStatus>,
    /// Whether it is connected.
    pub connected: watch::Receiver<bool>,
    /// Where a timed-out call reports a lost connection.
    pub lost: mpsc::Sender<String>,
}

enum Outcome {
    Sent,
    Failed,
    Cancelled,
}

impl NorthSender {
    /// Sends until `cancel`.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            // Wait to be connected.
            while !*self.connected.borrow_and_update() {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    r = self.connected.changed() => if r.is_err() { return },
                }
            }
            let arrived = self.queue.arrived.notified();
            let next = match self.queue.next() {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("{e}");
                    self.status.error(e.to_string());
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                    }
                }
            };
            let outcome = match next {
                Next::Wait(d) => {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(d) => {}
                        () = arrived => {}
                        r = self.connected.changed() => if r.is_err() { return },
                    }
                    continue;
                }
                Next::Values(keys, values) => self.send_values(keys, values, &cancel).await,
                Next::File(key, record) => self.send_file(key, record, &cancel).await,
            };
            if let Outcome::Cancelled = outcome {
                return;
            }
        }
    }

    /// Retries a send until it succeeds, fails for good, or is cancelled.
    async fn retrying<F, Fut>(&self, what: &str, cancel: &CancellationToken, mut send: F) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), ConnectorError>>,
    {
        let (mut failures, mut lost) = (0u32, 0u32);
        loop {
            // A send in progress is finished even when the engine stops (within the data
            // time-out): cutting it short would make the North receive it twice.
            let result = send().await;
            let e = match result {
                Ok(()) => return Outcome::Sent,
                Err(e) => e,
            };
            bump(&self.status.counters.send_failures, 1);
            self.status.error(e.to_string());
            if e.is_connection_lost() {
                // Not the data's fault: the engine reconnects, and the batch waits for it
                // without counting against `retry_count`.
                let _ = self.lost.try_send(e.to_string());
                lost += 1;
                let wait = self
                    .caching
                    .retry_interval
                    .0
                    .saturating_mul(1 << (lost - 1).min(8))
                    .min(MAX_RETRY_WAIT);
                tracing::warn!("{what}: {e}: sent again once reconnected (in {wait:?})");
                tokio::select! {
                    () = cancel.cancelled() => return Outcome::Cancelled,
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            if !e.is_retryable() {
                tracing::error!("{what}: {e}: moved to the error store");
                return Outcome::Failed;
            }
            failures += 1;
            if failures > self.caching.retry_count {
                tracing::error!("{what}: {e}: failed {failures} times, moved to the error store");
                return Outcome::Failed;
            }
            let wait = self
                .caching
                .retry_interval
                .0
                .saturating_mul(1 << (failures - 1).min(16))
                .min(MAX_RETRY_WAIT);
            tracing::warn!(
                "{what}: {e}: retry {failures}/{} in {wait:?}",
                self.caching.retry_count
            );
            tokio::select! {
                () = cancel.cancelled() => return Outcome::Cancelled,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn send_values(
        &self,
        keys: Vec<u64>,
        values: Vec<oibus_plugin_api::OibusValue>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let count = values.len() as u64;
        let what = format!("{count} values");
        let mut first = Some(values);
        let outcome = self
            .retrying(&what, cancel, || {
                // The first attempt takes the batch; a retry reads it again from the cache.
                let values = first.take();
                let queue = self.queue.clone();
                let keys = keys.clone();
                let connector = self.connector.clone();
                async move {
                    let values = match values {
                        Some(v) => v,
                        None => queue
                            .read_values(&keys)
                            .map_err(|e| ConnectorError::Engine {
                                connector: connector.id().to_string(),
                                message: e.to_string(),
                            })?,
                    };
                    connector.handle_values(values).await
                }
            })
            .await;
        let stored = match outcome {
            Outcome::Sent => {
                bump(&self.status.counters.values_sent, count);
                self.queue.values_sent(keys).await
            }
            Outcome::Failed => {
                bump(&self.status.counters.values_to_error, count);
                self.queue.values_failed(keys).await
            }
            Outcome::Cancelled => Ok(()),
        };
        if let Err(e) = stored {
            tracing::error!("{e}");
        }
        outcome
    }

    async fn send_file(
        &self,
        key: u64,
        record: crate::cache::FileRecord,
        cancel: &CancellationToken,
    ) -> Outcome {
        let what = format!("file {}", record.name);
        let outcome = self
            .retrying(&what, cancel, || self.connector.handle_file(&record.path))
            .await;
        let stored = match outcome {
            Outcome::Sent => {
                bump(&self.status.counters.files_sent, 1);
                self.queue.file_sent(key).await
            }
            Outcome::Failed => {
                bump(&self.status.counters.files_to_error, 1);
                self.queue.file_failed(key).await
            }
            Outcome::Cancelled => Ok(()),
        };
        if let Err(e) = stored {
            tracing::error!("{e}");
        }
        outcome
    }
}
