//! What the log keeps of cursor moves waiting to be written together (`flush.rs` writes them),
//! and how long a log collects them.

use super::reader::Reader;
use crate::cache::store::StoreError;
use std::{collections::HashMap, time::Duration};

/// Readers above which moves are collected; below, each is written at once (a North sending
/// many batches a second should not wait for others).
const COLLECT_ABOVE: usize = 100;

/// Longest a move waits for others (reached with 10,000 readers).
const MOST: Duration = Duration::from_millis(100);

/// How long moves are collected in a log of `readers` readers (`None`: not collected): 10 µs
/// a reader, at most [`MOST`].
pub fn gap(readers: usize) -> Option<Duration> {
    (readers > COLLECT_ABOVE).then(|| (Duration::from_micros(10) * readers as u32).min(MOST))
}

/// Moves waiting for the next write.
#[derive(Default)]
pub struct Pending {
    /// By North: its cursor, or `None` when it leaves the log.
    pub dirty: HashMap<String, Option<Reader>>,
    /// A write is scheduled.
    pub scheduled: bool,
    /// The number of the next write (the first is 1).
    pub next: u64,
}

/// The writes done: every one up to `upto`, and the failures among the latest.
#[derive(Debug, Clone, Default)]
pub struct Flushed {
    /// Every write up to this number is done (writes may finish out of order).
    upto: u64,
    /// Writes done above `upto`, waiting for those before them.
    ahead: std::collections::BTreeSet<u64>,
    /// The latest failures, by write number.
    failed: std::collections::VecDeque<(u64, StoreError)>,
}

/// Failures remembered for their waiters.
const FAILURES_KEPT: usize = 64;

impl Flushed {
    /// Write `number` is done, with `error` if it failed.
    pub fn complete(&mut self, number: u64, error: Option<StoreError>) {
        if let Some(e) = error {
            if self.failed.len() == FAILURES_KEPT {
                self.failed.pop_front();
            }
            self.failed.push_back((number, e));
        }
        self.ahead.insert(number);
        while self.ahead.remove(&(self.upto + 1)) {
            self.upto += 1;
        }
    }

    /// What became of write `number`: `None` while it (or one before it) is not done.
    pub fn outcome(&self, number: u64) -> Option<Result<(), StoreError>> {
        (number <= self.upto).then(|| match self.failed.iter().find(|(n, _)| *n == number) {
            Some((_, e)) => Err(e.clone()),
            None => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_done_only_once_those_before_it_are_and_keeps_its_own_failure() {
        let mut f = Flushed::default();
        f.complete(2, None);
        assert!(f.outcome(1).is_none());
        assert!(f.outcome(2).is_none(), "write 1 is not done yet");
        f.complete(1, Some(StoreError("disk full".into())));
        assert!(f.outcome(1).unwrap().is_err());
        assert!(f.outcome(2).unwrap().is_ok());
        assert!(f.outcome(3).is_none());
    }

    #[test]
    fn moves_are_collected_only_in_logs_of_many_readers_and_not_for_long() {
        assert_eq!(gap(1), None);
        assert_eq!(gap(COLLECT_ABOVE), None);
        assert_eq!(gap(1000), Some(Duration::from_millis(10)));
        assert_eq!(gap(100_000), Some(MOST));
    }
}
