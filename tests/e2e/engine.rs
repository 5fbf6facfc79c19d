//! The engine as users run it (`oibus run` in a child process) with real plugins from a folder.

use oibus_engine::{cache::Store, connector::DataSink, engine::history, loader::PluginRegistry};
use oibus_plugin_api::{Item, OibusValue, PluginError, Timestamp};
use oibus_tests::{
    process::{
        Workspace, check_acknowledged, folder_scanner_south, recorded_values, written_values,
    },
    standalone_connector,
};
use std::{
    collections::{BTreeMap, HashSet},
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

const PROBE: &str = "oibus_test_probe";
const SIMULATOR: &str = "oibus_south_simulator";
const FILE_WRITER: &str = "oibus_north_file_writer";
const SCANNER: &str = "oibus_south_folder_scanner";

/// Opens the store of a stopped engine (waits for the file lock of the exited process).
fn store(data: &Path) -> Store {
    for _ in 0..200 {
        if let Ok(s) = Store::open(&data.join("cache.redb")) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("cannot open the store of {}", data.display());
}

fn key(v: &OibusValue) -> (String, i64) {
    (v.point_id.to_string(), v.timestamp.as_nanos())
}

#[derive(Default)]
struct Recorder(Mutex<Vec<OibusValue>>);
impl DataSink for Recorder {
    fn add_values(
        &self,
        _: &str,
        values: Vec<OibusValue>,
    ) -> futures_util::future::BoxFuture<'static, Result<(), PluginError>> {
        self.0.lock().unwrap().extend(values);
        Box::pin(async { Ok(()) })
    }
    fn add_file(
        &self,
        _: &str,
        _: PathBuf,
    ) -> futures_util::future::BoxFuture<'static, Result<(), PluginError>> {
        Box::pin(async { Ok(()) })
    }
}

