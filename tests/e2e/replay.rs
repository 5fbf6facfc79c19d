//! The Souths' logs as operators use them: a North sends again what a log retains since an
//! instant (from the CLI and the API), a new North starts from the oldest value retained or
//! from now, the status shows each North's place in each log, and a North disabled with values
//! waiting keeps them.

use oibus_tests::{
    api::Api,
    process::{Engine, Workspace, recorded_values},
    run_oibus,
};
use std::{collections::BTreeMap, fs, path::Path, time::Duration};

const PROBE: &str = "oibus_test_probe";
/// Values the South emits: 20 batches of 50 for point `a`, one batch every 100 ms.
const EMITTED: usize = 1000;

fn config(ws: &Workspace, producing: bool, newcomers: bool) {
    let newcomers = if newcomers {
        "[[north]]\nid = \"oldest\"\ntype = \"probe-north\"\nsettings = { record_file = \"{ws}/oldest\" }\ncaching = { send_interval = \"100ms\", start_from = \"oldest\" }\n\
         [[north]]\nid = \"now\"\ntype = \"probe-north\"\nsettings = { record_file = \"{ws}/now\" }\ncaching = { send_interval = \"100ms\" }\n"
    } else {
        ""
    };
    ws.config(&format!(
        r#"
[[south]]
id = "src"
type = "probe-south"
enabled = {producing}
settings = {{ batch_size = 50, batches = 20, interval_ms = 100 }}
retention = {{ max_size = "10MB", max_age = "1h" }}
[[south.items]]
name = "a"
scan_mode = "subscription"

[[north]]
id = "dst"
type = "probe-north"
settings = {{ record_file = "{{ws}}/received" }}
caching = {{ send_interval = "100ms" }}
{newcomers}"#
    ));
}

/// How many times each number of point `a` was received in `file`.
fn received(file: &Path) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for v in recorded_values(file) {
        let oibus_plugin_api::DataValue::Int(n) = v.value else {
            panic!("a probe value is a number: {v:?}");
        };
        *seen.entry(n).or_default() += 1;
    }
    seen
}

fn wait_for(engine: &mut Engine, file: &Path, count: usize) {
    engine.wait_until(
        &format!("{count} values in {}", file.display()),
        Duration::from_secs(60),
        |_| received(file).values().sum::<usize>() >= count,
    );
}

#[test]
fn a_north_sends_the_retained_values_again_and_a_new_north_may_start_from_the_oldest() {
    let ws = Workspace::new(&[PROBE]);
    config(&ws, true, false);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let rec = ws.path("received");
    // Half way through, the instant a replay will start from.
    wait_for(&mut engine, &rec, EMITTED / 2);
    std::thread::sleep(Duration::from_millis(150));
    let middle = oibus_plugin_api::Timestamp::now();
    wait_for(&mut engine, &rec, EMITTED);
    let first = received(&rec);
    assert_eq!(first.len(), EMITTED);
    assert!(first.values().all(|&n| n == 1), "each value once");

    // The status shows the log's retained range and that dst sent all of it.
    engine.wait_until("the log in the status", Duration::from_secs(10), |e| {
        e.connector("dst").is_some_and(|c| {
            let log = &c["cache"]["logs"][0];
            log["retained_values"] == EMITTED as u64 && log["next"].is_null()
        })
    });
    let c = engine.connector("dst").unwrap();
    let log = &c["cache"]["logs"][0];
    assert_eq!(log["south"], "src", "{c}");
    assert!(
        log["oldest"].is_string() && log["newest"].is_string(),
        "{c}"
    );
    assert_eq!(c["cache"]["queued_values"], 0, "{c}");

    // From the CLI: everything since an hour ago, that is all the log retains.
    let data = ws.data();
    let (code, out, err) = run_oibus(&[
        "replay",
        "dst",
        "--since",
        "1h",
        "--data",
        &data.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("sends again {EMITTED} value(s)")),
        "{out}"
    );
    wait_for(&mut engine, &rec, 2 * EMITTED);
    assert!(
        received(&rec).values().all(|&n| n == 2),
        "exactly the retained values again"
    );

    // From the API: since the middle instant.
    let (status, answer) = api.post(
        "/api/north/dst/cache/replay",
        &serde_json::json!({ "since": middle.to_iso() }),
    );
    assert_eq!(status, 200, "{answer}");
    let again = answer["values"].as_u64().unwrap() as usize;
    assert!(
        again > 0 && again < EMITTED,
        "part of the log is after the middle instant: {answer}"
    );
    assert_eq!(answer["logs"][0]["south"], "src", "{answer}");
    wait_for(&mut engine, &rec, 2 * EMITTED + again);
    let third = received(&rec);
    let thrice: Vec<i64> = third
        .iter()
        .filter(|&(_, &n)| n == 3)
        .map(|(&v, _)| v)
        .collect();
    assert_eq!(thrice.len(), again);
    assert_eq!(
        thrice,
        ((EMITTED - again) as i64..EMITTED as i64).collect::<Vec<_>>(),
        "the newest values, from the middle on, once more"
    );

    // Refusals name what is wrong.
    let (status, answer) = api.post(
        "/api/north/dst/cache/replay",
        &serde_json::json!({ "since": middle.to_iso(), "south": "nope" }),
    );
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("\"nope\""),
        "{answer}"
    );
    let (status, answer) = api.post(
        "/api/north/dst/cache/replay",
        &serde_json::json!({ "since": "yesterday" }),
    );
    assert_eq!(status, 400, "{answer}");
    let (code, _, err) = run_oibus(&[
        "replay",
        "dst",
        "--since",
        "soon",
        "--data",
        &data.to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("\"soon\""), "{err}");
    engine.stop();

    // Two new Norths, the South stopped: one starts from the oldest retained, one from now.
    config(&ws, false, true);
    let mut engine = ws.start();
    let oldest = ws.path("oldest");
    wait_for(&mut engine, &oldest, EMITTED);
    std::thread::sleep(Duration::from_millis(500));
    engine.stop();
    let got = received(&oldest);
    assert_eq!(got.len(), EMITTED, "every retained value");
    assert!(got.values().all(|&n| n == 1));
    assert!(
        received(&ws.path("now")).is_empty(),
        "a North starting from now gets nothing of the past"
    );
    assert_eq!(
        received(&rec).values().sum::<usize>(),
        2 * EMITTED + again,
        "dst sent nothing more after its restart"
    );
}

