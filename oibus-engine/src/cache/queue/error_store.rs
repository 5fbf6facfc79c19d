//! A North's error stores: the value batches and files set aside, each with when and why
//! ([`error_entry`](crate::cache::error_entry)), listed, sent again or deleted on request.

use super::{Batches, NorthQueue, Source, relocated, table};
use crate::cache::{
    codec,
    error_entry::{self, ErrorBatch, ErrorEntries, ErrorFile, SetAside},
    file_record,
    store::{Op, StoreError},
};
use oibus_plugin_api::OibusValue;
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// Point ids listed per error-store batch.
const POINTS_LISTED: usize = 5;

/// Error-store entries chosen by an operation: batch keys, file keys, the files' cached copies.
type Selected = (Vec<u64>, Vec<u64>, Vec<PathBuf>);

impl NorthQueue {
    /// The batches failed for good, for `why`: move them to the error store.
    pub async fn values_failed(&self, batches: Batches, why: &SetAside) -> Result<(), StoreError> {
        let records = match &batches.source {
            Source::Queue => self
                .store
                .read(&table("v", &self.id), &batches.keys)?
                .into_iter()
                .map(|(_, r)| r)
                .collect(),
            Source::Log(log) => log.batches(&batches.keys)?,
        };
        let set_aside = self.error_op("v", records.iter().map(Vec::as_slice), why);
        self.values_done(batches, vec![set_aside]).await
    }

    /// Part of the batches was sent and the destination refused `refused`, for `why`: drop the
    /// batches and keep the refused values as one error-store entry, in one durable transaction.
    pub async fn values_partly_failed(
        &self,
        batches: Batches,
        refused: Vec<OibusValue>,
        why: &SetAside,
    ) -> Result<(), StoreError> {
        let record = codec::encode(&refused);
        let set_aside = self.error_op("v", std::iter::once(record.as_slice()), why);
        self.values_done(batches, vec![set_aside]).await
    }

    /// The file failed for good, for `why`: move it to the error store (a copy beside the store
    /// stays; the copy written out from inside the store is removed).
    pub async fn file_failed(
        &self,
        key: u64,
        sent: &Path,
        why: &SetAside,
    ) -> Result<(), StoreError> {
        if let Some(f) = self.forget_file(key)
            && f.inline
            && self.sending.holds(sent)
        {
            self.sending.done(sent);
        }
        let records = self.store.read(&table("f", &self.id), &[key])?;
        let records = records.iter().map(|(_, r)| r.as_slice());
        let set_aside = self.error_op("f", records, why);
        self.store
            .apply(
                vec![
                    set_aside,
                    Op::Remove {
                        table: table("f", &self.id),
                        keys: vec![key],
                    },
                ],
                true,
            )
            .await
            .map(drop)
    }

