//! A South's log of value batches: appended once, however many Norths receive the South, each
//! North reading it through its own cursor (a [`Reader`]); an entry is dropped once every
//! cursor has passed it and the South's retention no longer keeps it for a replay.
//!
//! Entries live in the store's table `lv/<south>` under keys the log chooses (increasing; a
//! failed commit leaves a gap), cursors in its state table under `log/v/<south>/<north>`.
//! Invariants:
//! - an entry is read by a North only once committed, and entries are committed in key order
//!   (a cursor never passes an entry that is not on disk yet);
//! - a cursor moves forward only past what its North sent or set apart (or back, by a replay);
//! - every change is submitted to the store's writer while the log's lock is held, so the store
//!   sees them in the order the log made them;
//! - a North that stops reading leaves with what it had not sent (into its own queue, in the
//!   transaction that removes its cursor): no cursor holds entries it will never read.

mod flush;
mod pending;
mod reader;
mod record;
#[cfg(test)]
mod tests;

pub use reader::Reader;

use super::{
    codec,
    store::{Op, Store, StoreError},
};
use crate::config::{RetentionConfig, StartFrom};
use oibus_plugin_api::OibusValue;
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

/// Trims of the log's front at most this often (each looks at every cursor)…
const TRIM_EVERY: Duration = Duration::from_millis(250);

/// …unless the log has at most this many readers: then every move trims what it lets go.
const TRIM_EACH_MOVE_UP_TO: usize = 16;

/// One entry in memory (its values stay in the store).
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    count: u64,
    bytes: u64,
    /// When it was appended (ms since the epoch; never before the entry ahead of it).
    at_ms: i64,
    /// When `send_interval` starts counting (long ago for entries found at start-up).
    since: Instant,
    /// Values and bytes of the entries ahead of it still in memory, plus those trimmed.
    before_count: u64,
    before_bytes: u64,
    /// On disk: readable.
    committed: bool,
}

struct State {
    entries: VecDeque<Entry>,
    /// Values and bytes of every entry ever indexed (what the next entry's `before_*` will be).
    total_count: u64,
    total_bytes: u64,
    next_key: u64,
    last_at: i64,
    readers: HashMap<String, Reader>,
    retention: RetentionConfig,
    /// Values per entry at most (the smallest `max_send_count` of the readers).
    chunk: usize,
    trimmed: Instant,
    /// Cursor moves waiting for the next flush (see `flush.rs`).
    flush: pending::Pending,
    /// Norths on their way out (see [`ValueLog::stop_for`]).
    leaving: std::collections::HashSet<String>,
}

impl State {
    /// Indexes an entry at the end of the log.
    fn push(
        &mut self,
        key: u64,
        count: u64,
        bytes: u64,
        at_ms: i64,
        since: Instant,
        committed: bool,
    ) {
        self.entries.push_back(Entry {
            key,
            count,
            bytes,
            at_ms,
            since,
            before_count: self.total_count,
            before_bytes: self.total_bytes,
            committed,
        });
        self.total_count += count;
        self.total_bytes += bytes;
    }

    /// Index of the first entry with a key at or above `key`.
    fn position(&self, key: u64) -> usize {
        self.entries.partition_point(|e| e.key < key)
    }

    /// Values and bytes of the entries from index `i` to the end of the log.
    fn from(&self, i: usize) -> (u64, u64) {
        self.entries.get(i).map_or((0, 0), |e| {
            (
                self.total_count - e.before_count,
                self.total_bytes - e.before_bytes,
            )
        })
    }

    /// The key an entry appended now would get (the end of the log).
    fn head(&self) -> u64 {
        self.next_key
    }