#[test]
fn a_north_disabled_with_values_waiting_keeps_them_and_sends_them_when_enabled() {
    let ws = Workspace::new(&[PROBE]);
    let config = |producing: bool, down: bool| {
        ws.config(&format!(
            r#"
[[south]]
id = "src"
type = "probe-south"
enabled = {producing}
settings = {{ batch_size = 20, interval_ms = 10, ack_file = "{{ws}}/acks" }}
items = [{{ name = "a", scan_mode = "subscription" }}]

[[north]]
id = "calm"
type = "probe-north"
caching = {{ send_interval = "50ms" }}

[[north]]
id = "down"
type = "probe-north"
enabled = {down}
settings = {{ record_file = "{{ws}}/received", fault_file = "{{ws}}/down-fault" }}
caching = {{ send_interval = "50ms", retry_interval = "20ms", retry_count = 100000 }}
"#
        ))
    };
    config(true, true);
    fs::write(ws.path("down-fault"), "transient").unwrap();
    let mut engine = ws.start();
    engine.wait_until("values waiting for down", Duration::from_secs(30), |e| {
        e.connector("down")
            .is_some_and(|c| c["cache"]["queued_values"].as_u64() > Some(500))
    });
    engine.stop();
    // Disabled with its values in the South's log: they move to its own queue, and the log
    // is not held back by it (calm goes on, the log trims what calm sent).
    config(true, false);
    let mut engine = ws.start();
    engine.wait_until("the values moved", Duration::from_secs(30), |_| {
        fs::read_to_string(ws.path("engine.log"))
            .unwrap_or_default()
            .contains("it had not sent moved to its own queue")
    });
    engine.wait_until(
        "calm sending, the log trimmed",
        Duration::from_secs(30),
        |e| {
            e.connector("calm").is_some_and(|c| {
                c["cache"]["logs"][0]["retained_values"].as_u64() < Some(200)
                    && c["counters"]["values_sent"].as_u64() > Some(1000)
            })
        },
    );
    engine.stop();
    // Enabled again, its destination back: what waited is sent, then what comes.
    fs::remove_file(ws.path("down-fault")).unwrap();
    config(true, true);
    let mut engine = ws.start();
    engine.wait_until("down sending", Duration::from_secs(30), |e| {
        e.counter("down", "values_sent") > 500
    });
    engine.stop();
    config(false, true);
    ws.drain("down");
    // Every value acknowledged while down received the South reached it (what came while it
    // was disabled is not for it).
    let received = recorded_values(&ws.path("received")).len();
    assert!(received > 500, "{received}");
    let acks = fs::read_to_string(ws.path("acks")).unwrap();
    let lines: Vec<&str> = acks.lines().collect();
    assert!(lines.len() > 10);
    let delivered: std::collections::HashSet<i64> = recorded_values(&ws.path("received"))
        .iter()
        .map(|v| match v.value {
            oibus_plugin_api::DataValue::Int(n) => n,
            _ => -1,
        })
        .collect();
    // The first values, acknowledged before it was disabled, are all there.
    assert!(
        (0..500).all(|n| delivered.contains(&n)),
        "values 0..500 all received"
    );
}
