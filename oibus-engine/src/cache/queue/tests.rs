//! The queues of a North, attacked: order, bounds, crashes between a copy and its record, the
//! error store.

use super::*;
use crate::cache::slots::process_start;
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
async fn values_for_several_norths_are_appended_once_and_each_sends_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("c.redb")).unwrap();
    let at_once = CachingConfig {
        group_count: 1,
        ..CachingConfig::default()
    };
    let queue = |id: &str, caching: &CachingConfig| {
        NorthQueue::open(id, store.clone(), caching.clone(), dir.path().join(id)).unwrap()
    };
    let (a, b) = (queue("a", &at_once), queue("b", &at_once));
    let small = CachingConfig {
        max_send_count: 2,
        ..at_once.clone()
    };
    let c = queue("c", &small);
    let log = crate::cache::ValueLog::open(store.clone(), "s").unwrap();
    log.configure(Default::default(), 2);
    for q in [&a, &b, &c] {
        log.start_for(q.id(), crate::config::StartFrom::Now)
            .unwrap();
        q.set_logs(vec![log.clone()]);
    }
    // c also has a batch of its own queued (from an earlier version): it goes first.
    let op = c.append_values_op(&[OibusValue::new("own", Timestamp::now(), -1i64)]);
    let keys = store.apply(vec![op.clone()], true).await.unwrap();
    c.appended_values(&op, &keys[0]);
    let values: Vec<_> = (0..5i64)
        .map(|i| OibusValue::new("p", Timestamp::now(), i))
        .collect();
    log.append(&values).await.unwrap();
    let mut rows = 0;
    store.scan("lv/s", |_, _| rows += 1).unwrap();
    assert_eq!(
        rows, 3,
        "written once, in entries of the smallest max_send_count"
    );
    for q in [&a, &b, &c] {
        assert_eq!(q.queued().0, 5 + usize::from(q.id() == "c"));
        let mut got = Vec::new();
        loop {
            match q.next(false).unwrap() {
                Next::Values(batches, v) => {
                    assert!(v.len() <= q.caching.max_send_count);
                    got.extend(v.into_iter().map(|v| v.value));
                    q.values_sent(batches).await.unwrap();
                }
                Next::Wait(_) => break,
                other => panic!("{other:?}"),
            }
        }
        let mut expected: Vec<_> = values.iter().map(|v| v.value.clone()).collect();
        if q.id() == "c" {
            expected.insert(0, oibus_plugin_api::DataValue::Int(-1));
        }
        assert_eq!(got, expected, "North {}", q.id());
        assert_eq!(q.queued(), (0, 0, 0));
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
    let (Op::Append { records: ra, .. }, Op::Append { records: rb, .. }) = (&op_a, &op_b) else {
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

#[tokio::test]
async fn a_queue_catches_up_with_batches_moved_into_its_table_after_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("c.redb")).unwrap();
    let q = queue_with_data(&store, dir.path(), "n").await;
    assert_eq!(q.queued().0, 5);
    // A South's log moves two batches in (as `ValueLog::stop_for` does), unseen by the queue.
    let moved: Vec<_> = (0..2i64)
        .map(|i| {
            Arc::new(codec::encode(&[
                OibusValue::new("m", Timestamp::now(), i),
                OibusValue::new("m", Timestamp::now(), i + 10),
            ]))
        })
        .collect();
    store
        .apply(
            vec![Op::Append {
                table: NorthQueue::own_values_table("n"),
                records: moved,
            }],
            true,
        )
        .await
        .unwrap();
    assert_eq!(q.queued().0, 5);
    assert_eq!(q.catch_up_values().unwrap(), 2);
    assert_eq!(q.queued().0, 9);
    assert_eq!(q.catch_up_values().unwrap(), 0, "nothing is indexed twice");
    let (queued, _) = q.queued_entries();
    let keys: Vec<u64> = queued.iter().map(|(k, _, _)| *k).collect();
    let values = q
        .read_values(&Batches {
            source: Source::Queue,
            keys,
        })
        .unwrap();
    assert_eq!(
        values.len(),
        9,
        "the batches in key order, the moved ones last"
    );
    assert_eq!(values[8], OibusValue::new("m", values[8].timestamp, 11i64));
}
