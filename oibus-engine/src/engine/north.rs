//! Sending a North's cache: in order, grouped, retried with back-off, and set aside in the error
//! store when the data is at fault.
//!
//! The error model the engine enforces (the vendor guide documents it):
//! - `connection-lost` (or a call that timed out): not the data's fault. The engine reconnects and
//!   the same entry is sent again, without bound, except that an entry that makes the connection
//!   drop again after `retry_count + 2` successful reconnections in a row is taken to be at fault
//!   and handled as an exhausted transient error.
//! - `transient`: retried up to `retry_count` times with back-off, then the whole group goes to
//!   the error store.
//! - `permanent` (and `invalid-settings`, `not-supported`): the data is refused. A group of values
//!   is split in halves until the refused values are isolated: only they go to the error store,
//!   every other value is sent, in order. A refused file goes to the error store.

use super::status::{ConnectorStatus, bump};
use crate::{
    cache::{Batches, Next, NorthQueue, error_entry::SetAside},
    config::CachingConfig,
    connector::{ConnectorError, ConnectorHandle},
};
use oibus_plugin_api::OibusValue;
use std::{collections::VecDeque, sync::Arc, sync::atomic::Ordering, time::Duration};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Longest wait between two retries.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// The sender of one North.
pub struct NorthSender {
    /// The connector.
    pub connector: Arc<ConnectorHandle>,
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
    /// The connector type takes several files a call (`HandlesFileBatches`).
    pub file_batches: bool,
}

