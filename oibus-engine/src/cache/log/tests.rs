//! The log attacked through its API: several readers, reopening, retention, replay, readers
//! leaving and coming back, a failed commit.

use super::*;
use crate::config::{ByteSize, Dur};
use oibus_plugin_api::Timestamp;

fn values(from: i64, n: i64) -> Vec<OibusValue> {
    (from..from + n)
        .map(|i| OibusValue::new("p", Timestamp::from_millis(i), i))
        .collect()
}

fn numbers(v: &[OibusValue]) -> Vec<i64> {
    v.iter()
        .map(|v| match v.value {
            oibus_plugin_api::DataValue::Int(i) => i,
            _ => panic!("{v:?}"),
        })
        .collect()
}

fn open(dir: &tempfile::TempDir) -> (Store, Arc<ValueLog>) {
    let store = Store::open(&dir.path().join("c.redb")).unwrap();
    let log = ValueLog::open(store.clone(), "s").unwrap();
    (store, log)
}

/// Takes and sends (advances past) what `north` has, returning the values.
async fn drain(log: &ValueLog, north: &str, max: usize) -> Vec<i64> {
    let mut got = Vec::new();
    while let Some(t) = log.take(north, max) {
        got.extend(numbers(&log.read(&t.keys).unwrap()));
        let (first, last) = (t.keys[0], *t.keys.last().unwrap());
        log.advance(north, first, last + 1, Vec::new())
            .await
            .unwrap();
    }
    got
}

/// An append in flight: an entry reserved, not settled yet. Returns its key.
fn in_flight(log: &ValueLog) -> u64 {
    let mut st = log.lock();
    let key = st.next_key;
    st.push(key, 1, 10, 0, Instant::now(), false);
    st.next_key += 1;
    key
}

fn rows(store: &Store) -> usize {
    let mut n = 0;
    store.scan("lv/s", |_, _| n += 1).unwrap();
    n
}

#[tokio::test]
async fn each_reader_gets_everything_once_and_entries_go_when_all_passed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 10);
    log.start_for("a", StartFrom::Now).unwrap();
    log.start_for("b", StartFrom::Now).unwrap();
    log.append(&values(0, 25)).await.unwrap();
    assert_eq!(rows(&store), 3, "entries of at most 10 values");
    assert_eq!(log.backlog("a").0, 25);
    assert_eq!(drain(&log, "a", 20).await, (0..25).collect::<Vec<_>>());
    assert_eq!(log.backlog("a"), (0, 0));
    assert_eq!(log.backlog("b").0, 25);
    assert_eq!(log.range().values, 25, "b has not sent them");
    // b sends in groups of at most 10: one entry each.
    assert_eq!(log.take("b", 10).unwrap().keys.len(), 1);
    assert_eq!(drain(&log, "b", 10).await, (0..25).collect::<Vec<_>>());
    log.trim().await.unwrap();
    assert_eq!(log.range().values, 0);
    assert_eq!(rows(&store), 0, "nothing kept: no retention");
}

