//! One North's queues: the value batches it reads from the logs of the Souths it receives
//! (through its cursors), its own queue of value batches (sent again from its error store, or
//! queued by an earlier version), its files, and its error stores. The records live in the
//! [`Store`]; an index in memory says what is queued, in order.

use super::{
    codec, file_record,
    file_record::FileRecord,
    log::ValueLog,
    sending::Sending,
    slots::{copy_into_slot, file_name, process_start, remove_orphans},
    store::{Op, Store, StoreError},
};
use crate::config::{CachingConfig, FullPolicy};
use oibus_plugin_api::{ErrorKind, OibusValue, PluginError};
use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Notify;

/// Queued value batches `(key, values, bytes)` and files `(key, record)`.
pub type QueuedEntries = (Vec<(u64, usize, usize)>, Vec<(u64, FileRecord)>);

mod error_store;
#[cfg(test)]
mod tests;

/// A queued batch of values.
#[derive(Debug, Clone, Copy)]
struct Batch {
    key: u64,
    count: usize,
    bytes: usize,
    /// When `send_interval` starts counting (long ago for batches found at start-up).
    since: Instant,
    /// When it was queued (or, for batches found at start-up, when the engine started).
    queued: Instant,
}

#[derive(Default)]
struct Index {
    values: VecDeque<Batch>,
    /// Queued files, with when each was queued (or found at start-up).
    files: VecDeque<(u64, FileRecord, Instant)>,
    queued_values: usize,
    queued_bytes: u64,
    /// The highest key of a value batch ever indexed (keys only grow).
    highest: Option<u64>,
}

impl Index {
    /// Adds an encoded batch at the end.
    fn push_batch(&mut self, key: u64, record: &[u8], since: Instant) {
        self.highest = Some(self.highest.map_or(key, |h| h.max(key)));
        let count = codec::count(record);
        self.queued_values += count;
        self.queued_bytes += record.len() as u64;
        self.values.push_back(Batch {
            key,
            count,
            bytes: record.len(),
            since,
            queued: Instant::now(),
        });
    }
}

/// Where a group of value batches taken to be sent comes from.
#[derive(Clone)]
pub enum Source {
    /// The North's own queue.
    Queue,
    /// A South's log, read through the North's cursor.
    Log(Arc<ValueLog>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue => f.write_str("Queue"),
            Self::Log(l) => write!(f, "Log({:?})", l.south()),
        }
    }
}

/// Value batches taken to be sent together: from one source, consecutive.
#[derive(Debug, Clone)]
pub struct Batches {
    /// Where they are.
    pub source: Source,
    /// Their keys there, in order.
    pub keys: Vec<u64>,
}

/// What the sender should do next.
#[derive(Debug)]
pub enum Next {
    /// Send these batches together (and their decoded values, in order).
    Values(Batches, Vec<OibusValue>),
    /// Send this file.
    File(u64, FileRecord),
    /// Send these files together (to a North that takes batches of files), in order.
    Files(Vec<(u64, FileRecord)>),
    /// Nothing is due; look again after this long (or when data arrives).
    Wait(Duration),
}

/// One North's queues.
pub struct NorthQueue {
    id: String,
    store: Store,
    caching: CachingConfig,
    files_dir: PathBuf,
    /// The copies of files kept inside the store, written out to be sent.
    sending: Sending,
    index: Mutex<Index>,
    /// The logs this North reads.
    logs: Mutex<Vec<Arc<ValueLog>>>,
    /// Woken when data is queued.
    pub arrived: Notify,
    space: Notify,
    full_logged: AtomicBool,
}

/// A cached file's record whose copy is not where it says but in the same slot of `files_dir`:
/// the data folder was moved (another disk, another machine) since it was written.
pub(super) fn relocated(mut f: FileRecord, files_dir: &Path) -> FileRecord {
    if f.inline || f.path.exists() {
        return f;
    }
    let slot = f.path.parent().and_then(|p| p.file_name());
    if let (Some(slot), Some(name)) = (slot, f.path.file_name()) {
        let here = files_dir.join(slot).join(name);
        if here.exists() {
            f.path = here;
        }
    }
    f
}