/// What the simulator produces for `items` over `[start, end)`, read directly from the plugin.
fn simulator_reference(
    ws: &Workspace,
    settings: serde_json::Value,
    items: Vec<Item>,
    start: Timestamp,
    end: Timestamp,
) -> Vec<OibusValue> {
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = PluginRegistry::discover(
        &ws.path("plugins"),
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sink = Arc::new(Recorder::default());
    rt.block_on(async {
        let c = standalone_connector(
            &registry,
            ("reference", "simulator"),
            &settings,
            cache.path().join("state"),
            sink.clone(),
        );
        c.history_query(items, start, end).await.unwrap();
    });
    sink.0.lock().unwrap().clone()
}

#[test]
fn simulator_to_file_writer_delivers_exactly_the_history() {
    let ws = Workspace::new(&[SIMULATOR, FILE_WRITER]);
    ws.config(
        r#"
[engine]
reconnect = { min = "100ms", max = "1s" }

[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "sim"
type = "simulator"
query = "history"
settings = { seed = 3, sample_interval_ms = 3600000, batch_size = 500 }
history = { start = "2026-01-01T00:00:00Z", max_read_interval = "30d", read_delay = "0s" }
[[south.items]]
name = "a"
scan_mode = "every-second"
settings = { signal = { type = "sine", amplitude = 5.0, period_s = 86400.0 } }
[[south.items]]
name = "b"
scan_mode = "every-second"
settings = { signal = { type = "random", min = 0.0, max = 1.0 } }

[[north]]
id = "files"
type = "file-writer"
settings = { output_folder = "{ws}/out" }
caching = { send_interval = "100ms", group_count = 100000, max_send_count = 5000 }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until(
        "the history to be read and sent",
        Duration::from_secs(60),
        |e| {
            let windows = e.counter("sim", "history_windows");
            let values_in = e.counter("sim", "values_in");
            windows >= 11 && values_in > 0 && e.counter("files", "values_sent") >= values_in
        },
    );
    engine.stop();

    let tracked = history::tracked(&store(&ws.data()), "sim", "a").expect("tracked instant");
    let start = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let items: Vec<Item> = serde_json::from_value(serde_json::json!([
        {"name": "a", "scanMode": "every-second", "settings": {"signal": {"type": "sine", "amplitude": 5.0, "period_s": 86400.0}}},
        {"name": "b", "scanMode": "every-second", "settings": {"signal": {"type": "random", "min": 0.0, "max": 1.0}}}
    ]))
    .unwrap();
    let expected = simulator_reference(
        &ws,
        serde_json::json!({"seed": 3, "sample_interval_ms": 3600000, "batch_size": 500}),
        items,
        start,
        tracked,
    );
    assert!(expected.len() > 10_000, "{}", expected.len());

    let written = written_values(&ws.path("out"));
    let (before, after): (Vec<_>, Vec<_>) =
        written.into_iter().partition(|v| v.timestamp < tracked);
    // A window cancelled by the stop may have delivered a few values past the tracked instant.
    assert!(after.len() <= 2, "{after:?}");
    let mut written: BTreeMap<(String, i64), OibusValue> = BTreeMap::new();
    for v in before {
        assert!(
            written.insert(key(&v), v.clone()).is_none(),
            "duplicate {v:?}"
        );
    }
    let expected: BTreeMap<(String, i64), OibusValue> =
        expected.into_iter().map(|v| (key(&v), v)).collect();
    assert_eq!(written.len(), expected.len());
    assert!(
        written == expected,
        "the written values differ from the simulator's"
    );
}

fn history_windows(journal: &Path) -> Vec<(Timestamp, Timestamp)> {
    fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("history_query "))
        .map(|l| {
            let (s, e) = l.split_once(' ').unwrap();
            (Timestamp::parse(s).unwrap(), Timestamp::parse(e).unwrap())
        })
        .collect()
}

const HISTORY_CONFIG: &str = r#"
[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "hist"
type = "probe-south"
enabled = {enabled}
query = "history"
settings = { behaviour = { journal = "{ws}/south.journal" } }
history = { start = "2h", max_read_interval = "10m", read_delay = "300ms", overlap = "1m" }
[[south.items]]
name = "x"
scan_mode = "every-second"

[[north]]
id = "rec"
type = "probe-north"
settings = { record_file = "{ws}/north.record" }
caching = { send_interval = "100ms" }
"#;

#[test]
fn history_reads_in_windows_and_resumes_from_the_tracked_instant_after_a_restart() {
    let ws = Workspace::new(&[PROBE]);
    let config = |south_enabled: bool| {
        ws.config(&HISTORY_CONFIG.replace("{enabled}", &south_enabled.to_string()));
    };
    config(true);
    let mut engine = ws.start();
    engine.wait_until("4 windows", Duration::from_secs(30), |e| {
        e.counter("hist", "history_windows") >= 4
    });
    engine.stop();
    let first_run = history_windows(&ws.path("south.journal"));
    let tracked = history::tracked(&store(&ws.data()), "hist", "x").expect("tracked instant");
    assert!(
        first_run.len() >= 4 && first_run.len() < 13,
        "{first_run:?}"
    );
    assert!(
        first_run.iter().any(|(_, e)| *e == tracked),
        "the tracked instant is the end of a window"
    );

    let mut engine = ws.start();
    engine.wait_until("the history to reach now", Duration::from_secs(60), |_| {
        history_windows(&ws.path("south.journal"))
            .last()
            .is_some_and(|(_, e)| {
                e.since(Timestamp::now()) < Duration::from_secs(1)
                    && Timestamp::now().since(*e) < Duration::from_secs(5)
            })
    });
    engine.stop();
    let end = history::tracked(&store(&ws.data()), "hist", "x").expect("tracked instant");
    // Everything before the tracked instant is in the North's cache: let the North drain it.
    config(false);
    ws.drain("rec");

    let all = history_windows(&ws.path("south.journal"));
    let second_run = &all[first_run.len()..];
    let overlap = Duration::from_secs(60);
    assert_eq!(
        second_run[0].0,
        tracked - overlap,
        "the restart resumes from the tracked instant minus the overlap"
    );
    // Windows are at most max_read_interval long and each starts where the previous ended, or
    // (at a new run) at most `overlap` before the end of the last completed one.
    for w in all.windows(2) {
        let ((_, e0), (s1, e1)) = (w[0], w[1]);
        assert!(e1.since(s1) <= Duration::from_secs(600), "{w:?}");
        assert!(s1 <= e0, "gap between {w:?}");
    }
    // Every second from the start to the end is there; duplicates only inside re-read spans.
    let values = recorded_values(&ws.path("north.record"));
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for v in &values {
        *seen.entry(v.timestamp.as_nanos()).or_default() += 1;
    }
    let first = all[0].0.as_nanos().div_euclid(1_000_000_000) * 1_000_000_000 + 1_000_000_000;
    let last = end.as_nanos();
    let mut t = first;
    while t < last {
        assert!(
            seen.contains_key(&t),
            "no value at {}",
            Timestamp::from_nanos(t)
        );
        t += 1_000_000_000;
    }
    let reread: Vec<(Timestamp, Timestamp)> = all
        .windows(2)
        .filter(|w| w[1].0 < w[0].1)
        .map(|w| (w[1].0, w[0].1))
        .collect();
    for (t, n) in &seen {
        if *n > 1 {
            let t = Timestamp::from_nanos(*t);
            assert!(
                reread.iter().any(|(s, e)| *s <= t && t < *e),
                "{t} read {n} times outside any overlap"
            );
        }
    }
}

#[test]
fn failing_sends_are_retried_then_moved_to_the_error_store_and_recover() {
    let ws = Workspace::new(&[PROBE]);
    let fault = ws.path("fault");
    fs::write(&fault, "transient").unwrap();
    ws.config(
        r#"
[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "src"
type = "probe-south"
query = "last-point"
settings = { batch_size = 10 }
[[south.items]]
name = "x"
scan_mode = "every-second"

[[north]]
id = "dst"
type = "probe-north"
settings = { fault_file = "{ws}/fault", record_file = "{ws}/north.record", behaviour = { journal = "{ws}/north.journal" } }
caching = { group_count = 1, send_interval = "50ms", retry_interval = "100ms", retry_count = 2 }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("a batch in the error store", Duration::from_secs(30), |e| {
        e.counter("dst", "values_to_error") >= 10
    });
    let log = engine.log();
    assert!(log.contains("retry 1/2 in"), "{log}");
    assert!(log.contains("retry 2/2 in"), "{log}");
    assert!(
        log.contains("failed 3 times, moved to the error store"),
        "{log}"
    );
    let attempts = fs::read_to_string(ws.path("north.journal"))
        .unwrap()
        .lines()
        .filter(|l| *l == "handle_values")
        .count();
    assert!(attempts >= 3, "one try and two retries: {attempts}");

    fs::write(&fault, "permanent").unwrap();
    let before = engine.counter("dst", "values_to_error");
    engine.wait_until("a permanent failure", Duration::from_secs(30), |e| {
        e.counter("dst", "values_to_error") > before
    });
    assert!(engine.log().contains("permanent fault"), "{}", engine.log());

    fs::remove_file(&fault).unwrap();
    engine.wait_until("sends to work again", Duration::from_secs(30), |e| {
        e.counter("dst", "values_sent") >= 20
    });
    let errors = engine.connector("dst").unwrap()["cache"].clone();
    assert!(errors["error_values"].as_u64().unwrap() >= 20, "{errors}");
    engine.stop();
    let received: HashSet<(String, i64)> = recorded_values(&ws.path("north.record"))
        .iter()
        .map(|v| (v.point_id.to_string(), v.value_as_i64()))
        .collect();
    assert!(received.len() >= 20);
}

trait IntValue {
    fn value_as_i64(&self) -> i64;
}
impl IntValue for OibusValue {
    fn value_as_i64(&self) -> i64 {
        match self.value {
            oibus_plugin_api::DataValue::Int(i) => i,
            _ => panic!("not an integer: {self:?}"),
        }
    }
}

#[test]
fn a_connector_whose_connect_fails_reconnects_with_backoff_until_connected() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[engine]
reconnect = { min = "50ms", max = "400ms" }

[[north]]
id = "flaky"
type = "probe-north"
settings = { behaviour = { connect_failures = 3 } }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("connected", Duration::from_secs(30), |e| {
        e.connector("flaky")
            .is_some_and(|c| c["state"] == "connected")
    });
    assert_eq!(engine.counter("flaky", "connect_failures"), 3);
    assert_eq!(engine.counter("flaky", "connects"), 1);
    let log = engine.log();
    assert!(log.contains("connect failure 3 of 3"), "{log}");
    assert!(log.contains("next connection attempt in"), "{log}");
    engine.stop();
}

#[test]
fn files_flow_from_a_folder_to_a_folder_through_the_cache() {
    let ws = Workspace::new(&["oibus_south_folder_scanner", FILE_WRITER]);
    let input = ws.path("in");
    fs::create_dir_all(&input).unwrap();
    for i in 0..20 {
        fs::write(
            input.join(format!("report-{i:02}.csv")),
            format!("line,{i}\n"),
        )
        .unwrap();
    }
    fs::write(input.join("ignore.txt"), "not matched").unwrap();
    ws.config(
        r#"
[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "scanner"
type = "folder-scanner"
settings = { input_folder = "{ws}/in" }
[[south.items]]
name = "csv"
scan_mode = "every-second"
settings = { regex = "\\.csv$", min_age_ms = 0 }

[[north]]
id = "out"
type = "file-writer"
settings = { output_folder = "{ws}/out" }
caching = { archive = { enabled = true, retention = "1h" } }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("20 files sent", Duration::from_secs(30), |e| {
        e.counter("out", "files_sent") >= 20
    });
    engine.stop();
    let mut contents: Vec<String> = fs::read_dir(ws.path("out"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    contents.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("line,{i}\n")).collect();
    expected.sort();
    assert_eq!(contents, expected);
    let mut names: Vec<String> = fs::read_dir(ws.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let sources: Vec<String> = (0..20).map(|i| format!("report-{i:02}.csv")).collect();
    assert_eq!(names, sources, "files arrive under their own names");
    let left: Vec<String> = fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["ignore.txt"],
        "sent files are deleted at the source, others left"
    );
    let archived = fs::read_dir(ws.data().join("cache/out/archive"))
        .unwrap()
        .count();
    assert_eq!(archived, 20, "sent files are archived");
}

#[test]
fn a_refused_file_in_a_batch_is_set_aside_alone_and_the_others_are_sent() {
    refused_file_in_a_batch("in-process");
}

#[test]
fn a_refused_file_in_a_batch_of_an_isolated_north_is_set_aside_alone() {
    refused_file_in_a_batch("process");
}

fn refused_file_in_a_batch(isolation: &str) {
    let ws = Workspace::new(&[SCANNER, PROBE]);
    let input = ws.path("in");
    fs::create_dir_all(&input).unwrap();
    for i in 0..30u32 {
        // Every 10th above inline_files_up_to, so that batches mix both kinds of cached file.
        let size = if i.is_multiple_of(10) { 70 * 1024 } else { 100 };
        fs::write(input.join(format!("f{i:02}.bin")), vec![b'x'; size]).unwrap();
    }
    // First every file is cached while the North cannot connect, so that the sends below go in
    // full batches whatever the machine's speed (a file queued alone is sent alone).
    let config = |connect_failures: u32| {
        ws.config(&format!(
            r#"{}
[[north]]
id = "dst"
type = "probe-north"
isolation = "{isolation}"
settings = {{ record_file = "{{ws}}/received", refuse_files = ["f17.bin"], delay_ms = 100, behaviour = {{ connect_failures = {connect_failures} }} }}
caching = {{ max_send_files = 8, retry_interval = "50ms" }}
"#,
            folder_scanner_south("{ws}/in", "50ms")
        ))
    };
    config(1_000_000);
    let mut engine = ws.start();
    engine.wait_until("30 files cached", Duration::from_secs(60), |e| {
        e.connector("dst")
            .is_some_and(|c| c["cache"]["queued_files"] == 30)
    });
    engine.stop();
    config(0);
    let mut engine = ws.start();
    engine.wait_until("29 files sent, 1 set aside", Duration::from_secs(60), |e| {
        e.counter("dst", "files_sent") >= 29 && e.counter("dst", "files_to_error") >= 1
    });
    let c = engine.connector("dst").unwrap();
    engine.stop();
    assert_eq!(c["cache"]["error_files"], 1, "{c}");
    assert_eq!(c["cache"]["queued_files"], 0, "{c}");
    let received = fs::read_to_string(ws.path("received")).unwrap();
    let batches: Vec<usize> = received
        .lines()
        .filter_map(|l| l.strip_prefix("batch ")?.parse().ok())
        .collect();
    assert!(
        batches.iter().any(|&n| n > 1) && batches.iter().all(|&n| n <= 8),
        "files went in batches of at most max_send_files: {batches:?}"
    );
    let mut files: Vec<&str> = received
        .lines()
        .filter_map(|l| l.strip_prefix("file "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    files.sort();
    files.dedup();
    let expected: Vec<String> = (0..30)
        .filter(|&i| i != 17)
        .map(|i| format!("f{i:02}.bin"))
        .collect();
    assert_eq!(files, expected, "every file but the refused one arrived");
    assert!(
        engine_log_mentions(&ws, "sent again one at a time"),
        "the failed batch was sent again file by file"
    );
}

#[test]
fn a_full_cache_holds_the_south_back_without_losing_anything() {
    let ws = Workspace::new(&[PROBE]);
    let config = |south: bool| {
        ws.config(&format!(
            r#"
[[south]]
id = "src"
type = "probe-south"
enabled = {south}
settings = {{ batch_size = 100, interval_ms = 0, ack_file = "{{ws}}/acks" }}
[[south.items]]
name = "a"
scan_mode = "subscription"

[[north]]
id = "slow"
type = "probe-north"
settings = {{ record_file = "{{ws}}/received", delay_ms = 200 }}
caching = {{ max_size = "20KB", group_count = 1, max_send_count = 500, send_interval = "10ms" }}
"#
        ));
    };
    config(true);
    let mut engine = ws.start();
    engine.wait_until("the cache to fill", Duration::from_secs(30), |e| {
        e.log().contains("cache full")
    });
    // Held back: the queue stays near max_size while the South keeps trying.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(c) = engine.connector("slow") {
            let bytes = c["cache"]["queued_bytes"].as_u64().unwrap();
            assert!(
                bytes < 20_000 + 10_000,
                "the queue is bounded: {bytes} bytes"
            );
        }
    }
    engine.stop();
    config(false);
    ws.drain("slow");
    check_acknowledged(&ws.path("acks"), &ws.path("received"));
}

#[test]
fn a_south_reporting_its_connection_lost_is_reconnected_and_subscribed_again() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[engine]
reconnect = { min = "50ms", max = "200ms" }

[[south]]
id = "src"
type = "probe-south"
settings = { batch_size = 10, interval_ms = 20, lose_connection_after = 5, behaviour = { journal = "{ws}/south.journal" } }
[[south.items]]
name = "a"
scan_mode = "subscription"

[[north]]
id = "dst"
type = "probe-north"
caching = { send_interval = "50ms" }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("a reconnection", Duration::from_secs(30), |e| {
        e.counter("src", "connects") >= 2 && e.counter("dst", "values_sent") >= 200
    });
    engine.stop();
    let journal = fs::read_to_string(ws.path("south.journal")).unwrap();
    let calls: Vec<&str> = journal.lines().collect();
    assert!(
        calls.starts_with(&[
            "start",
            "connect",
            "subscribe",
            "disconnect",
            "connect",
            "subscribe"
        ]),
        "disconnected, connected and subscribed again: {calls:?}"
    );
    assert!(engine_log_mentions(
        &ws,
        "the plugin reports the connection lost"
    ));
}

fn engine_log_mentions(ws: &Workspace, text: &str) -> bool {
    fs::read_to_string(ws.path("engine.log"))
        .unwrap_or_default()
        .contains(text)
}

#[test]
fn an_interval_scan_mode_reads_ten_times_a_second() {
    let ws = Workspace::new(&["oibus_south_simulator", "oibus_north_console"]);
    ws.config(
        r#"
[[scan_modes]]
name = "fast"
every = "100ms"

[[south]]
id = "sim"
type = "simulator"
query = "last-point"
items = [{ name = "t", scan_mode = "fast", settings = { signal = { type = "random", min = 0.0, max = 1.0 } } }]

[[north]]
id = "out"
type = "console"
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("the fast scans", Duration::from_secs(30), |e| {
        e.counter("sim", "runs") >= 5
    });
    let (t0, r0) = (std::time::Instant::now(), engine.counter("sim", "runs"));
    std::thread::sleep(Duration::from_secs(4));
    let (t1, r1) = (std::time::Instant::now(), engine.counter("sim", "runs"));
    let per_second = (r1 - r0) as f64 / (t1 - t0).as_secs_f64();
    // 10 a second; the status file is written about once a second, so the count lags by up
    // to one second at either end. A cron's shortest period would give 1.
    assert!(
        (6.0..=13.0).contains(&per_second),
        "{per_second:.1} runs/s with every = 100ms"
    );
    engine.stop();
}
