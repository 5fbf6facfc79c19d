//! The embedded store (redb) behind every North's queues and the engine's state, with one writer
//! thread that group-commits: every request waiting when a transaction starts goes into it, so
//! many concurrent `add_values` share one fsync.

use crate::config::DEFAULT_CACHE;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, mpsc},
    thread,
};
use tokio::sync::oneshot;

/// A failure of the store.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cache store: {0}")]
pub struct StoreError(pub String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

type Table<'a> = TableDefinition<'a, u64, &'static [u8]>;
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");

/// One change to the store (cheap to clone: records are shared).
#[derive(Debug, Clone)]
pub enum Op {
    /// Appends records to a queue table; the reply lists their new keys.
    Append {
        /// Table name.
        table: String,
        /// The records.
        records: Vec<Arc<Vec<u8>>>,
    },
    /// Removes records.
    Remove {
        /// Table name.
        table: String,
        /// Their keys.
        keys: Vec<u64>,
    },
    /// Moves records to another table (new keys at its end).
    Move {
        /// From this table…
        from: String,
        /// …to this one.
        to: String,
        /// Keys in `from`.
        keys: Vec<u64>,
    },
    /// Sets a state entry.
    PutState {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
    },
    /// Deletes a queue table and every record in it.
    DropTable {
        /// Table name.
        table: String,
    },
    /// Deletes every state entry whose key starts with `prefix`.
    DeleteState {
        /// Key prefix.
        prefix: String,
    },
    /// Inserts records under keys chosen by the caller (a log numbers its own entries).
    Put {
        /// Table name.
        table: String,
        /// Keys and records.
        entries: Vec<(u64, Arc<Vec<u8>>)>,
    },
    /// Removes every record whose key is below `below`.
    RemoveBelow {
        /// Table name.
        table: String,
        /// First key kept.
        below: u64,
    },
    /// Deletes one state entry.
    RemoveState {
        /// Key.
        key: String,
    },
}

struct Request {
    ops: Vec<Op>,
    durable: bool,
    reply: oneshot::Sender<Result<Vec<Vec<u64>>, StoreError>>,
}

/// Requests taken into one transaction at most (bounds the latency of the first).
const MAX_GROUP: usize = 4096;

/// The store. Cheap to clone. When the last clone is dropped, the writer finishes what it was
/// given and the file is closed before `drop` returns, so that the next process (or test) can
/// open it at once.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: Arc<Writer>,
}

/// The writer thread and its queue of requests.
struct Writer {
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop; joining it releases its handle on the file.
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Store {
    /// Opens (or creates) the store file and starts its writer thread, with a page cache of
    /// [`DEFAULT_CACHE`] bytes.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(path, DEFAULT_CACHE)
    }