    /// The operation that puts `records` into the error store of queue `kind` (`v`, `f`), each
    /// with `why`.
    fn error_op<'r>(
        &self,
        kind: &str,
        records: impl Iterator<Item = &'r [u8]>,
        why: &SetAside,
    ) -> Op {
        Op::Append {
            table: table(&format!("{kind}e"), &self.id),
            records: records
                .map(|r| Arc::new(error_entry::wrap(why, r)))
                .collect(),
        }
    }

    /// What is in the error stores, with when and why each entry was set aside.
    pub fn error_entries(&self) -> Result<ErrorEntries, StoreError> {
        let (mut batches, mut files) = (Vec::new(), Vec::new());
        self.store.scan(&table("ve", &self.id), |key, entry| {
            let (why, record) = error_entry::unwrap(entry);
            let mut points: Vec<String> = Vec::new();
            for v in codec::decode(record).unwrap_or_default() {
                if points.len() == POINTS_LISTED {
                    break;
                }
                if !points.iter().any(|p| p == v.point_id.as_str()) {
                    points.push(v.point_id.to_string());
                }
            }
            batches.push(ErrorBatch {
                key,
                count: codec::count(record),
                bytes: record.len() as u64,
                points,
                why,
            });
        })?;
        self.store.scan(&table("fe", &self.id), |key, entry| {
            let (why, record) = error_entry::unwrap(entry);
            if let Ok(record) = file_record::decode(record).map(|f| relocated(f, &self.files_dir)) {
                files.push(ErrorFile { key, record, why });
            }
        })?;
        Ok((batches, files))
    }

    /// The error-store entries an operation applies to (`None`: all of that kind).
    fn select_errors(
        &self,
        batches: Option<Vec<u64>>,
        files: Option<Vec<u64>>,
    ) -> Result<Selected, StoreError> {
        let (all_batches, all_files) = self.error_entries()?;
        let batches = batches.unwrap_or_else(|| all_batches.iter().map(|b| b.key).collect());
        let files = files.unwrap_or_else(|| all_files.iter().map(|f| f.key).collect());
        let paths = all_files
            .into_iter()
            .filter(|f| files.contains(&f.key) && !f.record.inline)
            .map(|f| f.record.path)
            .collect();
        Ok((batches, files, paths))
    }

    /// Sends error-store entries again: they go back to the end of the queue, without their
    /// headers. `None`: all.
    pub async fn retry_errors(
        &self,
        batches: Option<Vec<u64>>,
        files: Option<Vec<u64>>,
    ) -> Result<usize, StoreError> {
        let (batches, files, _) = self.select_errors(batches, files)?;
        let unwrapped = |kind: &str, keys: &[u64]| -> Result<Vec<Arc<Vec<u8>>>, StoreError> {
            Ok(self
                .store
                .read(&table(kind, &self.id), keys)?
                .iter()
                .map(|(_, entry)| Arc::new(error_entry::unwrap(entry).1.to_vec()))
                .collect())
        };
        let (batch_records, file_records) = (unwrapped("ve", &batches)?, unwrapped("fe", &files)?);
        let append_values = Op::Append {
            table: table("v", &self.id),
            records: batch_records,
        };
        let append_files = Op::Append {
            table: table("f", &self.id),
            records: file_records,
        };
        let mut ops = vec![append_values.clone(), append_files.clone()];
        ops.extend(self.remove_errors(batches, files));
        let keys = self.store.apply(ops, true).await?;
        let (batch_keys, file_keys) = (&keys[0], &keys[1]);
        self.appended_values(&append_values, batch_keys);
        self.appended_file(&append_files, file_keys);
        Ok(batch_keys.len() + file_keys.len())
    }

    /// Deletes error-store entries for good (and their cached files). `None`: all.
    pub async fn delete_errors(
        &self,
        batches: Option<Vec<u64>>,
        files: Option<Vec<u64>>,
    ) -> Result<usize, StoreError> {
        let (batches, files, paths) = self.select_errors(batches, files)?;
        let count = batches.len() + files.len();
        self.store
            .apply(self.remove_errors(batches, files), true)
            .await?;
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
        Ok(count)
    }

    /// The operations that remove error-store entries.
    fn remove_errors(&self, batches: Vec<u64>, files: Vec<u64>) -> Vec<Op> {
        vec![
            Op::Remove {
                table: table("ve", &self.id),
                keys: batches,
            },
            Op::Remove {
                table: table("fe", &self.id),
                keys: files,
            },
        ]
    }

    /// Counts of the error stores: (value batches, values, files).
    pub fn errors(&self) -> Result<(usize, usize, usize), StoreError> {
        let (mut batches, mut values, mut files) = (0, 0, 0);
        self.store.scan(&table("ve", &self.id), |_, entry| {
            batches += 1;
            values += codec::count(error_entry::unwrap(entry).1);
        })?;
        self.store.scan(&table("fe", &self.id), |_, _| files += 1)?;
        Ok((batches, values, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cache::Store, config::CachingConfig};
    use oibus_plugin_api::Timestamp;

    /// A queue `n` in a store of its own (the folder goes with the first value).
    fn queue() -> (tempfile::TempDir, Store, NorthQueue) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.redb")).unwrap();
        let q = NorthQueue::open(
            "n",
            store.clone(),
            CachingConfig::default(),
            dir.path().join("n"),
        )
        .unwrap();
        (dir, store, q)
    }

    #[tokio::test]
    async fn entries_keep_why_their_points_and_size_and_go_back_whole() {
        let (_dir, store, q) = queue();
        let values: Vec<OibusValue> = ["a", "b", "a", "c"]
            .iter()
            .enumerate()
            .map(|(i, p)| OibusValue::new(*p, Timestamp::from_millis(i as i64), i as i64))
            .collect();
        let op = q.append_values_op(&values);
        let keys = store.apply(vec![op.clone()], true).await.unwrap();
        q.appended_values(&op, &keys[0]);
        let own = |keys: Vec<u64>| Batches {
            source: Source::Queue,
            keys,
        };
        // The whole batch, then one value of a batch refused after halving.
        let why = SetAside::now("retried 3 times: timed out");
        q.values_failed(own(keys[0].clone()), &why).await.unwrap();
        let refused = SetAside::now("point \"c\": 3 is not a Boolean");
        q.values_partly_failed(own(Vec::new()), values[3..].to_vec(), &refused)
            .await
            .unwrap();
        let (batches, _) = q.error_entries().unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].points, ["a", "b", "c"]);
        assert_eq!((batches[0].count, batches[0].why.as_ref()), (4, Some(&why)));
        assert!(batches[0].bytes > 0);
        assert_eq!(batches[1].points, ["c"]);
        assert_eq!(batches[1].why.as_ref(), Some(&refused));
        assert_eq!(q.errors().unwrap(), (2, 5, 0));
        // Sent again: the values as they were, without the header.
        assert_eq!(q.retry_errors(None, None).await.unwrap(), 2);
        assert_eq!(q.errors().unwrap(), (0, 0, 0));
        let (queued, _) = q.queued_entries();
        let keys: Vec<u64> = queued.iter().map(|(k, _, _)| *k).collect();
        let again = q.read_values(&own(keys)).unwrap();
        assert_eq!(again[..4], values[..]);
        assert_eq!(again[4], values[3]);
    }

    #[tokio::test]
    async fn an_entry_of_an_earlier_version_reads_without_a_reason() {
        let (_dir, store, q) = queue();
        let old = codec::encode(&[OibusValue::new("p", Timestamp::from_millis(0), 1i64)]);
        store
            .apply(
                vec![Op::Append {
                    table: table("ve", "n"),
                    records: vec![Arc::new(old)],
                }],
                true,
            )
            .await
            .unwrap();
        let (batches, _) = q.error_entries().unwrap();
        assert_eq!(
            (batches[0].count, &batches[0].points),
            (1, &vec!["p".to_string()])
        );
        assert!(batches[0].why.is_none());
        assert_eq!(q.retry_errors(None, None).await.unwrap(), 1);
        assert_eq!(q.queued().0, 1);
    }
}
