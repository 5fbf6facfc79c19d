//! One North's queues: value batches and files waiting to be sent, and their error stores.
//! The records live in the [`Store`]; an index in memory says what is queued, in order.

use super::{
    codec, file_record,
    file_record::FileRecord,
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
}

impl Index {
    /// Adds an encoded batch at the end.
    fn push_batch(&mut self, key: u64, record: &[u8], since: Instant) {
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

/// Batches of one `add_values` call already encoded, by batch size (see
/// [`NorthQueue::append_encoded_op`]).
#[derive(Default)]
pub struct Encoded(std::collections::HashMap<usize, Vec<Arc<Vec<u8>>>>);

/// What the sender should do next.
#[derive(Debug)]
pub enum Next {
    /// Send these batches together (keys and the decoded values, in order).
    Values(Vec<u64>, Vec<OibusValue>),
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
    index: Mutex<Index>,
    /// Woken when data is queued.
    pub arrived: Notify,
    space: Notify,
    full_logged: AtomicBool,
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
            match file_record::decode(record) {
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
            if let Ok(f) = file_record::decode(record)
                && !f.inline
            {
                known.insert(f.path);
            }
        })?;
        // Files kept inside the store are written out here only while a North sends them.
        let sending = files_dir.join(SENDING);
        match std::fs::remove_dir_all(&sending) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError(format!(
                    "cannot empty {}: {e}",
                    sending.display()
                )));
            }
            _ => {}
        }
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
            index: Mutex::new(index),
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

    /// The North's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Values and bytes queued now.
    pub fn queued(&self) -> (usize, usize, u64) {
        let i = self.lock();
        (i.queued_values, i.files.len(), i.queued_bytes)
    }

    /// How long the oldest queued entry (value batch or file) has waited; `None` when empty.
    pub fn oldest_age(&self) -> Option<Duration> {
        let i = self.lock();
        let batch = i.values.front().map(|b| b.queued);
        let file = i.files.front().map(|(_, _, t)| *t);
        batch.into_iter().chain(file).min().map(|t| t.elapsed())
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

    /// The store operation that queues `values` (split into batches of at most `max_send_count`).
    pub fn append_values_op(&self, values: &[OibusValue]) -> Op {
        self.append_encoded_op(values, &mut Encoded::default())
    }

    /// [`Self::append_values_op`], encoding `values` only if `encoded` has no batches of this
    /// queue's size yet: a South feeding 10,000 Norths encodes each call once, not 10,000 times,
    /// and the Norths' operations share the records.
    pub fn append_encoded_op(&self, values: &[OibusValue], encoded: &mut Encoded) -> Op {
        let size = self.caching.max_send_count.max(1);
        let records = encoded
            .0
            .entry(size)
            .or_insert_with(|| {
                values
                    .chunks(size)
                    .map(|c| Arc::new(codec::encode(c)))
                    .collect()
            })
            .clone();
        Op::Append {
            table: table("v", &self.id),
            records,
        }
    }

    /// Records in the index the batches of a committed [`Self::append_values_op`].
    pub fn appended_values(&self, op: &Op, keys: &[u64]) {
        let Op::Append { records, .. } = op else {
            return;
        };
        let now = Instant::now();
        let mut i = self.lock();
        for (record, &key) in records.iter().zip(keys) {
            i.push_batch(key, record, now);
        }
        drop(i);
        self.arrived.notify_one();
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
        copy_into_slot(&self.files_dir.join(SENDING), &f.name, false, |out| {
            use std::io::Write;
            out.write_all(content).map(|()| content.len() as u64)
        })
        .map(|(path, _)| path)
        .map_err(|e| fail(e.to_string()))
    }

    /// Records in the index the file of a committed [`Self::store_file`] operation.
    pub fn appended_file(&self, op: &Op, keys: &[u64]) {
        let Op::Append { records, .. } = op else {
            return;
        };
        let mut i = self.lock();
        for (record, &key) in records.iter().zip(keys) {
            if let Ok(f) = file_record::decode(record) {
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
        let (keys, wait) = {
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
            let Some(first) = i.values.front() else {
                return Ok(Next::Wait(self.caching.send_interval.0));
            };
            let age = first.since.elapsed();
            if i.queued_values < self.caching.group_count && age < self.caching.send_interval.0 {
                (Vec::new(), self.caching.send_interval.0 - age)
            } else {
                let mut keys = Vec::new();
                let mut count = 0;
                for b in &i.values {
                    if !keys.is_empty() && count + b.count > self.caching.max_send_count {
                        break;
                    }
                    keys.push(b.key);
                    count += b.count;
                }
                (keys, Duration::ZERO)
            }
        };
        if keys.is_empty() {
            return Ok(Next::Wait(wait));
        }
        let values = self.read_values(&keys)?;
        Ok(Next::Values(keys, values))
    }

    /// The values of these queued batches, in order.
    pub fn read_values(&self, keys: &[u64]) -> Result<Vec<OibusValue>, PluginError> {
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

    /// The batches were sent: drop them, durably (the fsync is shared with the data path's group
    /// commit), so that a crash resends at most the batch in flight. Measured: 90 duplicates per
    /// `kill -9` without the fsync, 5 with it, and no cost to the pipeline (BENCHMARKS.md).
    pub async fn values_sent(&self, keys: Vec<u64>) -> Result<(), StoreError> {
        self.forget_values(&keys);
        self.store
            .apply(
                vec![Op::Remove {
                    table: table("v", &self.id),
                    keys,
                }],
                true,
            )
            .await
            .map(drop)
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
            } else {
                std::fs::remove_file(path)
            };
            if let Err(e) = result {
                tracing::warn!(north = %self.id, "cannot remove sent file {}: {e}", path.display());
            }
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

    /// What is queued: value batches `(key, values, bytes)` and files `(key, record)`.
    pub fn queued_entries(&self) -> QueuedEntries {
        let i = self.lock();
        (
            i.values.iter().map(|b| (b.key, b.count, b.bytes)).collect(),
            i.files.iter().map(|(k, f, _)| (*k, f.clone())).collect(),
        )
    }

    /// Deletes everything this North has cached, for a North that is deleted: its queues, its
    /// error stores and its files (archive included). Returns what was dropped.
    pub async fn destroy(&self) -> Result<Dropped, StoreError> {
        let (queued_values, queued_files, _) = self.queued();
        let (_, error_values, error_files) = self.errors()?;
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

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Most bytes of files in one batch, unless its first file alone is larger.
pub const FILE_BATCH_BYTES: u64 = 256 << 20;

/// The folder of `files_dir` where files kept inside the store are written out to be sent.
const SENDING: &str = "sending";

/// Writes a new file called `name` with `write` into the first slot folder of `files_dir`
/// (`0`, `1`…) that has none of that name; returns its path and what `write` returned (its
/// size). With `durable`, the file and its folder entry are synced before it returns; a slot
/// folder is made durable in `files_dir` when it is created, so that the file's own folder
/// entry is all that a later file needs to sync.
fn copy_into_slot(
    files_dir: &Path,
    name: &str,
    durable: bool,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<u64>,
) -> std::io::Result<(PathBuf, u64)> {
    for slot in 0u32.. {
        let folder = files_dir.join(slot.to_string());
        if !folder.is_dir() {
            std::fs::create_dir_all(&folder)?;
            if durable {
                std::fs::File::open(files_dir)?.sync_all()?;
            }
        }
        let target = folder.join(name);
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        // Until its record is committed the copy is an orphan, removed at the next start-up
        // if a crash comes first.
        let size = write(&mut f)?;
        if durable {
            f.sync_all()?;
            std::fs::File::open(&folder)?.sync_all()?;
        }
        return Ok((target, size));
    }
    unreachable!("slots are unbounded")
}

/// When this process first opened a queue (before it could copy any file).
fn process_start() -> std::time::SystemTime {
    static START: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::SystemTime::now)
}

/// Removes the copies in the slot folders of `files_dir` that no record refers to (left by a
/// crash between the copy and its record). Returns how many.
fn remove_orphans(files_dir: &Path, known: &std::collections::HashSet<PathBuf>) -> usize {
    let mut removed = 0;
    let Ok(slots) = std::fs::read_dir(files_dir) else {
        return 0;
    };
    for slot in slots.flatten() {
        let is_slot = slot.file_name().to_string_lossy().parse::<u32>().is_ok();
        if !is_slot || !slot.path().is_dir() {
            continue;
        }
        let Ok(files) = std::fs::read_dir(slot.path()) else {
            continue;
        };
        for f in files.flatten() {
            // Only what an earlier process left: a copy this process is making has no record
            // yet either. (The margin covers the coarse clock of file times.)
            let earlier = f
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t + Duration::from_secs(2) < process_start());
            if earlier && !known.contains(&f.path()) && std::fs::remove_file(f.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::Timestamp;

    fn open(store: &Store, dir: &Path, id: &str) -> NorthQueue {
        NorthQueue::open(id, store.clone(), CachingConfig::default(), dir.join(id)).unwrap()
    }

    async fn queue_with_data(store: &Store, dir: &Path, id: &str) -> NorthQueue {
        let q = open(store, dir, id);
        let values: Vec<_> = (0..5i64)
            .map(|i| OibusValue::new("p", Timestamp::now(), i))
            .collect();
        let op = q.append_values_op(&values);
        let keys = store.apply(vec![op.clone()], true).await.unwrap();
        q.appended_values(&op, &keys[0]);
        let source = dir.join("report.csv");
        std::fs::write(&source, "a,b\n").unwrap();
        let op = q.store_file(&source, "south", &mut None).unwrap();
        let keys = store.apply(vec![op.clone()], true).await.unwrap();
        q.appended_file(&op, &keys[0]);
        q
    }

    #[tokio::test]
    async fn destroying_a_queue_drops_its_records_and_files_and_nothing_of_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.redb")).unwrap();
        let gone = queue_with_data(&store, dir.path(), "gone").await;
        let kept = queue_with_data(&store, dir.path(), "kept").await;
        assert_eq!(
            gone.destroy().await.unwrap(),
            Dropped {
                values: 5,
                files: 1
            }
        );
        assert!(!dir.path().join("gone").exists());
        drop(gone);
        let again = open(&store, dir.path(), "gone");
        assert_eq!(again.queued(), (0, 0, 0));
        // A new batch of the same id starts a new table.
        let op = again.append_values_op(&[OibusValue::new("p", Timestamp::now(), 1i64)]);
        store.apply(vec![op], true).await.unwrap();
        let kept_again = open(&store, dir.path(), "kept");
        assert_eq!(kept_again.queued().0, 5);
        assert_eq!(kept_again.queued().1, 1);
        drop(kept);
    }

    #[tokio::test]
    async fn small_files_live_in_the_store_and_are_written_out_only_to_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        let source = dir.path().join("report.csv");
        std::fs::write(&source, "a,b\n").unwrap();
        let big = dir.path().join("big.bin");
        std::fs::write(&big, vec![7u8; 64 * 1024 + 1]).unwrap();
        {
            let store = Store::open(&path).unwrap();
            let q = open(&store, dir.path(), "n");
            for f in [&source, &big] {
                let op = q.store_file(f, "south", &mut None).unwrap();
                let keys = store.apply(vec![op.clone()], true).await.unwrap();
                q.appended_file(&op, &keys[0]);
            }
        }
        std::fs::remove_file(&source).unwrap();
        // Reopened as after a restart: the small file is only in the store, the big one beside it.
        let store = loop {
            match Store::open(&path) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        let q = open(&store, dir.path(), "n");
        assert_eq!(q.queued().1, 2);
        let listing = |d: &Path| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = walk(d);
            v.sort();
            v
        };
        assert_eq!(
            listing(&dir.path().join("n")),
            [dir.path().join("n/0/big.bin")]
        );
        let Next::File(key, record) = q.next(false).unwrap() else {
            panic!("a file is queued")
        };
        assert!(record.inline && record.name == "report.csv" && record.size == 4);
        let sent = q.file_to_send(key, &record).unwrap();
        assert_eq!(sent, dir.path().join("n/sending/0/report.csv"));
        assert_eq!(std::fs::read_to_string(&sent).unwrap(), "a,b\n");
        // Failed for good: into the error store with its content; retried: back with it.
        let why = crate::cache::error_entry::SetAside::now("the destination refused it");
        q.file_failed(key, &sent, &why).await.unwrap();
        assert!(!sent.exists());
        assert_eq!(q.errors().unwrap(), (0, 0, 1));
        let (_, files) = q.error_entries().unwrap();
        assert_eq!(files[0].why.as_ref(), Some(&why));
        assert_eq!(q.retry_errors(None, None).await.unwrap(), 1);
        let (_, files) = q.queued_entries();
        let (key, record) = files.into_iter().find(|(_, f)| f.inline).unwrap();
        let sent = q.file_to_send(key, &record).unwrap();
        assert_eq!(std::fs::read_to_string(&sent).unwrap(), "a,b\n");
        q.file_sent(key, &sent).await.unwrap();
        assert!(!sent.exists(), "the written-out copy is removed once sent");
        assert_eq!(q.queued().1, 1, "the big file is still queued");
    }

    #[tokio::test]
    async fn values_for_several_norths_are_encoded_once_per_batch_size_and_each_gets_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.redb")).unwrap();
        let (a, b) = (open(&store, dir.path(), "a"), open(&store, dir.path(), "b"));
        let small = CachingConfig {
            max_send_count: 2,
            ..CachingConfig::default()
        };
        let c = NorthQueue::open("c", store.clone(), small, dir.path().join("c")).unwrap();
        let values: Vec<_> = (0..5i64)
            .map(|i| OibusValue::new("p", Timestamp::now(), i))
            .collect();
        let mut encoded = Encoded::default();
        let ops: Vec<Op> = [&a, &b, &c]
            .iter()
            .map(|q| q.append_encoded_op(&values, &mut encoded))
            .collect();
        let records = |op: &Op| match op {
            Op::Append { records, .. } => records.clone(),
            _ => panic!("an append"),
        };
        let (ra, rb, rc) = (records(&ops[0]), records(&ops[1]), records(&ops[2]));
        assert!(
            ra.len() == 1 && Arc::ptr_eq(&ra[0], &rb[0]),
            "shared by a and b"
        );
        assert_eq!(rc.len(), 3, "c's batches are of its own size: 2 + 2 + 1");
        let keys = store.apply(ops.clone(), true).await.unwrap();
        for ((q, op), keys) in [&a, &b, &c].iter().zip(&ops).zip(&keys) {
            q.appended_values(op, keys);
        }
        for q in [&a, &b, &c] {
            let keys: Vec<u64> = q.queued_entries().0.iter().map(|b| b.0).collect();
            let got: Vec<_> = q
                .read_values(&keys)
                .unwrap()
                .into_iter()
                .map(|v| v.value)
                .collect();
            assert_eq!(
                got,
                values.iter().map(|v| v.value.clone()).collect::<Vec<_>>()
            );
        }
    }

    #[tokio::test]
    async fn a_small_file_for_several_norths_is_read_once_and_queued_in_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.redb")).unwrap();
        let (a, b) = (open(&store, dir.path(), "a"), open(&store, dir.path(), "b"));
        let source = dir.path().join("report.csv");
        std::fs::write(&source, "a,b\n").unwrap();
        let mut shared = None;
        let op_a = a.store_file(&source, "south", &mut shared).unwrap();
        std::fs::write(&source, "c,d\n").unwrap();
        let op_b = b.store_file(&source, "south", &mut shared).unwrap();
        let (Op::Append { records: ra, .. }, Op::Append { records: rb, .. }) = (&op_a, &op_b)
        else {
            panic!("appends")
        };
        assert!(Arc::ptr_eq(&ra[0], &rb[0]), "one read, one row for both");
        let keys = store.apply(vec![op_a.clone(), op_b.clone()], true).await;
        let keys = keys.unwrap();
        a.appended_file(&op_a, &keys[0]);
        b.appended_file(&op_b, &keys[1]);
        for q in [&a, &b] {
            let Next::File(key, record) = q.next(false).unwrap() else {
                panic!("a file is queued in {}", q.id())
            };
            let sent = q.file_to_send(key, &record).unwrap();
            assert_eq!(std::fs::read_to_string(sent).unwrap(), "a,b\n");
        }
    }

    fn walk(d: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[tokio::test]
    async fn cached_files_keep_their_names_even_when_two_share_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.redb")).unwrap();
        let caching = CachingConfig {
            inline_files_up_to: crate::config::ByteSize(0),
            ..CachingConfig::default()
        };
        let q = NorthQueue::open("n", store.clone(), caching, dir.path().join("n")).unwrap();
        let source = dir.path().join("report.csv");
        let mut paths = Vec::new();
        for content in ["first", "second"] {
            std::fs::write(&source, content).unwrap();
            let op = q.store_file(&source, "south", &mut None).unwrap();
            let keys = store.apply(vec![op.clone()], true).await.unwrap();
            q.appended_file(&op, &keys[0]);
            let Next::File(_, record) = q.next(false).unwrap() else {
                panic!("a file is queued")
            };
            paths.push(record.path.clone());
            q.forget_file(keys[0][0]);
        }
        assert_eq!(paths[0], dir.path().join("n/0/report.csv"));
        assert_eq!(paths[1], dir.path().join("n/1/report.csv"));
        assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "first");
        assert_eq!(std::fs::read_to_string(&paths[1]).unwrap(), "second");
    }

    #[test]
    fn copies_without_a_record_from_an_earlier_process_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let slot = dir.path().join("0");
        std::fs::create_dir_all(&slot).unwrap();
        let (kept, orphan) = (slot.join("kept.bin"), slot.join("orphan.bin"));
        for f in [&kept, &orphan] {
            std::fs::write(f, "x").unwrap();
            let before = process_start() - Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(before)
                .unwrap();
        }
        let fresh = slot.join("being-copied.bin");
        std::fs::write(&fresh, "x").unwrap();
        let known = [kept.clone()].into_iter().collect();
        assert_eq!(remove_orphans(dir.path(), &known), 1);
        assert!(kept.exists() && fresh.exists() && !orphan.exists());
    }
}