    /// The operations that drop the entries every cursor passed and the retention lets go.
    fn trim(&mut self, table: &str) -> Option<Op> {
        self.trimmed = Instant::now();
        let passed = self
            .readers
            .values()
            .map(|r| r.next)
            .min()
            .unwrap_or(self.next_key);
        let passed = self.position(passed);
        let (now, keep) = (now_ms(), &self.retention);
        // No age bound when it is zero: the size alone decides (zero keeps nothing).
        let max_age = match keep.max_age.0.as_millis() {
            0 => i64::MAX,
            ms => i64::try_from(ms).unwrap_or(i64::MAX),
        };
        // Kept: the newest entries every cursor passed, as many as both bounds allow. Entries
        // are in order of age and their running sums give the bytes of any stretch, so both
        // bounds are binary searches (a large retention is not walked at every move).
        let passed_before = self
            .entries
            .get(passed)
            .map_or(self.total_bytes, |e| e.before_bytes);
        let too_big = self
            .entries
            .partition_point(|e| passed_before.saturating_sub(e.before_bytes) > keep.max_size.0);
        let too_old = self
            .entries
            .partition_point(|e| now.saturating_sub(e.at_ms) > max_age);
        let cut = too_big.max(too_old).min(passed);
        if cut == 0 {
            return None;
        }
        let below = self.entries[cut - 1].key + 1;
        self.entries.drain(..cut);
        Some(Op::RemoveBelow {
            table: table.to_string(),
            below,
        })
    }
}

/// Milliseconds since the Unix epoch, now (the clock of the entries' `at_ms`).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What a North took from a log to send: consecutive entries from its cursor.
#[derive(Debug, Clone)]
pub struct Taken {
    /// Their keys, in order.
    pub keys: Vec<u64>,
    /// Their values.
    pub count: u64,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewound {
    /// Values the North will send again (or for the first time) from its new place.
    pub values: u64,
    /// When the first of them was appended (ms since the epoch), if any.
    pub from_ms: Option<i64>,
}

/// What a log holds, and where one North stands in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// When the oldest entry kept was appended (ms since the epoch).
    pub oldest_ms: Option<i64>,
    /// When the newest was.
    pub newest_ms: Option<i64>,
    /// Values kept (sent by every North or not).
    pub values: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A South's log of value batches (see the module's documentation).
pub struct ValueLog {
    south: String,
    table: String,
    store: Store,
    state: Mutex<State>,
    /// Itself, for the task that flushes cursor moves.
    me: std::sync::Weak<ValueLog>,
    /// The last flush of cursor moves done.
    flushed: tokio::sync::watch::Sender<pending::Flushed>,
}

/// The table of South `south`'s log.
pub fn table(south: &str) -> String {
    format!("lv/{south}")
}

/// The state entries of the cursors in South `south`'s log start with this.
fn readers_prefix(south: &str) -> String {
    format!("log/v/{south}/")
}

/// The Souths whose logs are in `store` (from its table names).
pub fn souths_in(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(store
        .tables()?
        .into_iter()
        .filter_map(|t| t.strip_prefix("lv/").map(str::to_string))
        .collect())
}