#[tokio::test]
async fn cursors_and_entries_survive_a_reopen_and_keys_go_on() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_store, log) = open(&dir);
        log.configure(RetentionConfig::default(), 100);
        log.start_for("a", StartFrom::Now).unwrap();
        log.append(&values(0, 5)).await.unwrap();
        log.append(&values(5, 5)).await.unwrap();
        let t = log.take("a", 5).unwrap();
        assert_eq!(t.count, 5);
        log.advance("a", t.keys[0], t.keys[0] + 1, Vec::new())
            .await
            .unwrap();
        log.trim().await.unwrap();
    }
    let store = loop {
        match Store::open(&dir.path().join("c.redb")) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let log = ValueLog::open(store.clone(), "s").unwrap();
    log.configure(RetentionConfig::default(), 100);
    assert_eq!(log.readers(), ["a"]);
    assert_eq!(log.backlog("a").0, 5);
    log.append(&values(10, 1)).await.unwrap();
    assert_eq!(drain(&log, "a", 100).await, (5..11).collect::<Vec<_>>());
    // Everything passed and dropped: a reopened log continues after the cursor anyway.
    log.trim().await.unwrap();
    drop(log);
    drop(store);
    let store = loop {
        match Store::open(&dir.path().join("c.redb")) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    assert_eq!(rows(&store), 0);
    let log = ValueLog::open(store, "s").unwrap();
    log.append(&values(11, 1)).await.unwrap();
    assert_eq!(
        drain(&log, "a", 100).await,
        [11],
        "a new entry is after the cursor"
    );
}

#[tokio::test]
async fn retention_keeps_sent_values_for_a_replay_and_a_new_reader_may_start_there() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    // Each entry of 10 values is 9 + 4 + 10 × 21 bytes = 223 bytes: two fit in 500.
    log.configure(
        RetentionConfig {
            max_size: ByteSize(500),
            max_age: Dur::secs(0),
        },
        10,
    );
    log.start_for("a", StartFrom::Now).unwrap();
    let before = now_ms();
    log.append(&values(0, 30)).await.unwrap();
    assert_eq!(drain(&log, "a", 100).await.len(), 30);
    log.trim().await.unwrap();
    assert_eq!(rows(&store), 2, "the two newest entries kept");
    let range = log.range();
    assert_eq!(range.values, 20);
    assert!(range.oldest_ms.unwrap() >= before);
    // A replay from long ago starts at the oldest entry kept.
    let r = log.rewind("a", 0).await.unwrap().unwrap();
    assert_eq!(r.values, 20);
    assert_eq!(drain(&log, "a", 100).await, (10..30).collect::<Vec<_>>());
    // A replay from after the last entry sends nothing, and never skips what is not sent.
    log.append(&values(30, 5)).await.unwrap();
    let r = log.rewind("a", i64::MAX).await.unwrap().unwrap();
    assert_eq!((r.values, r.from_ms.is_some()), (5, true));
    assert_eq!(drain(&log, "a", 100).await, (30..35).collect::<Vec<_>>());
    // A North that is not a reader cannot be rewound.
    assert_eq!(log.rewind("z", 0).await.unwrap(), None);
    // A new North from the oldest kept, another from now.
    log.start_for("old", StartFrom::Oldest).unwrap();
    log.start_for("new", StartFrom::Now).unwrap();
    log.append(&values(35, 1)).await.unwrap();
    let old = drain(&log, "old", 100).await;
    assert_eq!(old.last(), Some(&35));
    assert!(old.len() > 1, "from the oldest kept: {old:?}");
    assert_eq!(drain(&log, "new", 100).await, [35]);
}

#[tokio::test]
async fn a_reader_that_stops_takes_what_it_had_not_sent_into_its_own_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    log.start_for("a", StartFrom::Now).unwrap();
    log.start_for("b", StartFrom::Now).unwrap();
    log.append(&values(0, 3)).await.unwrap();
    log.append(&values(3, 3)).await.unwrap();
    let (op, keys) = log.stop_for("a", "v/a").await.unwrap().unwrap();
    assert_eq!(keys.len(), 2, "both entries it had not sent");
    assert!(matches!(op, Op::Append { ref table, .. } if table == "v/a"));
    assert!(!log.is_read_by("a"), "it left the log");
    let mut own = Vec::new();
    store
        .scan("v/a", |_, r| {
            own.extend(numbers(&codec::decode(r).unwrap()))
        })
        .unwrap();
    assert_eq!(
        own,
        [0, 1, 2, 3, 4, 5],
        "in its own queue, without the log's header"
    );
    // b sends everything; nothing pins the log any more.
    assert_eq!(drain(&log, "b", 100).await, [0, 1, 2, 3, 4, 5]);
    log.trim().await.unwrap();
    assert_eq!(rows(&store), 0);
    // b stops with nothing pending: it leaves, and its cursor with it.
    assert_eq!(log.stop_for("b", "v/b").await.unwrap().map(|m| m.1), None);
    let mut cursors = Vec::new();
    store
        .scan_state("log/v/s/", |k, _| cursors.push(k.to_string()))
        .unwrap();
    assert!(cursors.is_empty(), "{cursors:?}");
    // With no reader, an append is refused: nobody would send it.
    let refused = log.append(&values(6, 1)).await.unwrap_err();
    assert!(refused.0.contains("no North reads"), "{refused}");
}

#[tokio::test]
async fn a_reader_coming_back_before_it_left_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    log.start_for("a", StartFrom::Now).unwrap();
    // An append in flight (not committed yet) holds the leaving reader back…
    let first = in_flight(&log);
    let leaving = {
        let log = log.clone();
        tokio::spawn(async move { log.stop_for("a", "v/a").await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    // …and it comes back meanwhile: it stays a reader, nothing moves.
    log.start_for("a", StartFrom::Now).unwrap();
    ValueLog::settle(&mut log.lock(), first, 1, false);
    assert_eq!(leaving.await.unwrap().unwrap().map(|m| m.1), None);
    assert!(log.is_read_by("a"));
}

#[tokio::test]
async fn a_gap_left_by_a_failed_append_does_not_hold_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    log.start_for("a", StartFrom::Now).unwrap();
    let gap = in_flight(&log);
    ValueLog::settle(&mut log.lock(), gap, 1, false);
    log.append(&values(0, 2)).await.unwrap();
    log.append(&values(2, 2)).await.unwrap();
    assert_eq!(drain(&log, "a", 2).await, [0, 1, 2, 3]);
}

#[tokio::test]
async fn values_still_being_committed_do_not_count_towards_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 10);
    log.start_for("a", StartFrom::Now).unwrap();
    log.append(&values(0, 30)).await.unwrap();
    let pending = in_flight(&log);
    // A group of 31 values would be made now and find only 30 to take.
    assert_eq!(log.due("a").map(|d| d.0), Some(30));
    assert_eq!(log.take("a", 100).map(|t| t.count), Some(30));
    ValueLog::settle(&mut log.lock(), pending, 1, true);
    assert_eq!(log.due("a").map(|d| d.0), Some(31));
    // Only an append in flight: nothing to take yet, but the North knows something comes.
    assert_eq!(drain(&log, "a", 100).await.len(), 30);
    let next = in_flight(&log);
    assert_eq!(log.due("a").map(|d| d.0), Some(0));
    ValueLog::settle(&mut log.lock(), next, 1, false);
    assert_eq!(log.due("a"), None);
}

