//! Cursor moves written together: a log read by many Norths collects their moves for a short
//! while and writes them in one transaction, each North waiting for the write that carries its
//! own move (so a crash still sends again at most what was in flight).
//!
//! Measured (BENCHMARKS.md, "Many connectors"): with one write per move, 10,000 Norths each
//! sending once a second made about 13 MB/s of store writes, every transaction rewriting the
//! pages of the cursors it moved.

use super::{Reader, State, ValueLog, pending::gap};
use crate::cache::store::{Op, StoreError};
use std::sync::MutexGuard;

impl ValueLog {
    /// Records North `north`'s move (`None`: it leaves the log) for the next write, schedules
    /// that write if needed, and returns once it is done.
    pub(super) fn flush_later(
        &self,
        mut st: MutexGuard<'_, State>,
        north: &str,
        change: Option<Reader>,
    ) -> impl Future<Output = Result<(), StoreError>> + use<> {
        st.flush.dirty.insert(north.to_string(), change);
        let number = st.flush.next.max(1);
        st.flush.next = number;
        if !st.flush.scheduled {
            st.flush.scheduled = true;
            let (me, wait) = (self.me.clone(), gap(st.readers.len()).unwrap_or_default());
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                if let Some(log) = me.upgrade() {
                    log.flush().await;
                }
            });
        }
        let mut flushed = self.flushed.subscribe();
        drop(st);
        async move {
            let mut outcome = None;
            flushed
                .wait_for(|f| {
                    outcome = f.outcome(number);
                    outcome.is_some()
                })
                .await
                .map_err(|_| StoreError("the log was closed".into()))?;
            outcome.unwrap_or(Ok(()))
        }
    }

    /// Writes every move collected, in one durable transaction.
    async fn flush(&self) {
        let (number, submitted) = {
            let mut st = self.lock();
            st.flush.scheduled = false;
            let number = st.flush.next.max(1);
            st.flush.next = number + 1;
            let ops: Vec<Op> = st
                .flush
                .dirty
                .drain()
                .map(|(north, r)| match r {
                    Some(r) => Op::PutState {
                        key: self.reader_key(&north),
                        value: r.encode(),
                    },
                    None => Op::RemoveState {
                        key: self.reader_key(&north),
                    },
                })
                .collect();
            (number, self.store.submit(ops, true))
        };
        let error = match submitted {
            Ok(done) => done.await.err(),
            Err(e) => Some(e),
        };
        if let Some(e) = &error {
            tracing::error!(
                south = self.south,
                "cannot write the cursors of the log: {e}"
            );
        }
        self.flushed.send_modify(|f| f.complete(number, error));
    }
}
