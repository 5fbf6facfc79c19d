//! What a connector tells the engine about its source besides data: messages it deliberately
//! dropped (with the last reason) and items that fail. Owned by the connector's status, so the
//! figures outlive a restart of the connector or an upgrade of its plugin.

use oibus_plugin_api::Timestamp;
use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// What a report of an item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ItemChange {
    /// It started failing, or fails for another reason.
    Fails,
    /// It failed and works again.
    Recovered,
    /// As before (failing for the same reason, or working).
    None,
}

impl ItemChange {
    /// Logs the change in the current span: a warning when the item starts failing, a line
    /// when it recovers, nothing when it stays as it was.
    pub fn log(self, item: &str, error: Option<&str>) {
        match (self, error) {
            (ItemChange::Fails, Some(e)) => tracing::warn!("item {item:?} fails: {e}"),
            (ItemChange::Recovered, _) => tracing::info!("item {item:?} works again"),
            _ => {}
        }
    }
}

/// Drops are logged at most once in this period (a source that sends a thousand unreadable
/// messages a second must not flood the log); all are counted.
pub const DROP_LOG_PERIOD: Duration = Duration::from_secs(60);

/// The reports of one connector.
#[derive(Debug, Default)]
pub struct SourceReports {
    dropped: AtomicU64,
    last_drop: Mutex<Option<(Timestamp, String)>>,
    /// When a drop was last logged, and the drops since then not logged.
    drop_log: Mutex<(Option<Instant>, u64)>,
    failed_items: Mutex<BTreeMap<String, (Timestamp, String)>>,
}

impl SourceReports {
    /// Counts `count` dropped messages and keeps `reason` as the last one. Returns the line to
    /// log, at most once per [`DROP_LOG_PERIOD`]: it counts the drops that were not logged.
    pub fn dropped(&self, count: u64, reason: &str) -> Option<String> {
        self.dropped.fetch_add(count, Ordering::Relaxed);
        *self.last_drop.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Timestamp::now(), reason.to_string()));
        let mut log = self.drop_log.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if log
            .0
            .is_some_and(|at| now.duration_since(at) < DROP_LOG_PERIOD)
        {
            log.1 += count;
            return None;
        }
        let unlogged = std::mem::take(&mut log.1);
        log.0 = Some(now);
        let mut line = format!("{count} message(s) dropped: {reason}");
        if unlogged > 0 {
            line.push_str(&format!(
                " ({unlogged} more dropped since the last such line, not logged one by one)"
            ));
        }
        line.push_str(&format!(
            "; further drops within {} s are counted in `dropped` without a line each",
            DROP_LOG_PERIOD.as_secs()
        ));
        Some(line)
    }

    /// Item `item` fails with `error`, or works (`None`): what changed, for the caller to log
    /// (once per change, not at every scan).
    pub fn item_status(&self, item: &str, error: Option<&str>) -> ItemChange {
        let mut items = self.failed_items.lock().unwrap_or_else(|p| p.into_inner());
        match error {
            Some(e) => {
                let before = items.insert(item.to_string(), (Timestamp::now(), e.to_string()));
                match before {
                    Some((_, was)) if was == e => ItemChange::None,
                    _ => ItemChange::Fails,
                }
            }
            None => match items.remove(item) {
                Some(_) => ItemChange::Recovered,
                None => ItemChange::None,
            },
        }
    }

    /// Whether an item was reported failing at or after `since`.
    pub fn item_failed_since(&self, since: Timestamp) -> bool {
        self.failed_items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|(at, _)| *at >= since)
    }

    /// Starts the count of drops at `n` (the count kept from an earlier run).
    pub fn restore_dropped(&self, n: u64) {
        self.dropped.store(n, Ordering::Relaxed);
    }

    /// Messages dropped so far.
    pub fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The last reason for a drop, with its time (`time: reason`).
    pub fn last_drop(&self) -> Option<String> {
        self.last_drop
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(t, r)| format!("{t}: {r}"))
    }

    /// The items failing now: name → `time: reason`.
    pub fn failed_items(&self) -> BTreeMap<String, String> {
        self.failed_items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, (t, e))| (k.clone(), format!("{t}: {e}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_add_up_and_a_flood_of_them_is_logged_once() {
        let r = SourceReports::default();
        assert!(r.dropped(2, "not a number").is_some());
        assert_eq!(r.dropped(1, "too large"), None);
        assert_eq!(r.dropped(4, "too large"), None);
        assert_eq!(r.dropped_count(), 7);
        *r.drop_log.lock().unwrap() = (Instant::now().checked_sub(DROP_LOG_PERIOD), 5);
        let line = r.dropped(1, "again").unwrap();
        assert!(
            line.starts_with("1 message(s) dropped: again (5 more dropped"),
            "{line}"
        );
    }

    #[test]
    fn drops_add_up_and_items_recover() {
        let r = SourceReports::default();
        let _ = r.dropped(2, "not a number");
        let _ = r.dropped(1, "too large");
        assert_eq!(r.dropped_count(), 3);
        assert!(r.last_drop().unwrap().ends_with("too large"));
        let since = Timestamp::now();
        assert_eq!(
            r.item_status("a", Some("column 1 is NaN")),
            ItemChange::Fails
        );
        assert_eq!(
            r.item_status("a", Some("column 1 is NaN")),
            ItemChange::None
        );
        assert_eq!(r.item_status("b", Some("timeout")), ItemChange::Fails);
        assert_eq!(r.item_status("b", Some("refused")), ItemChange::Fails);
        assert_eq!(r.item_status("b", None), ItemChange::Recovered);
        assert_eq!(r.item_status("b", None), ItemChange::None);
        assert!(r.item_failed_since(since));
        assert!(!r.item_failed_since(Timestamp::from_nanos(
            Timestamp::now().as_nanos() + 1_000_000_000
        )));
        let failed = r.failed_items();
        assert_eq!(failed.len(), 1);
        assert!(failed["a"].ends_with("column 1 is NaN"));
    }
}
