//! Crash safety: the engine killed with SIGKILL at arbitrary moments while values flow, and
//! restarted each time. Every value whose `add_values` completed (the South journals each
//! acknowledgement) must reach the North; duplicates are allowed and counted.

use oibus_tests::process::{Workspace, check_acknowledged, folder_scanner_south};
use std::{
    fs,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const CONFIG: &str = r#"
[engine]
reconnect = { min = "50ms", max = "500ms" }

[[south]]
id = "src"
type = "probe-south"
enabled = {enabled}
settings = { batch_size = 50, interval_ms = 2, ack_file = "{ws}/acks" }
[[south.items]]
name = "a"
scan_mode = "subscription"
[[south.items]]
name = "b"
scan_mode = "subscription"

[[north]]
id = "dst"
type = "probe-north"
settings = { record_file = "{ws}/received" }
caching = { group_count = 200, max_send_count = 1000, send_interval = "20ms" }
"#;

/// A pseudo-random delay in `[min, min + spread)` milliseconds, different at each call.
fn random_ms(min: u64, spread: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = u64::from(nanos).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
    Duration::from_millis(min + mixed % spread)
}

#[test]
fn nothing_acknowledged_is_lost_across_kill_9() {
    let ws = Workspace::new(&["oibus_test_probe"]);
    let config = |south: bool| ws.config(&CONFIG.replace("{enabled}", &south.to_string()));
    config(true);
    // More kills for a measurement: OIBUS_CRASH_KILLS=20 (BENCHMARKS.md, duplicates per kill).
    let kills: usize = std::env::var("OIBUS_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(6);
    for round in 0..kills {
        let mut engine = ws.start();
        let acked_before = fs::read_to_string(ws.path("acks"))
            .unwrap_or_default()
            .len();
        engine.wait_until("values flowing", Duration::from_secs(30), |_| {
            fs::read_to_string(ws.path("acks"))
                .unwrap_or_default()
                .len()
                > acked_before
        });
        std::thread::sleep(random_ms(100, 900));
        eprintln!("round {round}: kill -9");
        engine.kill();
    }
    // Last run without the South: the North sends everything still cached.
    config(false);
    ws.drain("dst");
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!(
        "{d:?}: {kills} kills, {:.0} duplicates per kill",
        d.duplicates as f64 / kills as f64
    );
    assert!(
        d.acknowledged > 1000,
        "enough values flowed to mean something: {d:?}"
    );
    // A crash resends at most the group in flight (max_send_count = 1000): the marks of what
    // was sent are durable with the next group commit.
    assert!(d.duplicates <= kills * 1000, "{d:?}");
}

/// Files of the files test: small ones kept inside the cache's store, and every 25th above
/// `inline_files_up_to` (64 KiB), copied beside it.
fn input_file(i: usize) -> (String, Vec<u8>) {
    let size = if i.is_multiple_of(25) { 70 * 1024 } else { 300 };
    let mut content = format!("file {i}\n").into_bytes();
    content.resize(size, b'a' + (i % 26) as u8);
    (format!("f{i:05}.bin"), content)
}

#[test]
fn no_file_is_lost_across_kill_9() {
    let ws = Workspace::new(&["oibus_south_folder_scanner", "oibus_north_file_writer"]);
    let (input, output) = (ws.path("in"), ws.path("out"));
    fs::create_dir_all(&input).unwrap();
    let files = 3000;
    for i in 0..files {
        let (name, content) = input_file(i);
        fs::write(input.join(name), content).unwrap();
    }
    ws.config(&format!(
        r#"{}
[[north]]
id = "out"
type = "file-writer"
settings = {{ output_folder = "{{ws}}/out" }}
caching = {{ max_send_files = 50 }}
"#,
        folder_scanner_south("{ws}/in", "100ms")
    ));
    let count = |dir: &std::path::Path| fs::read_dir(dir).map_or(0, Iterator::count);
    let mut kills = 0;
    for round in 0..4 {
        let mut engine = ws.start();
        let before = count(&output);
        engine.wait_until("files flowing", Duration::from_secs(60), |_| {
            count(&output) > before || count(&input) == 0
        });
        if count(&input) == 0 {
            engine.stop();
            break;
        }
        std::thread::sleep(random_ms(50, 400));
        eprintln!(
            "round {round}: kill -9 with {} files in, {} out",
            count(&input),
            count(&output)
        );
        engine.kill();
        kills += 1;
    }
    assert!(kills >= 2, "the engine was killed while files flowed");
    // The last run sends everything still at the source or in the cache. A copy a kill left
    // half made is removed at a start only once it is 2 s older than the process (a copy being
    // made has no record either): wait that long, so that this start finds them all.
    std::thread::sleep(Duration::from_millis(2500));
    let mut engine = ws.start();
    engine.wait_until("every file out", Duration::from_secs(120), |_| {
        count(&input) == 0 && count(&output) >= files
    });
    engine.wait_until("the cache empty", Duration::from_secs(30), |e| {
        e.connector("out")
            .is_some_and(|c| c["cache"]["queued_files"] == 0)
    });
    let c = engine.connector("out").expect("the North's status");
    engine.stop();
    assert_eq!(c["cache"]["error_files"], 0, "nothing set aside: {c}");
    let mut missing = Vec::new();
    for i in 0..files {
        let (name, content) = input_file(i);
        match fs::read(output.join(&name)) {
            Ok(got) => assert!(got == content, "{name} arrived changed"),
            Err(_) => missing.push(name),
        }
    }
    assert!(missing.is_empty(), "lost across {kills} kills: {missing:?}");
    assert_eq!(
        count(&output),
        files,
        "nothing but the files, under their names"
    );
    // No copy is left behind in the cache (the store kept the small ones, the big ones were
    // deleted once sent).
    let cache = ws.data().join("cache/out");
    let mut left = Vec::new();
    let mut dirs = vec![cache];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                left.push(e.path());
            }
        }
    }
    assert!(left.is_empty(), "left in the cache: {left:?}");
}

#[test]
fn a_stop_asked_while_the_engine_starts_is_a_clean_stop() {
    // systemd may stop a service right after starting it, and the crash test above stops an
    // engine that found nothing to do. Once the engine has begun (its first log line), a SIGTERM
    // is a request to stop, never the signal's default action that ends the process uncleanly.
    let ws = Workspace::new(&["oibus_test_probe"]);
    ws.config(&CONFIG.replace("{enabled}", "true"));
    for round in 0..6 {
        let engine = ws.start();
        let began = std::time::Instant::now();
        while !engine.log().contains("plugin signatures") {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "the engine did not begin:\n{}",
                engine.log()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(round * 20));
        let log = engine.log_file();
        let code = engine.terminate();
        assert_eq!(
            code,
            0,
            "stopped {} ms after its first line:\n{}",
            round * 20,
            fs::read_to_string(log).unwrap_or_default()
        );
    }
}