#[tokio::test]
async fn a_replay_during_a_send_is_not_undone_by_its_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open(&dir);
    log.configure(
        RetentionConfig {
            max_size: ByteSize(1 << 20),
            max_age: Dur::secs(3600),
        },
        5,
    );
    log.start_for("a", StartFrom::Now).unwrap();
    log.append(&values(0, 10)).await.unwrap();
    let first = log.take("a", 5).unwrap();
    log.advance("a", first.keys[0], first.keys[0] + 1, Vec::new())
        .await
        .unwrap();
    let second = log.take("a", 5).unwrap();
    log.rewind("a", 0).await.unwrap();
    // The second group's acknowledgement comes after the replay: the cursor stays back.
    log.advance("a", second.keys[0], second.keys[0] + 1, Vec::new())
        .await
        .unwrap();
    assert_eq!(drain(&log, "a", 100).await, (0..10).collect::<Vec<_>>());
}

/// A log's state in memory with entries `0..n` of 100 bytes, appended `age_ms(key)` ago.
fn state_with(n: u64, age_ms: impl Fn(u64) -> i64) -> State {
    let mut st = State {
        entries: VecDeque::new(),
        total_count: 0,
        total_bytes: 0,
        next_key: n,
        last_at: 0,
        readers: HashMap::new(),
        retention: RetentionConfig::default(),
        chunk: 10,
        trimmed: Instant::now(),
        flush: Default::default(),
        leaving: Default::default(),
    };
    let now = now_ms();
    for key in 0..n {
        st.push(key, 10, 100, now - age_ms(key), Instant::now(), true);
    }
    st
}

fn trimmed_below(st: &mut State) -> Option<u64> {
    match st.trim("lv/s") {
        Some(Op::RemoveBelow { below, .. }) => Some(below),
        Some(op) => panic!("{op:?}"),
        None => None,
    }
}

#[test]
fn a_trim_keeps_what_size_and_age_allow_and_never_what_a_cursor_has_not_passed() {
    let minutes = |k: u64| (10 - k as i64) * 60_000;
    let keep = |bytes: u64, age: u64| RetentionConfig {
        max_size: ByteSize(bytes),
        max_age: Dur::secs(age),
    };
    // Entries 0..10, appended 10 minutes ago (0) to 1 minute ago (9); a reader at 8.
    let cases = [
        // (retention, first key kept)
        (keep(0, 0), Some(8)),
        (keep(250, 0), Some(6)),
        (keep(10_000, 0), None),
        // 5 minutes and 30 seconds: entries 5, 6, 7 are young enough.
        (keep(10_000, 330), Some(5)),
        // Both bounds: the tighter one decides.
        (keep(150, 330), Some(7)),
        (keep(10_000, 30), Some(8)),
    ];
    for (retention, kept_from) in cases {
        let mut st = state_with(10, minutes);
        st.readers.insert("a".into(), Reader::at(8));
        st.retention = retention.clone();
        assert_eq!(trimmed_below(&mut st), kept_from, "{retention:?}");
        let first = st.entries.front().map(|e| e.key);
        assert_eq!(first, Some(kept_from.unwrap_or(0)), "{retention:?}");
        // The counts of what is left still add up.
        assert_eq!(st.from(0).1, 100 * st.entries.len() as u64);
    }
    // A reader that sent nothing pins everything; without readers, all may go.
    let mut st = state_with(10, minutes);
    st.readers.insert("a".into(), Reader::at(0));
    assert_eq!(trimmed_below(&mut st), None);
    st.readers.clear();
    assert_eq!(trimmed_below(&mut st), Some(10));
    assert!(st.entries.is_empty());
}