impl ValueLog {
    /// Opens South `south`'s log: its entries and cursors, as the store holds them.
    pub fn open(store: Store, south: &str) -> Result<Arc<Self>, StoreError> {
        let table = table(south);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(24 * 3600))
            .unwrap_or_else(Instant::now);
        let mut state = State {
            entries: VecDeque::new(),
            total_count: 0,
            total_bytes: 0,
            next_key: 0,
            last_at: i64::MIN,
            readers: HashMap::new(),
            retention: RetentionConfig::default(),
            chunk: usize::MAX,
            trimmed: Instant::now(),
            flush: pending::Pending::default(),
            leaving: Default::default(),
        };
        let mut bad = 0usize;
        store.scan(&table, |key, bytes| {
            let (at_ms, batch) = match record::split(bytes) {
                Ok(r) => r,
                Err(_) => {
                    bad += 1;
                    (state.last_at.max(0), &[][..])
                }
            };
            let (count, size) = (codec::count(batch) as u64, bytes.len() as u64);
            state.push(key, count, size, at_ms, long_ago, true);
            state.last_at = state.last_at.max(at_ms);
            state.next_key = key + 1;
        })?;
        if bad > 0 {
            tracing::error!(
                south,
                "{bad} entries of the log are unreadable: they will be set apart when sent"
            );
        }
        let prefix = readers_prefix(south);
        store.scan_state(&prefix, |key, bytes| {
            if let (Some(north), Some(r)) = (key.strip_prefix(&prefix), Reader::decode(bytes)) {
                state.next_key = state.next_key.max(r.next);
                state.readers.insert(north.to_string(), r);
            }
        })?;
        Ok(Arc::new_cyclic(|me| Self {
            south: south.to_string(),
            table,
            store,
            state: Mutex::new(state),
            me: me.clone(),
            flushed: tokio::sync::watch::Sender::new(pending::Flushed::default()),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The South whose log this is.
    pub fn south(&self) -> &str {
        &self.south
    }

    /// The operation that removes North `north`'s cursor now (as [`Self::put_reader`]).
    fn remove_reader(&self, st: &mut State, north: &str) -> Op {
        st.flush.dirty.remove(north);
        Op::RemoveState {
            key: self.reader_key(north),
        }
    }

    fn reader_key(&self, north: &str) -> String {
        format!("{}{north}", readers_prefix(&self.south))
    }

    /// The operation that writes North `north`'s cursor now (replacing any move of it waiting
    /// for a flush: callers hold the lock and submit it before releasing it).
    fn put_reader(&self, st: &mut State, north: &str, r: &Reader) -> Op {
        st.flush.dirty.remove(north);
        Op::PutState {
            key: self.reader_key(north),
            value: r.encode(),
        }
    }

    /// Sets the retention, and the most values an entry holds (`chunk`, at least 1).
    pub fn configure(&self, retention: RetentionConfig, chunk: usize) {
        let mut st = self.lock();
        st.retention = retention;
        st.chunk = chunk.max(1);
    }

    /// The Norths that read this log.
    pub fn readers(&self) -> Vec<String> {
        self.lock().readers.keys().cloned().collect()
    }

    /// Whether North `north` reads this log.
    pub fn is_read_by(&self, north: &str) -> bool {
        self.lock().readers.contains_key(north)
    }

    /// Makes North `north` a reader that receives what is appended from now on (or, with
    /// `StartFrom::Oldest`, from the oldest entry kept), unless it reads the log already (a
    /// North leaving the log, see [`Self::stop_for`], stays).
    pub fn start_for(&self, north: &str, from: StartFrom) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.leaving.remove(north);
        if st.readers.contains_key(north) {
            return Ok(());
        }
        let head = st.head();
        let r = Reader::at(match from {
            StartFrom::Now => head,
            StartFrom::Oldest => st.entries.front().map_or(head, |e| e.key),
        });
        st.readers.insert(north.to_string(), r);
        let op = self.put_reader(&mut st, north, &r);
        drop(self.store.submit(vec![op], true)?);
        Ok(())
    }

    /// North `north` no longer receives the South: what it has not sent yet moves to its own
    /// queue (table `own`), in the transaction that removes its cursor, so that it pins
    /// nothing in the log (a disabled North would hold every later entry otherwise). Waits for
    /// appends in flight to be committed first. Returns the operation and its keys, for the
    /// North's queue to index (`None`: it read nothing more, or came back meanwhile).
    pub async fn stop_for(
        &self,
        north: &str,
        own: &str,
    ) -> Result<Option<(Op, Vec<u64>)>, StoreError> {
        // What was appended from here on is not for it (it no longer receives the South).
        let end = {
            let mut st = self.lock();
            st.leaving.insert(north.to_string());
            st.head()
        };
        for _ in 0..2000 {
            let done = {
                let mut st = self.lock();
                if !st.leaving.contains(north) {
                    return Ok(None);
                }
                let Some(r) = st.readers.get(north).copied() else {
                    st.leaving.remove(north);
                    return Ok(None);
                };
                let (from, to) = (st.position(r.next), st.position(end));
                if st.entries.range(from..to).any(|e| !e.committed) {
                    None
                } else {
                    let keys: Vec<u64> = st.entries.range(from..to).map(|e| e.key).collect();
                    let mut records = Vec::with_capacity(keys.len());
                    for (_, bytes) in self.store.read(&self.table, &keys)? {
                        records.push(Arc::new(match record::split(&bytes) {
                            Ok((_, batch)) => batch.to_vec(),
                            Err(_) => bytes,
                        }));
                    }
                    st.readers.remove(north);
                    st.leaving.remove(north);
                    let append = Op::Append {
                        table: own.to_string(),
                        records,
                    };
                    let remove = self.remove_reader(&mut st, north);
                    let done = self.store.submit(vec![append.clone(), remove], true)?;
                    Some((r, append, done))
                }
            };
            match done {
                Some((r, append, done)) => match done.await {
                    Ok(mut keys) => {
                        let keys = keys.drain(..1).next().unwrap_or_default();
                        return Ok((!keys.is_empty()).then_some((append, keys)));
                    }
                    Err(e) => {
                        // Not moved: it reads (and pins) its entries again until a next try.
                        let mut st = self.lock();
                        if !st.readers.contains_key(north) {
                            st.readers.insert(north.to_string(), r);
                        }
                        return Err(e);
                    }
                },
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        self.lock().leaving.remove(north);
        Err(StoreError(format!(
            "North {north:?} could not leave South {:?}'s log: an append never completed",
            self.south
        )))
    }

    /// Removes North `north`'s cursor at once (a deleted North).
    pub async fn forget(&self, north: &str) -> Result<(), StoreError> {
        let done = {
            let mut st = self.lock();
            st.readers.remove(north);
            let op = self.remove_reader(&mut st, north);
            self.store.submit(vec![op], true)?
        };
        done.await.map(drop)
    }

    /// Appends `values` (in entries of at most the configured chunk), durably; they are
    /// readable once this returns `Ok`. Refused when no North reads the log (nobody would
    /// send them).
    pub async fn append(&self, values: &[OibusValue]) -> Result<(), StoreError> {
        let chunk = self.lock().chunk;
        let at = now_ms();
        let mut records: Vec<Vec<u8>> = values
            .chunks(chunk)
            .map(|c| record::encode(at, &codec::encode(c)))
            .collect();
        let (first, done) = {
            let mut st = self.lock();
            if st.readers.is_empty() {
                return Err(StoreError(format!(
                    "no North reads the values of South {:?}",
                    self.south
                )));
            }
            let at = at.max(st.last_at);
            st.last_at = at;
            let first = st.next_key;
            let now = Instant::now();
            let mut entries = Vec::with_capacity(records.len());
            for (i, r) in records.iter_mut().enumerate() {
                record::set_at(r, at);
                let key = first + i as u64;
                let (count, bytes) = (codec::count(&r[record::HEADER..]) as u64, r.len() as u64);
                st.push(key, count, bytes, at, now, false);
                entries.push((key, Arc::new(std::mem::take(r))));
            }
            st.next_key = first + entries.len() as u64;
            let done = self.store.submit(
                vec![Op::Put {
                    table: self.table.clone(),
                    entries,
                }],
                true,
            );
            if done.is_err() {
                Self::settle(&mut st, first, records.len(), false);
            }
            (first, done?)
        };
        // Settled by a task of its own: a caller that gives up waiting (a time-out) must not
        // leave the entries unreadable for ever.
        let (n, me) = (records.len(), self.me.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let result = done.await;
            if let Some(log) = me.upgrade() {
                Self::settle(&mut log.lock(), first, n, result.is_ok());
            }
            let _ = tx.send(result);
        });
        rx.await
            .map_err(|_| StoreError("the log's append was dropped".into()))?
            .map(drop)
    }

    /// Marks the `n` entries from key `first` readable, or (a failed commit) forgets them.
    fn settle(st: &mut State, first: u64, n: usize, committed: bool) {
        let at = st.position(first);
        if committed {
            for e in st
                .entries
                .range_mut(at..)
                .take_while(|e| e.key < first + n as u64)
            {
                e.committed = true;
            }
            return;
        }
        let end = st.position(first + n as u64);
        let gone: Vec<Entry> = st.entries.drain(at..end).collect();
        let (count, bytes) = gone
            .iter()
            .fold((0, 0), |(c, b), e| (c + e.count, b + e.bytes));
        let rest: Vec<Entry> = st.entries.drain(at..).collect();
        for mut e in rest {
            e.before_count -= count;
            e.before_bytes -= bytes;
            st.entries.push_back(e);
        }
        st.total_count -= count;
        st.total_bytes -= bytes;
    }

    /// Values and bytes North `north` has not sent yet.
    pub fn backlog(&self, north: &str) -> (u64, u64) {
        let st = self.lock();
        let Some(r) = st.readers.get(north) else {
            return (0, 0);
        };
        st.from(st.position(r.next))
    }

    /// For North `north`: values it could take now (appends still being committed, at the end
    /// of the log, are not counted: a group made when `group_count` is reached must find them
    /// all readable), and since when the first value it has not sent waits for `send_interval`
    /// (`None` when there is nothing for it).
    pub fn due(&self, north: &str) -> Option<(u64, Instant, i64)> {
        let st = self.lock();
        let r = st.readers.get(north)?;
        let from = st.position(r.next);
        let first = st.entries.get(from)?;
        let in_flight = st.entries.iter().rev().take_while(|e| !e.committed).count();
        let readable_end = (st.entries.len() - in_flight).max(from);
        let readable = st.from(from).0 - st.from(readable_end).0;
        Some((readable, first.since, first.at_ms))
    }

    /// The entries North `north` has not sent: `(key, values, bytes)`.
    pub fn pending(&self, north: &str) -> Vec<(u64, usize, usize)> {
        let st = self.lock();
        let Some(r) = st.readers.get(north) else {
            return Vec::new();
        };
        st.entries
            .range(st.position(r.next)..)
            .map(|e| (e.key, e.count as usize, e.bytes as usize))
            .collect()
    }

    /// The entries North `north` sends next: consecutive readable ones from its cursor, the
    /// first whatever its size, then as long as the values stay within `max_count`.
    pub fn take(&self, north: &str, max_count: usize) -> Option<Taken> {
        let st = self.lock();
        let r = st.readers.get(north)?;
        let (mut keys, mut count) = (Vec::new(), 0u64);
        for e in st.entries.range(st.position(r.next)..) {
            if !e.committed {
                break;
            }
            if !keys.is_empty() && count + e.count > max_count as u64 {
                break;
            }
            keys.push(e.key);
            count += e.count;
        }
        (!keys.is_empty()).then_some(Taken { keys, count })
    }

    /// The encoded batches of these entries, in order, for an error store: an entry whose
    /// header is unreadable is kept whole.
    pub fn batches(&self, keys: &[u64]) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.store.read(&self.table, keys)?;
        Ok(rows
            .into_iter()
            .map(|(_, bytes)| match record::split(&bytes) {
                Ok((_, b)) => b.to_vec(),
                Err(_) => bytes,
            })
            .collect())
    }

    /// The values of these entries, in order.
    pub fn read(&self, keys: &[u64]) -> Result<Vec<OibusValue>, String> {
        let rows = self
            .store
            .read(&self.table, keys)
            .map_err(|e| e.to_string())?;
        let mut values = Vec::new();
        for (key, bytes) in rows {
            let corrupt = |e: String| format!("entry {key} of South {:?}'s log: {e}", self.south);
            let (_, batch) = record::split(&bytes).map_err(corrupt)?;
            values.extend(codec::decode(batch).map_err(corrupt)?);
        }
        Ok(values)
    }

    /// North `north` sent (or set apart) the entries it took from key `from` up to `to`
    /// (excluded): its cursor moves there, durably, unless a replay moved it meanwhile; `also`
    /// goes into the same transaction (an error-store entry). Returns once the move is on disk:
    /// a crash sends again at most the entries in flight.
    ///
    /// A log read by many Norths writes their moves together, at most every
    /// [`pending::gap`] (see `flush.rs`): 10,000 cursors moving each second cost ten
    /// transactions, not 10,000.
    pub async fn advance(
        &self,
        north: &str,
        from: u64,
        to: u64,
        also: Vec<Op>,
    ) -> Result<(), StoreError> {
        let (later, now) = {
            let mut st = self.lock();
            // Still where it took them from: no entry between its cursor and `from` (a failed
            // append may have left a gap of keys; a replay moves it back before `from`).
            let here = st
                .readers
                .get(north)
                .is_some_and(|r| st.position(r.next) == st.position(from));
            let moved = Reader::at(to);
            if !also.is_empty() {
                // Something is set apart: the cursor moves in memory only once the error-store
                // entry is on disk with it (below), so that nothing is trimmed before.
                let mut ops = also;
                if here {
                    ops.push(self.put_reader(&mut st, north, &moved));
                }
                (None, Some((here, self.store.submit(ops, true)?)))
            } else if !here {
                return Ok(());
            } else {
                st.readers.insert(north.to_string(), moved);
                let trim = if st.readers.len() <= TRIM_EACH_MOVE_UP_TO
                    || st.trimmed.elapsed() >= TRIM_EVERY
                {
                    st.trim(&self.table)
                } else {
                    None
                };
                if pending::gap(st.readers.len()).is_some() {
                    if let Some(op) = trim {
                        // Not durable: a crash leaves entries every cursor passed, trimmed
                        // again.
                        drop(self.store.submit(vec![op], false)?);
                    }
                    (Some(self.flush_later(st, north, Some(moved))), None)
                } else {
                    // The trim goes with the move: the table stays as small as the unsent
                    // values, as a North's own queue does (BENCHMARKS.md, "Trimmed with each cursor
                    // move").
                    let mut ops = vec![self.put_reader(&mut st, north, &moved)];
                    ops.extend(trim);
                    (None, Some((false, self.store.submit(ops, true)?)))
                }
            }
        };
        match (later, now) {
            (Some(later), _) => later.await,
            (_, Some((set_apart, now))) => {
                now.await?;
                if set_apart {
                    let mut st = self.lock();
                    let still = st
                        .readers
                        .get(north)
                        .is_some_and(|r| st.position(r.next) == st.position(from));
                    if still {
                        st.readers.insert(north.to_string(), Reader::at(to));
                    }
                }
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Drops what every cursor passed and the retention lets go (the retention's age bound
    /// needs this to run now and then, when nothing is sent).
    pub async fn trim(&self) -> Result<(), StoreError> {
        let done = {
            let mut st = self.lock();
            match st.trim(&self.table) {
                Some(op) => self.store.submit(vec![op], false)?,
                None => return Ok(()),
            }
        };
        done.await.map(drop)
    }

    /// Moves North `north`'s cursor back to the first entry appended at `since_ms` or later
    /// (to the oldest entry kept if all are later); never forward past values it has not sent.
    pub async fn rewind(&self, north: &str, since_ms: i64) -> Result<Option<Rewound>, StoreError> {
        let (rewound, done) = {
            let mut st = self.lock();
            let Some(r) = st.readers.get(north).copied() else {
                return Ok(None);
            };
            let i = st.entries.partition_point(|e| e.at_ms < since_ms);
            let key = st.entries.get(i).map_or(st.head(), |e| e.key).min(r.next);
            let r = Reader::at(key);
            st.readers.insert(north.to_string(), r);
            let from = st.position(key);
            let rewound = Rewound {
                values: st.from(from).0,
                from_ms: st.entries.get(from).map(|e| e.at_ms),
            };
            let op = self.put_reader(&mut st, north, &r);
            let done = self.store.submit(vec![op], true)?;
            (rewound, done)
        };
        done.await?;
        Ok(Some(rewound))
    }

    /// What the log keeps.
    pub fn range(&self) -> Range {
        let st = self.lock();
        let (values, bytes) = st.from(0);
        Range {
            oldest_ms: st.entries.front().map(|e| e.at_ms),
            newest_ms: st.entries.back().map(|e| e.at_ms),
            values,
            bytes,
        }
    }

    /// When the first entry North `north` has not sent was appended (`None`: it sent all).
    pub fn position_of(&self, north: &str) -> Option<i64> {
        let st = self.lock();
        let r = st.readers.get(north)?;
        let i = st.position(r.next);
        st.entries.get(i).map(|e| e.at_ms)
    }
}