/// How sending one entry (or part of a group) ended.
#[derive(Debug)]
enum Outcome {
    Sent,
    /// Set aside: `permanent` when the destination refused the data itself.
    Failed {
        permanent: bool,
        error: String,
    },
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
            let next = match self.queue.next(self.file_batches) {
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
                Next::Values(batches, values) => self.send_values(batches, values, &cancel).await,
                Next::File(key, record) => self.send_file(key, record, None, &cancel).await,
                Next::Files(batch) => self.send_files(batch, &cancel).await,
            };
            if let Outcome::Cancelled = outcome {
                return;
            }
        }
    }

    fn connects(&self) -> u64 {
        self.status.counters.connects.load(Ordering::Relaxed)
    }

    /// After a lost connection: waits until the engine has connected again (or `wait` passed
    /// without a reconnection, when the connector still counts as connected).
    async fn reconnected(&self, before: u64, wait: Duration, cancel: &CancellationToken) -> bool {
        let mut connected = self.connected.clone();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let up = *connected.borrow_and_update();
            if up && (self.connects() > before || tokio::time::Instant::now() >= deadline) {
                return true;
            }
            tokio::select! {
                () = cancel.cancelled() => return false,
                r = connected.changed() => if r.is_err() { return false },
                () = tokio::time::sleep_until(deadline), if up => {}
            }
        }
    }

    /// Retries a send until it succeeds, fails for good, or is cancelled. A refusal of the data
    /// (a permanent error) is returned without a word: the caller says what it does with it.
    /// While a refused group is cut in halves (`isolating`), the refusals of its parts are
    /// expected: they count as no send failure.
    async fn retrying<F, Fut>(
        &self,
        what: &str,
        cancel: &CancellationToken,
        isolating: bool,
        mut send: F,
    ) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), ConnectorError>>,
    {
        let (mut failures, mut lost, mut suspect) = (0u32, 0u32, 0u32);
        let mut lost_at: Option<u64> = None;
        loop {
            // A send in progress is finished even when the engine stops (within the data
            // time-out): cutting it short would make the North receive it twice.
            let result = send().await;
            let e = match result {
                Ok(()) => {
                    self.status.ok();
                    return Outcome::Sent;
                }
                Err(e) => e,
            };
            if isolating && !e.is_retryable() && !e.is_connection_lost() {
                return Outcome::Failed {
                    permanent: true,
                    error: e.reason(),
                };
            }
            bump(&self.status.counters.send_failures, 1);
            self.status.error(format!("{what}: {e}"));
            if failures + lost >= 1 {
                self.status.set_blocked(true);
            }
            if e.is_connection_lost() {
                // Not the data's fault, unless the connection drops on this entry every time
                // right after the engine reconnected.
                let connects = self.connects();
                if lost_at.is_some_and(|at| connects > at) {
                    suspect += 1;
                }
                lost_at = Some(connects);
                if suspect > self.caching.retry_count + 1 {
                    let error = format!(
                        "{e}: the connection was lost {} times in a row while sending this, \
                         each time after the engine had connected again",
                        suspect + 1
                    );
                    tracing::error!("{what}: {error}: moved to the error store");
                    return Outcome::Failed {
                        permanent: false,
                        error,
                    };
                }
                let _ = self.lost.try_send(e.to_string());
                lost += 1;
                let wait = self
                    .caching
                    .retry_interval
                    .0
                    .saturating_mul(1 << (lost - 1).min(8))
                    .min(MAX_RETRY_WAIT);
                tracing::warn!("{what}: {e}: sent again once reconnected");
                if !self.reconnected(connects, wait, cancel).await {
                    return Outcome::Cancelled;
                }
                continue;
            }
            if !e.is_retryable() {
                return Outcome::Failed {
                    permanent: true,
                    error: e.reason(),
                };
            }
            failures += 1;
            if failures > self.caching.retry_count {
                tracing::error!("{what}: {e}: failed {failures} times, moved to the error store");
                return Outcome::Failed {
                    permanent: false,
                    error: e.to_string(),
                };
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
        batches: Batches,
        values: Vec<OibusValue>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let count = values.len();
        let what = format!("{count} values");
        let mut first = Some(values);
        let outcome = self
            .retrying(&what, cancel, false, || {
                // The first attempt takes the group; a retry reads it again from the cache.
                let values = first.take();
                let (queue, batches, connector) =
                    (self.queue.clone(), batches.clone(), self.connector.clone());
                async move {
                    let values = match values {
                        Some(v) => v,
                        None => {
                            queue
                                .read_values(&batches)
                                .map_err(|e| ConnectorError::Engine {
                                    connector: connector.id().to_string(),
                                    message: e.to_string(),
                                })?
                        }
                    };
                    connector.handle_values(values).await
                }
            })
            .await;
        // What the destination refused: nothing, some values with the reasons (found by halving
        // a refused group) or, `None`, the whole group.
        let refused = match &outcome {
            Outcome::Cancelled => return outcome,
            Outcome::Sent => Some((Vec::new(), Vec::new())),
            Outcome::Failed {
                permanent: true,
                error,
            } if count > 1 => {
                tracing::debug!(
                    "{what}: refused ({error}): sent again in halves to find the refused values"
                );
                match self.queue.read_values(&batches) {
                    Ok(all) => match self.isolate(all, cancel).await {
                        Some(refused) => Some(refused),
                        None => return Outcome::Cancelled,
                    },
                    Err(e) => {
                        tracing::error!("{e}");
                        None
                    }
                }
            }
            Outcome::Failed { .. } => None,
        };
        let stored = match refused {
            Some((refused, _)) if refused.is_empty() => {
                bump(&self.status.counters.values_sent, count as u64);
                self.queue.values_sent(batches).await
            }
            Some((refused, reasons)) => {
                let n = refused.len() as u64;
                let why = SetAside::now(&reasons.join("; "));
                tracing::warn!(
                    "{n} of {count} values refused by the destination, moved to the error store: {}",
                    why.reason
                );
                self.status
                    .error(format!("{n} value(s) refused: {}", why.reason));
                bump(&self.status.counters.values_sent, count as u64 - n);
                bump(&self.status.counters.values_to_error, n);
                self.queue
                    .values_partly_failed(batches, refused, &why)
                    .await
            }
            None => {
                let (permanent, error) = match &outcome {
                    Outcome::Failed { permanent, error } => (*permanent, error.as_str()),
                    _ => (false, ""),
                };
                if permanent {
                    tracing::warn!("{what}: refused: {error}: moved to the error store");
                }
                bump(&self.status.counters.values_to_error, count as u64);
                self.queue
                    .values_failed(batches, &SetAside::now(error))
                    .await
            }
        };
        self.status.set_blocked(false);
        if let Err(e) = stored {
            tracing::error!("{e}");
        }
        outcome
    }

    /// Sends a group the destination refused in halves, down to the refused values, in order.
    /// Returns the values refused (for the error store) and the distinct reasons given; `None`
    /// when cancelled (checked between parts). The halves refused on the way are not logged nor counted as failures:
    /// the caller says once what was refused.
    async fn isolate(
        &self,
        values: Vec<OibusValue>,
        cancel: &CancellationToken,
    ) -> Option<(Vec<OibusValue>, Vec<String>)> {
        let halves = |lo: usize, hi: usize| [(lo, lo + (hi - lo) / 2), (lo + (hi - lo) / 2, hi)];
        let mut todo: VecDeque<(usize, usize)> = halves(0, values.len()).into();
        let (mut refused, mut reasons) = (Vec::new(), Vec::<String>::new());
        while let Some((lo, hi)) = todo.pop_front() {
            // A stop ends the search between two parts: the group stays in the cache, sent
            // again (its accepted parts too) at the next start. Without this, a destination
            // that refuses every value kept a stopping engine sending them one by one.
            if cancel.is_cancelled() {
                return None;
            }
            let part = &values[lo..hi];
            let what = if hi - lo == 1 {
                format!(
                    "value of {:?} at {}",
                    part[0].point_id.as_str(),
                    part[0].timestamp
                )
            } else {
                format!("{} values (part of a refused group)", hi - lo)
            };
            let outcome = self
                .retrying(&what, cancel, true, || {
                    self.connector.handle_values(part.to_vec())
                })
                .await;
            match outcome {
                Outcome::Sent => {}
                Outcome::Cancelled => return None,
                Outcome::Failed {
                    permanent: true, ..
                } if hi - lo > 1 => {
                    let [a, b] = halves(lo, hi);
                    todo.push_front(b);
                    todo.push_front(a);
                }
                Outcome::Failed { error, .. } => {
                    if !reasons.contains(&error) {
                        reasons.push(error);
                    }
                    refused.extend_from_slice(part);
                }
            }
        }
        Some((refused, reasons))
    }

    /// Sends a batch of files in one `handle_files` call; when it fails, sends them again one
    /// at a time, so that the file at fault is retried or set aside alone.
    async fn send_files(
        &self,
        batch: Vec<(u64, crate::cache::FileRecord)>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let mut paths = Vec::with_capacity(batch.len());
        for (key, record) in &batch {
            match self.queue.file_to_send(*key, record) {
                Ok(p) => paths.push(p),
                Err(e) => {
                    tracing::warn!("{e}");
                    break;
                }
            }
        }
        if paths.len() == batch.len() {
            match self.connector.handle_files(&paths).await {
                Ok(()) => {
                    self.status.ok();
                    bump(&self.status.counters.files_sent, batch.len() as u64);
                    let sent: Vec<_> = batch.iter().map(|(k, _)| *k).zip(paths).collect();
                    if let Err(e) = self.queue.files_sent(&sent).await {
                        tracing::error!("{e}");
                    }
                    return Outcome::Sent;
                }
                Err(e) => {
                    bump(&self.status.counters.send_failures, 1);
                    tracing::warn!("{} files: {e}: sent again one at a time", batch.len());
                }
            }
        }
        let mut paths = paths.into_iter();
        for (key, record) in batch {
            if let Outcome::Cancelled = self.send_file(key, record, paths.next(), cancel).await {
                return Outcome::Cancelled;
            }
        }
        Outcome::Sent
    }

    /// Sends one file; `written` is where it was already written out for a failed batch.
    async fn send_file(
        &self,
        key: u64,
        record: crate::cache::FileRecord,
        written: Option<std::path::PathBuf>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let what = format!("file {}", record.name);
        // Written out once (for a file kept inside the store) and handed again on a retry.
        let path = std::sync::Mutex::new(written);
        let outcome = self
            .retrying(&what, cancel, false, || async {
                let known = path.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let p = match known {
                    Some(p) => p,
                    None => {
                        let written = self.queue.file_to_send(key, &record).map_err(|e| {
                            ConnectorError::Engine {
                                connector: self.connector.id().to_string(),
                                message: e.to_string(),
                            }
                        })?;
                        *path.lock().unwrap_or_else(|p| p.into_inner()) = Some(written.clone());
                        written
                    }
                };
                self.connector.handle_file(&p).await
            })
            .await;
        let sent = path
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| record.path.clone());
        let stored = match outcome {
            Outcome::Sent => {
                bump(&self.status.counters.files_sent, 1);
                self.queue.file_sent(key, &sent).await
            }
            Outcome::Failed { ref error, .. } => {
                tracing::error!("{what}: {error}: moved to the error store");
                bump(&self.status.counters.files_to_error, 1);
                self.queue
                    .file_failed(key, &sent, &SetAside::now(error))
                    .await
            }
            Outcome::Cancelled => return outcome,
        };
        self.status.set_blocked(false);
        if let Err(e) = stored {
            tracing::error!("{e}");
        }
        outcome
    }
}
