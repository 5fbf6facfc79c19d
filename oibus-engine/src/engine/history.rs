//! History reading: from each item's tracked instant (minus `overlap`) to now, in windows of at
//! most `max_read_interval`, `read_delay` apart. The tracked instant is stored after each window,
//! once the plugin's `history_query` returned, which happens only after every `add_values` of the
//! window completed, that is after the data is durably in every subscribed North's cache. The
//! overlap is read again to catch values stored late; the South's [`Edge`] skips those of its
//! values already sent, and is stored with the tracked instants.

use super::history_edge::Edge;
use crate::{
    cache::{Op, Store},
    config::HistoryConfig,
    connector::{ConnectorError, ConnectorHandle, SourceReports},
};
use oibus_plugin_api::{Item, Timestamp};
use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::AtomicU64,
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// `[from, to)` cut into windows of at most `max`.
pub fn windows(from: Timestamp, to: Timestamp, max: Duration) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut s = from;
    while s < to {
        let e = (s + max).min(to);
        out.push((s, e));
        s = e;
    }
    out
}

fn key(south: &str, item: &str) -> String {
    format!("{}{item}", state_prefix(south))
}

/// The prefix of the keys of South `south`'s tracked instants in the store's state.
pub fn state_prefix(south: &str) -> String {
    format!("history/{south}/")
}

/// The tracked instant of an item, if any.
pub fn tracked(store: &Store, south: &str, item: &str) -> Option<Timestamp> {
    let bytes = store.state(&key(south, item)).ok().flatten()?;
    let arr: [u8; 8] = bytes.as_slice().try_into().ok()?;
    Some(Timestamp::from_nanos(i64::from_le_bytes(arr)))
}

/// What one history run did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Windows read.
    pub windows: u64,
    /// Newest timestamp the plugin reported.
    pub newest: Option<Timestamp>,
}

/// What a South's tracked history runs share.
pub struct Tracking<'a> {
    /// The South's id.
    pub south: &'a str,
    /// Its `[south.history]`.
    pub config: &'a HistoryConfig,
    /// Where tracked instants are stored.
    pub store: &'a Store,
    /// What was sent near the live edge.
    pub edge: &'a Edge,
    /// Incremented as each window is done.
    pub windows_read: &'a AtomicU64,
    /// Failing items.
    pub reports: &'a SourceReports,
}

/// Reads the history of `items` (those of scan mode `mode`) up to now. Items sharing a tracked
/// instant are read together.
///
/// Items are isolated from one another: when a window fails for a group of items (for any reason
/// but a lost connection), it is read again item by item; the items that work advance, and each
/// item that fails stays at its tracked instant, is reported in `reports` by name and is read
/// alone from then on. The first such failure is returned once every other item is read.
pub async fn run(
    connector: &ConnectorHandle,
    mode: &str,
    items: &[Item],
    tracking: &Tracking<'_>,
    cancel: &CancellationToken,
) -> Result<RunReport, ConnectorError> {
    let Tracking {
        south,
        config,
        store,
        edge,
        windows_read,
        reports,
    } = *tracking;
    let now = Timestamp::now();
    let start = crate::config::history::first_start(&config.start, now).unwrap_or(now);
    let mut groups: BTreeMap<Timestamp, Vec<Item>> = BTreeMap::new();
    // Where each item's next run starts, minus the overlap: the lowest is what may be read again.
    let mut positions: HashMap<&str, Timestamp> = HashMap::with_capacity(items.len());
    for item in items {
        let t = tracked(store, south, &item.name).unwrap_or(start);
        groups.entry(t).or_default().push(item.clone());
        positions.insert(item.name.as_str(), t);
    }
    let floor = |positions: &HashMap<&str, Timestamp>| {
        positions.values().min().copied().unwrap_or(now) - config.overlap.0
    };
    edge.set_floor(mode, floor(&positions));
    let mut report = RunReport::default();
    let mut first_failure = None;
    for (instant, mut group) in groups {
        let from = instant - config.overlap.0;
        for (s, e) in windows(from, now, config.max_read_interval.0) {
            if group.is_empty() {
                break;
            }
            if report.windows > 0 && !config.read_delay.0.is_zero() {
                tokio::select! {
                    () = cancel.cancelled() => return Ok(report),
                    () = tokio::time::sleep(config.read_delay.0) => {}
                }
            }
            if cancel.is_cancelled() {
                return Ok(report);
            }
            // A window in progress is finished (bounded by the data time-out), not cut short:
            // what it read is durable and its instant is stored.
            let result = connector.history_query(group.clone(), s, e).await;
            let (done, newest) = match result {
                Ok(newest) => (group.clone(), newest),
                Err(err) if err.is_connection_lost() => return Err(err),
                Err(err) if group.len() == 1 => {
                    let why = err.to_string();
                    reports
                        .item_status(&group[0].name, Some(&why))
                        .log(&group[0].name, Some(&why));
                    first_failure.get_or_insert(err);
                    break;
                }
                Err(_) => {
                    // One item at a time, to find which fail.
                    let (mut done, mut newest) = (Vec::new(), None);
                    for item in std::mem::take(&mut group) {
                        let r = connector.history_query(vec![item.clone()], s, e).await;
                        match r {
                            Ok(n) => {
                                newest = newest.max(n);
                                done.push(item);
                            }
                            Err(err) if err.is_connection_lost() => return Err(err),
                            Err(err) => {
                                let why = err.to_string();
                                reports
                                    .item_status(&item.name, Some(&why))
                                    .log(&item.name, Some(&why));
                                first_failure.get_or_insert(err);
                            }
                        }
                    }
                    group = done.clone();
                    (done, newest)
                }
            };
            let mut ops: Vec<_> = done
                .iter()
                .map(|i| Op::PutState {
                    key: key(south, &i.name),
                    value: e.as_nanos().to_le_bytes().to_vec(),
                })
                .collect();
            for i in &done {
                if let Some(p) = positions.get_mut(i.name.as_str()) {
                    *p = e;
                }
            }
            ops.push(edge.advance(mode, floor(&positions)));
            store
                .apply(ops, true)
                .await
                .map_err(|err| ConnectorError::Engine {
                    connector: south.to_string(),
                    message: err.to_string(),
                })?;
            for i in &done {
                reports.item_status(&i.name, None).log(&i.name, None);
            }
            report.windows += 1;
            windows_read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            report.newest = report.newest.max(newest);
        }
    }
    first_failure.map_or(Ok(report), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_range_without_gaps() {
        let t = |s: i64| Timestamp::from_millis(s * 1000);
        let w = windows(t(0), t(25), Duration::from_secs(10));
        assert_eq!(w, vec![(t(0), t(10)), (t(10), t(20)), (t(20), t(25))]);
        assert!(windows(t(5), t(5), Duration::from_secs(1)).is_empty());
    }
}