    /// [`Store::open`] with a page cache of at most `cache_bytes` (redb's own default is 1 GiB,
    /// which a site with thousands of queues fills).
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = Arc::new(
            redb::Builder::new()
                .set_cache_size(cache_bytes)
                .create(path)
                .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?,
        );
        let (requests, rx) = mpsc::channel();
        let writer_db = db.clone();
        let thread = thread::Builder::new()
            .name("oibus-cache-writer".into())
            .spawn(move || writer(&writer_db, &rx))
            .map_err(err)?;
        Ok(Self {
            db,
            writer: Arc::new(Writer {
                requests: Some(requests),
                thread: Some(thread),
            }),
        })
    }

    /// Applies `ops` in one transaction shared with other waiting requests; with `durable`, returns
    /// only once they are on disk. Returns the new keys of each `Append` and `Move`, in order.
    pub async fn apply(&self, ops: Vec<Op>, durable: bool) -> Result<Vec<Vec<u64>>, StoreError> {
        self.submit(ops, durable)?.await
    }

    /// [`Store::apply`] in two steps: the request is queued for the writer before this returns
    /// (so that requests submitted one after the other are committed in that order, in the same
    /// or in successive transactions), and the future it returns waits for the commit.
    pub fn submit(
        &self,
        ops: Vec<Op>,
        durable: bool,
    ) -> Result<impl Future<Output = Result<Vec<Vec<u64>>, StoreError>> + use<>, StoreError> {
        let stopped = || StoreError("the writer has stopped".into());
        let (reply, rx) = oneshot::channel();
        self.writer
            .requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request {
                ops,
                durable,
                reply,
            })
            .map_err(|_| stopped())?;
        Ok(async move { rx.await.map_err(|_| stopped())? })
    }

    /// Calls `f` with every state entry whose key starts with `prefix`, in key order.
    pub fn scan_state(
        &self,
        prefix: &str,
        mut f: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = match tx.open_table(STATE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        for r in t.range(prefix..).map_err(err)? {
            let (k, v) = r.map_err(err)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            f(k.value(), v.value());
        }
        Ok(())
    }

    /// Makes every earlier change durable, including those applied without fsync (the clean-up
    /// of files already sent, found at start-up): called at shutdown.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.apply(Vec::new(), true).await.map(drop)
    }

    /// Calls `f` with every key of a queue table and its record, in order.
    pub fn scan(&self, table: &str, mut f: impl FnMut(u64, &[u8])) -> Result<(), StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = match tx.open_table(Table::new(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        for r in t.iter().map_err(err)? {
            let (k, v) = r.map_err(err)?;
            f(k.value(), v.value());
        }
        Ok(())
    }

    /// The records of these keys (missing keys are skipped).
    pub fn read(&self, table: &str, keys: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = match tx.open_table(Table::new(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(err(e)),
        };
        let mut out = Vec::with_capacity(keys.len());
        for &k in keys {
            if let Some(v) = t.get(k).map_err(err)? {
                out.push((k, v.value().to_vec()));
            }
        }
        Ok(out)
    }

    /// A state entry.
    pub fn state(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = match tx.open_table(STATE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        Ok(t.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    /// Names of every table.
    pub fn tables(&self) -> Result<Vec<String>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        Ok(tx
            .list_tables()
            .map_err(err)?
            .map(|t| t.name().to_string())
            .collect())
    }
}

fn writer(db: &Database, rx: &mpsc::Receiver<Request>) {
    let mut next_keys: HashMap<String, u64> = HashMap::new();
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let durable = group.iter().any(|r| r.durable);
        let result = commit(db, &group, durable, &mut next_keys);
        match result {
            Ok(mut keys) => {
                for r in group.into_iter().rev() {
                    let mine = keys.pop().unwrap_or_default();
                    let _ = r.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!("{e}");
                // Keys handed out in a failed transaction were not used: forget them.
                next_keys.clear();
                for r in group {
                    let _ = r.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Applies every request of `group` in one transaction; returns the new keys per request.
fn commit(
    db: &Database,
    group: &[Request],
    durable: bool,
    next_keys: &mut HashMap<String, u64>,
) -> Result<Vec<Vec<Vec<u64>>>, StoreError> {
    let mut tx = db.begin_write().map_err(err)?;
    tx.set_durability(if durable {
        Durability::Immediate
    } else {
        Durability::None
    })
    .map_err(err)?;
    let mut all = Vec::with_capacity(group.len());
    for request in group {
        let mut keys = Vec::new();
        for op in &request.ops {
            match op {
                Op::Append { table, records } => {
                    let mut t = tx.open_table(Table::new(table)).map_err(err)?;
                    let records = records.iter().map(|r| r.as_slice());
                    keys.push(append(&mut t, next_keys, table, records)?);
                }
                Op::Remove { table, keys: ks } => {
                    let mut t = tx.open_table(Table::new(table)).map_err(err)?;
                    for k in ks {
                        t.remove(*k).map_err(err)?;
                    }
                }
                Op::Move { from, to, keys: ks } => {
                    let mut records = Vec::with_capacity(ks.len());
                    {
                        let mut t = tx.open_table(Table::new(from)).map_err(err)?;
                        for k in ks {
                            if let Some(v) = t.remove(*k).map_err(err)? {
                                records.push(v.value().to_vec());
                            }
                        }
                    }
                    let mut t = tx.open_table(Table::new(to)).map_err(err)?;
                    let records = records.iter().map(Vec::as_slice);
                    keys.push(append(&mut t, next_keys, to, records)?);
                }
                Op::PutState { key, value } => {
                    let mut t = tx.open_table(STATE).map_err(err)?;
                    t.insert(key.as_str(), value.as_slice()).map_err(err)?;
                }
                Op::DropTable { table } => {
                    tx.delete_table(Table::new(table)).map_err(err)?;
                    next_keys.remove(table);
                }
                Op::DeleteState { prefix } => {
                    let mut t = tx.open_table(STATE).map_err(err)?;
                    t.retain(|k, _| !k.starts_with(prefix.as_str()))
                        .map_err(err)?;
                }
                Op::Put { table, entries } => {
                    let mut t = tx.open_table(Table::new(table)).map_err(err)?;
                    for (k, r) in entries {
                        t.insert(*k, r.as_slice()).map_err(err)?;
                    }
                }
                Op::RemoveBelow { table, below } => {
                    let mut t = tx.open_table(Table::new(table)).map_err(err)?;
                    t.retain_in(..*below, |_, _| false).map_err(err)?;
                }
                Op::RemoveState { key } => {
                    let mut t = tx.open_table(STATE).map_err(err)?;
                    t.remove(key.as_str()).map_err(err)?;
                }
            }
        }
        all.push(keys);
    }
    tx.commit().map_err(err)?;
    Ok(all)
}

/// Inserts records at the end of a queue table; returns their keys.
fn append<'r>(
    t: &mut redb::Table<u64, &'static [u8]>,
    next_keys: &mut HashMap<String, u64>,
    table: &str,
    records: impl Iterator<Item = &'r [u8]>,
) -> Result<Vec<u64>, StoreError> {
    let next = next_key(next_keys, table, t)?;
    let mut keys = Vec::new();
    for r in records {
        t.insert(*next, r).map_err(err)?;
        keys.push(*next);
        *next += 1;
    }
    Ok(keys)
}

fn next_key<'m>(
    next_keys: &'m mut HashMap<String, u64>,
    table: &str,
    t: &redb::Table<u64, &'static [u8]>,
) -> Result<&'m mut u64, StoreError> {
    if !next_keys.contains_key(table) {
        let last = t.last().map_err(err)?.map_or(0, |(k, _)| k.value() + 1);
        next_keys.insert(table.to_string(), last);
    }
    Ok(next_keys.get_mut(table).expect("inserted above"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(s: &Store, table: &str) -> Vec<(u64, Vec<u8>)> {
        let mut v = Vec::new();
        s.scan(table, |k, r| v.push((k, r.to_vec()))).unwrap();
        v
    }

    #[tokio::test]
    async fn the_file_is_closed_when_the_last_clone_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        for i in 0..20u8 {
            let s = Store::open(&path).unwrap_or_else(|e| panic!("open #{i}: {e}"));
            let clone = s.clone();
            s.apply(
                vec![Op::PutState {
                    key: "k".into(),
                    value: vec![i],
                }],
                true,
            )
            .await
            .unwrap();
            drop(s);
            assert!(Store::open(&path).is_err(), "a clone still holds the file");
            drop(clone);
        }
    }

    #[tokio::test]
    async fn state_is_deleted_by_prefix_and_tables_whole() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("c.redb")).unwrap();
        let put = |key: &str| Op::PutState {
            key: key.into(),
            value: vec![1],
        };
        let append = Op::Append {
            table: "v/gone".into(),
            records: vec![Arc::new(b"a".to_vec())],
        };
        s.apply(
            vec![
                put("history/a/x"),
                put("history/a/y"),
                put("history/ab/x"),
                append,
            ],
            true,
        )
        .await
        .unwrap();
        s.apply(
            vec![
                Op::DeleteState {
                    prefix: "history/a/".into(),
                },
                Op::DropTable {
                    table: "v/gone".into(),
                },
            ],
            true,
        )
        .await
        .unwrap();
        assert_eq!(s.state("history/a/x").unwrap(), None);
        assert_eq!(s.state("history/a/y").unwrap(), None);
        assert_eq!(
            s.state("history/ab/x").unwrap(),
            Some(vec![1]),
            "another South's"
        );
        assert!(keys_of(&s, "v/gone").is_empty());
        // A table created again starts its keys afresh.
        let keys = s
            .apply(
                vec![Op::Append {
                    table: "v/gone".into(),
                    records: vec![Arc::new(b"b".to_vec())],
                }],
                true,
            )
            .await
            .unwrap();
        assert_eq!(keys_of(&s, "v/gone"), vec![(keys[0][0], b"b".to_vec())]);
    }

    #[tokio::test]
    async fn append_read_move_remove_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        {
            let s = Store::open(&path).unwrap();
            let keys = s
                .apply(
                    vec![Op::Append {
                        table: "q".into(),
                        records: vec![Arc::new(b"a".to_vec()), Arc::new(b"b".to_vec())],
                    }],
                    true,
                )
                .await
                .unwrap();
            assert_eq!(keys, vec![vec![0, 1]]);
            s.apply(
                vec![Op::Move {
                    from: "q".into(),
                    to: "e".into(),
                    keys: vec![0],
                }],
                true,
            )
            .await
            .unwrap();
            s.apply(
                vec![Op::PutState {
                    key: "k".into(),
                    value: b"v".to_vec(),
                }],
                true,
            )
            .await
            .unwrap();
            assert_eq!(keys_of(&s, "q"), vec![(1, b"b".to_vec())]);
            assert_eq!(s.read("e", &[0]).unwrap(), vec![(0, b"a".to_vec())]);
        }
        // The writer thread holds the database until its channel closes; wait for the file lock.
        let s = loop {
            match Store::open(&path) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        };
        assert_eq!(keys_of(&s, "q"), vec![(1, b"b".to_vec())]);
        assert_eq!(s.state("k").unwrap().as_deref(), Some(&b"v"[..]));
        let keys = s
            .apply(
                vec![Op::Append {
                    table: "q".into(),
                    records: vec![Arc::new(b"c".to_vec())],
                }],
                true,
            )
            .await
            .unwrap();
        assert_eq!(keys, vec![vec![2]], "keys continue after the last one");
        s.apply(
            vec![Op::Remove {
                table: "q".into(),
                keys: vec![1, 2],
            }],
            false,
        )
        .await
        .unwrap();
        assert!(keys_of(&s, "q").is_empty());
    }
}