#[test]
fn a_failed_commit_forgets_its_entries_and_their_counts() {
    let mut st = state_with(0, |_| 0);
    for key in 0..3u64 {
        st.push(key, 10, 100, 0, Instant::now(), false);
    }
    st.next_key = 3;
    st.readers.insert("a".into(), Reader::at(0));
    ValueLog::settle(&mut st, 0, 1, true);
    ValueLog::settle(&mut st, 1, 1, false);
    ValueLog::settle(&mut st, 2, 1, true);
    let keys: Vec<u64> = st.entries.iter().map(|e| e.key).collect();
    assert_eq!(keys, [0, 2]);
    assert_eq!((st.total_count, st.total_bytes), (20, 200));
    assert_eq!(st.from(0), (20, 200));
    assert_eq!(st.from(1), (10, 100));
    assert_eq!(st.from(2), (0, 0));
    assert!(st.entries.iter().all(|e| e.committed));
}

#[tokio::test]
async fn the_moves_of_many_readers_are_written_together_and_all_of_them_last() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    let norths: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    for n in &norths {
        log.start_for(n, StartFrom::Now).unwrap();
    }
    log.append(&values(0, 10)).await.unwrap();
    log.append(&values(10, 10)).await.unwrap();
    // Every North sends its first entry at once; the moves wait for one write together.
    let moves = norths.iter().map(|n| {
        let log = log.clone();
        async move {
            let t = log.take(n, 10).unwrap();
            log.advance(n, t.keys[0], t.keys[0] + 1, Vec::new()).await
        }
    });
    let began = Instant::now();
    for r in futures_util::future::join_all(moves).await {
        r.unwrap();
    }
    assert!(
        began.elapsed() >= Duration::from_millis(3),
        "collected for a while"
    );
    // One more move of one North, then a reopen: every cursor is where it was moved.
    let t = log.take("n7", 10).unwrap();
    log.advance("n7", t.keys[0], t.keys[0] + 1, Vec::new())
        .await
        .unwrap();
    drop(log);
    let log = ValueLog::open(store, "s").unwrap();
    for n in &norths {
        let expected = if n == "n7" { 0 } else { 10 };
        assert_eq!(log.backlog(n).0, expected, "North {n}");
    }
}

#[tokio::test]
async fn what_is_set_apart_goes_with_the_cursor_move_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    log.start_for("a", StartFrom::Now).unwrap();
    log.append(&values(0, 3)).await.unwrap();
    let t = log.take("a", 100).unwrap();
    let set_apart = Op::Append {
        table: "ve/a".into(),
        records: log
            .batches(&t.keys)
            .unwrap()
            .into_iter()
            .map(Arc::new)
            .collect(),
    };
    log.advance("a", t.keys[0], t.keys[0] + 1, vec![set_apart])
        .await
        .unwrap();
    assert_eq!(log.backlog("a"), (0, 0));
    let mut kept = Vec::new();
    store
        .scan("ve/a", |_, r| {
            kept.extend(numbers(&codec::decode(r).unwrap()))
        })
        .unwrap();
    assert_eq!(kept, [0, 1, 2]);
    // A failed transaction moves nothing: the state table opened as a queue (of another type).
    log.append(&values(3, 1)).await.unwrap();
    let t = log.take("a", 100).unwrap();
    let bad = Op::Remove {
        table: "state".into(),
        keys: vec![0],
    };
    let failed = log.advance("a", t.keys[0], t.keys[0] + 1, vec![bad]).await;
    assert!(failed.is_err());
    assert_eq!(drain(&log, "a", 100).await, [3]);
}

#[tokio::test]
async fn a_leaving_reader_waits_for_appends_in_flight_and_takes_nothing_appended_after() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(&dir);
    log.configure(RetentionConfig::default(), 100);
    log.start_for("a", StartFrom::Now).unwrap();
    log.start_for("b", StartFrom::Now).unwrap();
    // An append in flight: its row is written, its entry not settled yet.
    let first = in_flight(&log);
    let row = record::encode(0, &codec::encode(&values(100, 1)));
    store
        .apply(
            vec![Op::Put {
                table: "lv/s".into(),
                entries: vec![(first, Arc::new(row))],
            }],
            true,
        )
        .await
        .unwrap();
    let leaving = {
        let log = log.clone();
        tokio::spawn(async move { log.stop_for("a", "v/a").await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Appended after it stopped receiving the South: not for it.
    log.append(&values(200, 1)).await.unwrap();
    ValueLog::settle(&mut log.lock(), first, 1, true);
    let (_, keys) = leaving.await.unwrap().unwrap().unwrap();
    assert_eq!(keys.len(), 1);
    let mut own = Vec::new();
    store
        .scan("v/a", |_, r| {
            own.extend(numbers(&codec::decode(r).unwrap()))
        })
        .unwrap();
    assert_eq!(own, [100], "the entry in flight, not the later one");
    assert_eq!(drain(&log, "b", 100).await, [100, 200]);
}
