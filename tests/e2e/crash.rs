//! Crash safety: the engine killed with SIGKILL at arbitrary moments while values flow, and
//! restarted each time. Every value whose `add_values` completed (the South journals each
//! acknowledgement) must reach the North; duplicates are allowed and counted.

use oibus_tests::process::{Workspace, recorded_values};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
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
    const KILLS: usize = 6;
    for round in 0..KILLS {
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
    let mut engine = ws.start();
    engine.wait_until("the cache to drain", Duration::from_secs(60), |e| {
        e.connector("dst")
            .is_some_and(|c| c["state"] == "connected" && c["cache"]["queued_values"] == 0)
    });
    engine.stop();

    // The highest acknowledged number of each point (each run has its own points: `a#0`, `a#1`…).
    let mut acked: HashMap<String, i64> = HashMap::new();
    for line in fs::read_to_string(ws.path("acks")).unwrap().lines() {
        let Some((point, last)) = line.split_once(' ') else {
            continue; // a line cut by the kill
        };
        let Ok(last) = last.parse::<i64>() else {
            continue;
        };
        let e = acked.entry(point.to_string()).or_insert(-1);
        *e = (*e).max(last);
    }
    assert!(
        acked.len() >= 2 * KILLS,
        "every run acknowledged values: {acked:?}"
    );

    let mut received: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for v in recorded_values(&ws.path("received")) {
        let n = match v.value {
            oibus_plugin_api::DataValue::Int(n) => n,
            ref other => panic!("unexpected value {other:?}"),
        };
        *received.entry((v.point_id.to_string(), n)).or_default() += 1;
    }
    let mut missing = Vec::new();
    let mut total = 0;
    for (point, last) in &acked {
        for n in 0..=*last {
            total += 1;
            if !received.contains_key(&(point.clone(), n)) {
                missing.push(format!("{point}={n}"));
            }
        }
    }
    let duplicates: usize = received.values().filter(|c| **c > 1).map(|c| c - 1).sum();
    let points: HashSet<&String> = received.keys().map(|(p, _)| p).collect();
    eprintln!(
        "{total} acknowledged values over {} points, {} received, {duplicates} duplicates",
        acked.len(),
        received.len(),
    );
    let mut per_point: BTreeMap<&String, (usize, i64)> = BTreeMap::new();
    for (p, n) in received.keys() {
        let e = per_point.entry(p).or_insert((0, -1));
        e.0 += 1;
        e.1 = e.1.max(*n);
    }
    eprintln!("acknowledged (last number per point): {acked:?}");
    eprintln!("received (count, last number per point): {per_point:?}");
    assert!(
        total > 1000,
        "enough values flowed to mean something: {total}"
    );
    assert!(points.len() >= acked.len());
    assert!(
        missing.is_empty(),
        "{} acknowledged values lost, first: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}