fn table(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

fn store_error(e: StoreError) -> PluginError {
    PluginError::new(ErrorKind::REJECTED_BY_HOST, e)
}

impl NorthQueue {
    /// The queues of North `id`, rebuilt from the store. `files_dir` holds the cached files.
    pub fn open(
        id: &str,
        store: Store,
        caching: CachingConfig,
        files_dir: PathBuf,
    ) -> Result<Self, StoreError> {
        process_start();
        let mut index = Index::default();
        let long_ago = Instant::now()
            .checked_sub(caching.send_interval.0)
            .unwrap_or_else(Instant::now);
        store.scan(&table("v", id), |key, record| {
            index.push_batch(key, record, long_ago);
        })?;
        let mut gone = Vec::new();
        store.scan(&table("f", id), |key, record| {
            match file_record::decode(record).map(|f| relocated(f, &files_dir)) {
                Ok(f) if f.inline || f.path.exists() => {
                    index.queued_bytes += f.size;
                    index.files.push_back((key, f, Instant::now()));
                }
                // Sent just before a crash: the file was removed, its row not yet.
                _ => gone.push(key),
            }
        })?;
        if !gone.is_empty() {
            tracing::info!(north = id, "{} file(s) were already sent", gone.len());
        }
        std::fs::create_dir_all(&files_dir)
            .map_err(|e| StoreError(format!("cannot create {}: {e}", files_dir.display())))?;
        let mut known: std::collections::HashSet<PathBuf> = index
            .files
            .iter()
            .filter(|(_, f, _)| !f.inline)
            .map(|(_, f, _)| f.path.clone())
            .collect();
        store.scan(&table("fe", id), |_, record| {
            if let Ok(f) = file_record::decode(record).map(|f| relocated(f, &files_dir))
                && !f.inline
            {
                known.insert(f.path);
            }
        })?;
        // Files kept inside the store are written out here only while a North sends them.
        let sending = Sending::open(&files_dir).map_err(|e| {
            StoreError(format!(
                "cannot empty {}: {e}",
                files_dir.join(super::sending::SENDING).display()
            ))
        })?;
        let orphans = remove_orphans(&files_dir, &known);
        if orphans > 0 {
            tracing::info!(
                north = id,
                "{orphans} cached file(s) without a record removed (copied just before a crash, never acknowledged)"
            );
        }
        let q = Self {
            id: id.to_string(),
            store,
            caching,
            files_dir,
            sending,
            index: Mutex::new(index),
            logs: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            space: Notify::new(),
            full_logged: AtomicBool::new(false),
        };
        if !gone.is_empty() {
            // Best effort, not durable: a crash only repeats this clean-up.
            let (store, t) = (q.store.clone(), table("f", id));
            tokio::spawn(async move {
                let _ = store
                    .apply(
                        vec![Op::Remove {
                            table: t,
                            keys: gone,
                        }],
                        false,
                    )
                    .await;
            });
        }
        Ok(q)
    }

    /// The table of North `id`'s own queue of value batches.
    pub fn own_values_table(id: &str) -> String {
        table("v", id)
    }

    /// The North's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the logs this North reads (the engine does, when routes change).
    pub fn set_logs(&self, logs: Vec<Arc<ValueLog>>) {
        *self.logs.lock().unwrap_or_else(|p| p.into_inner()) = logs;
    }

    /// The logs this North reads.
    pub fn logs(&self) -> Vec<Arc<ValueLog>> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Values, files and bytes queued now (the logs' values not sent yet included).
    pub fn queued(&self) -> (usize, usize, u64) {
        let (mut values, files, mut bytes) = {
            let i = self.lock();
            (i.queued_values, i.files.len(), i.queued_bytes)
        };
        for log in self.logs() {
            let (v, b) = log.backlog(&self.id);
            values += v as usize;
            bytes += b;
        }
        (values, files, bytes)
    }

    /// How long the oldest queued entry (value batch or file) has waited; `None` when empty.
    pub fn oldest_age(&self) -> Option<Duration> {
        let oldest = {
            let i = self.lock();
            let batch = i.values.front().map(|b| b.queued);
            let file = i.files.front().map(|(_, _, t)| *t);
            batch.into_iter().chain(file).min().map(|t| t.elapsed())
        };
        let now = super::log::now_ms();
        let logs = self.logs().into_iter().filter_map(|l| {
            let (_, _, at_ms) = l.due(&self.id)?;
            Some(Duration::from_millis(
                now.saturating_sub(at_ms).max(0) as u64
            ))
        });
        oldest.into_iter().chain(logs).max()
    }

    /// Waits until the queue is below `max_size` (backpressure), or refuses at once (reject).
    pub async fn wait_for_room(&self) -> Result<(), PluginError> {
        loop {
            let notified = self.space.notified();
            let (_, _, bytes) = self.queued();
            if bytes < self.caching.max_size.0 {
                if self.full_logged.swap(false, Ordering::Relaxed) {
                    tracing::info!(north = %self.id, "cache below max_size again: accepting data");
                }
                return Ok(());
            }
            if !self.full_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    north = %self.id,
                    "cache full ({bytes} bytes queued, max_size {}): {}",
                    self.caching.max_size.0,
                    match self.caching.full_policy {
                        FullPolicy::Backpressure => "Souths wait until the North catches up",
                        FullPolicy::Reject => "new data is refused and stays at the source",
                    }
                );
            }
            if self.caching.full_policy == FullPolicy::Reject {
                return Err(PluginError::new(
                    ErrorKind::REJECTED_BY_HOST,
                    format!("the cache of North {:?} is full", self.id),
                ));
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
        }
    }

    /// The store operation that queues `values` in this North's own queue (split into batches
    /// of at most `max_send_count`).
    pub fn append_values_op(&self, values: &[OibusValue]) -> Op {
        let size = self.caching.max_send_count.max(1);
        Op::Append {
            table: table("v", &self.id),
            records: values
                .chunks(size)
                .map(|c| Arc::new(codec::encode(c)))
                .collect(),
        }
    }

    /// Records in the index the batches of a committed [`Self::append_values_op`].
    /// Batches already in the index (a queue opened after they were committed read them) are
    /// not added twice.
    pub fn appended_values(&self, op: &Op, keys: &[u64]) {
        let Op::Append { records, .. } = op else {
            return;
        };
        let now = Instant::now();
        let mut i = self.lock();
        for (record, &key) in records.iter().zip(keys) {
            if i.highest.is_some_and(|h| key <= h) {
                continue;
            }
            i.push_batch(key, record, now);
        }
        drop(i);
        self.arrived.notify_one();
    }

    /// Indexes the batches of its own values table that it does not know yet: those a South's
    /// log moved in (a North that left it) after this queue was opened, and before it was
    /// published to the process that would have indexed them.
    pub fn catch_up_values(&self) -> Result<usize, StoreError> {
        let highest = self.lock().highest;
        let mut found = Vec::new();
        self.store.scan(&table("v", &self.id), |key, record| {
            if highest.is_none_or(|h| key > h) {
                found.push((key, record.to_vec()));
            }
        })?;
        let now = Instant::now();
        let mut i = self.lock();
        let mut added = 0;
        for (key, record) in found {
            if i.highest.is_none_or(|h| key > h) {
                i.push_batch(key, &record, now);
                added += 1;
            }
        }
        drop(i);
        if added > 0 {
            self.arrived.notify_one();
        }
        Ok(added)
    }

    /// Takes `source` into the cache under its own name and returns the store operation that
    /// queues it, once committed.
    ///
    /// A file of at most `inline_files_up_to` bytes goes inside the operation itself: the
    /// store's commit makes it durable, shared with every other file and value of the same
    /// group. A larger one is copied (streamed, whatever its size) to `<files>/<slot>/<name>`,
    /// in the first slot folder that has no file of that name yet (almost always slot 0), so
    /// that a North is handed the file under its real name; the copy is created exclusively,
    /// written, and made durable with its folder before the operation is returned.
    ///
    /// `shared` carries the row of a file kept inside the store from one North's call to the
    /// next: that row is the same for every North, so the file is read once however many
    /// Norths receive it.
    pub fn store_file(
        &self,
        source: &Path,
        south: &str,
        shared: &mut Option<Arc<Vec<u8>>>,
    ) -> Result<Op, PluginError> {
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let fail = |e: std::io::Error| {
            PluginError::transient(format!(
                "cannot cache {} for North {:?}: {e}",
                source.display(),
                self.id
            ))
        };
        let size = std::fs::metadata(source).map_err(fail)?.len();
        let row = if size <= self.caching.inline_files_up_to.0 {
            if let Some(row) = shared {
                row.clone()
            } else {
                let content = std::fs::read(source).map_err(fail)?;
                let record = FileRecord {
                    name,
                    path: PathBuf::new(),
                    size: content.len() as u64,
                    south: south.to_string(),
                    inline: true,
                };
                shared
                    .insert(Arc::new(file_record::encode_inline(&record, &content)))
                    .clone()
            }
        } else {
            let (path, size) = copy_into_slot(&self.files_dir, &name, true, |f| {
                std::io::copy(&mut std::fs::File::open(source)?, f)
            })
            .map_err(fail)?;
            Arc::new(file_record::encode(&FileRecord {
                name,
                path,
                size,
                south: south.to_string(),
                inline: false,
            }))
        };
        Ok(Op::Append {
            table: table("f", &self.id),
            records: vec![row],
        })
    }

    /// The path to hand the North for a queued file: the cached copy, or, for a file kept
    /// inside the store, a copy written out for the send (not synced: the store holds it).
    pub fn file_to_send(&self, key: u64, f: &FileRecord) -> Result<PathBuf, PluginError> {
        if !f.inline {
            return Ok(f.path.clone());
        }
        let fail = |e: String| {
            PluginError::transient(format!(
                "North {:?}: cannot write out cached file {} to send it: {e}",
                self.id, f.name
            ))
        };
        let rows = self
            .store
            .read(&table("f", &self.id), &[key])
            .map_err(store_error)?;
        let (_, row) = rows
            .first()
            .ok_or_else(|| fail("its row is gone from the store".into()))?;
        let content = file_record::content(row)
            .map_err(&fail)?
            .ok_or_else(|| fail("its row holds no content".into()))?;
        self.sending
            .write_out(&f.name, content)
            .map_err(|e| fail(e.to_string()))
    }

    /// Records in the index the file of a committed [`Self::store_file`] operation.
    pub fn appended_file(&self, op: &Op, keys: &[u64]) {
        let Op::Append { records, .. } = op else {
            return;
        };
        let mut i = self.lock();
        for (record, &key) in records.iter().zip(keys) {
            if let Ok(f) = file_record::decode(record).map(|f| relocated(f, &self.files_dir)) {
                i.queued_bytes += f.size;
                i.files.push_back((key, f, Instant::now()));
            }
        }
        drop(i);
        self.arrived.notify_one();
    }

    /// What to send next: files first (they are already whole units), then values once
    /// `group_count` are queued or the oldest has waited `send_interval`. With `batches`
    /// (a North that takes several files a call), up to `max_send_files` files go together,
    /// and at most [`FILE_BATCH_BYTES`] unless the first alone is larger.
    pub fn next(&self, batches: bool) -> Result<Next, PluginError> {
        let keys = {
            let i = self.lock();
            if let Some((key, f, _)) = i.files.front() {
                if !batches || i.files.len() == 1 {
                    return Ok(Next::File(*key, f.clone()));
                }
                let mut bytes = 0;
                let batch: Vec<_> = i
                    .files
                    .iter()
                    .take(self.caching.max_send_files.max(1))
                    .take_while(|(_, f, _)| {
                        bytes += f.size;
                        bytes <= FILE_BATCH_BYTES || bytes == f.size
                    })
                    .map(|(k, f, _)| (*k, f.clone()))
                    .collect();
                return Ok(Next::Files(batch));
            }
            (i.queued_values, i.values.front().map(|b| b.since))
        };
        let (own_count, own_since) = keys;
        // Every source's values count towards `group_count`; the one waiting longest goes first.
        let mut total = own_count;
        let mut oldest: Option<(Instant, Option<Arc<ValueLog>>)> = own_since.map(|s| (s, None));
        for log in self.logs() {
            if let Some((count, since, _)) = log.due(&self.id) {
                total += count as usize;
                if oldest.as_ref().is_none_or(|(s, _)| since < *s) {
                    oldest = Some((since, Some(log)));
                }
            }
        }
        let Some((since, source)) = oldest else {
            return Ok(Next::Wait(self.caching.send_interval.0));
        };
        let (age, interval) = (since.elapsed(), self.caching.send_interval.0);
        if total < self.caching.group_count && age < interval {
            return Ok(Next::Wait(interval - age));
        }
        let batches = match source {
            None => {
                let i = self.lock();
                let mut keys = Vec::new();
                let mut count = 0;
                for b in &i.values {
                    if !keys.is_empty() && count + b.count > self.caching.max_send_count {
                        break;
                    }
                    keys.push(b.key);
                    count += b.count;
                }
                Batches {
                    source: Source::Queue,
                    keys,
                }
            }
            Some(log) => match log.take(&self.id, self.caching.max_send_count) {
                Some(t) => Batches {
                    source: Source::Log(log),
                    keys: t.keys,
                },
                // Its next entry is still being committed: the append wakes this North.
                None => return Ok(Next::Wait(interval)),
            },
        };
        let values = self.read_values(&batches)?;
        Ok(Next::Values(batches, values))
    }

    /// The values of these batches, in order.
    pub fn read_values(&self, batches: &Batches) -> Result<Vec<OibusValue>, PluginError> {
        match &batches.source {
            Source::Queue => self.read_own_values(&batches.keys),
            Source::Log(log) => log
                .read(&batches.keys)
                .map_err(|e| PluginError::permanent(format!("North {:?}: {e}", self.id))),
        }
    }

    /// The values of these batches of the North's own queue, in order.
    fn read_own_values(&self, keys: &[u64]) -> Result<Vec<OibusValue>, PluginError> {
        let records = self
            .store
            .read(&table("v", &self.id), keys)
            .map_err(store_error)?;
        let mut values = Vec::new();
        for (key, record) in &records {
            let batch = codec::decode(record).map_err(|e| {
                PluginError::permanent(format!(
                    "North {:?}: cached batch {key} is corrupt: {e}",
                    self.id
                ))
            })?;
            values.extend(batch);
        }
        Ok(values)
    }

    fn forget_values(&self, keys: &[u64]) {
        let mut i = self.lock();
        for k in keys {
            // Sent batches are the oldest: almost always at the front.
            let pos = if i.values.front().is_some_and(|b| b.key == *k) {
                Some(0)
            } else {
                i.values.iter().position(|b| b.key == *k)
            };
            if let Some(b) = pos.and_then(|p| i.values.remove(p)) {
                i.queued_values -= b.count;
                i.queued_bytes -= b.bytes as u64;
            }
        }
        drop(i);
        self.space.notify_waiters();
    }

    fn forget_file(&self, key: u64) -> Option<FileRecord> {
        let mut i = self.lock();
        let pos = i.files.iter().position(|(k, _, _)| *k == key)?;
        let (_, f, _) = i.files.remove(pos)?;
        i.queued_bytes -= f.size;
        drop(i);
        self.space.notify_waiters();
        Some(f)
    }

    /// The batches were sent: drop them (or move the cursor past them), durably (the fsync is
    /// shared with the data path's group commit), so that a crash resends at most the batch in
    /// flight. Measured: 90 duplicates per `kill -9` without the fsync, 5 with it, and no cost
    /// to the pipeline (BENCHMARKS.md).
    pub async fn values_sent(&self, batches: Batches) -> Result<(), StoreError> {
        self.values_done(batches, Vec::new()).await
    }

    /// The batches leave the queue (sent, or set apart by `also`, applied in the same durable
    /// transaction).
    async fn values_done(&self, batches: Batches, mut also: Vec<Op>) -> Result<(), StoreError> {
        match batches.source {
            Source::Queue => {
                self.forget_values(&batches.keys);
                also.push(Op::Remove {
                    table: table("v", &self.id),
                    keys: batches.keys,
                });
                self.store.apply(also, true).await.map(drop)
            }
            Source::Log(log) => {
                let (Some(first), Some(last)) = (batches.keys.first(), batches.keys.last()) else {
                    return Ok(());
                };
                let done = log.advance(&self.id, *first, last + 1, also).await;
                self.space.notify_waiters();
                done
            }
        }
    }

    /// The file was sent from `sent` (what [`Self::file_to_send`] gave): drop its row, then
    /// archive or delete the copy.
    pub async fn file_sent(&self, key: u64, sent: &Path) -> Result<(), StoreError> {
        self.files_sent(&[(key, sent.to_path_buf())]).await
    }

    /// [`Self::file_sent`] for several files, with one change to the store.
    pub async fn files_sent(&self, sent: &[(u64, PathBuf)]) -> Result<(), StoreError> {
        let sent: Vec<_> = sent
            .iter()
            .filter(|(key, _)| self.forget_file(*key).is_some())
            .collect();
        if sent.is_empty() {
            return Ok(());
        }
        self.store
            .apply(
                vec![Op::Remove {
                    table: table("f", &self.id),
                    keys: sent.iter().map(|(k, _)| *k).collect(),
                }],
                false,
            )
            .await?;
        let archive = self.files_dir.join("archive");
        if self.caching.archive.enabled
            && let Err(e) = std::fs::create_dir_all(&archive)
        {
            tracing::warn!(north = %self.id, "cannot create {}: {e}", archive.display());
        }
        for (key, path) in sent {
            let result = if self.caching.archive.enabled {
                // The key keeps two archived files of the same name apart.
                let archived = archive.join(format!("{key:016x}-{}", file_name(path)));
                std::fs::rename(path, archived)
            } else if self.sending.holds(path) {
                self.sending.done(path);
                Ok(())
            } else {
                std::fs::remove_file(path)
            };
            if let Err(e) = result {
                tracing::warn!(north = %self.id, "cannot remove sent file {}: {e}", path.display());
            }
        }
        if self.lock().files.is_empty() {
            self.sending.drop_spares();
        }
        Ok(())
    }

    /// Deletes archived files older than the retention.
    pub fn purge_archive(&self) {
        let archive = self.files_dir.join("archive");
        let Ok(entries) = std::fs::read_dir(&archive) else {
            return;
        };
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > self.caching.archive.retention.0);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// What is queued: value batches `(key, values, bytes)` (the North's own queue, then each
    /// log's entries not sent yet) and files `(key, record)`.
    pub fn queued_entries(&self) -> QueuedEntries {
        let (mut values, files): QueuedEntries = {
            let i = self.lock();
            (
                i.values.iter().map(|b| (b.key, b.count, b.bytes)).collect(),
                i.files.iter().map(|(k, f, _)| (*k, f.clone())).collect(),
            )
        };
        for log in self.logs() {
            values.extend(log.pending(&self.id));
        }
        (values, files)
    }

    /// Deletes everything this North has cached, for a North that is deleted: its queues, its
    /// error stores and its files (archive included). Returns what was dropped.
    pub async fn destroy(&self) -> Result<Dropped, StoreError> {
        let (queued_values, queued_files, _) = self.queued();
        let (_, error_values, error_files) = self.errors()?;
        for log in self.logs() {
            log.forget(&self.id).await?;
        }
        let ops = ["v", "f", "ve", "fe"]
            .into_iter()
            .map(|kind| Op::DropTable {
                table: table(kind, &self.id),
            })
            .collect();
        self.store.apply(ops, true).await?;
        match std::fs::remove_dir_all(&self.files_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError(format!(
                    "cannot delete {}: {e}",
                    self.files_dir.display()
                )));
            }
            _ => {}
        }
        Ok(Dropped {
            values: queued_values + error_values,
            files: queued_files + error_files,
        })
    }
}

/// What [`NorthQueue::destroy`] dropped (queued and in error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Values.
    pub values: usize,
    /// Files.
    pub files: usize,
}

/// Most bytes of files in one batch, unless its first file alone is larger.
pub const FILE_BATCH_BYTES: u64 = 256 << 20;
