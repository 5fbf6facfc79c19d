//! The engine's error model attacked with real plugin files in a real `oibus run`: a value the
//! destination refuses, a value on which the connection drops every time, a connection lost
//! while the connector is still subscribing. Each test asserts that nothing acknowledged is lost
//! and that nothing behind a bad entry waits.

use oibus_plugin_api::DataValue;
use oibus_tests::process::{Workspace, recorded_values};
use std::{collections::BTreeSet, time::Duration};

const PROBE: &str = "oibus_test_probe";

/// A probe South emitting `batches` batches of 10 values (0, 1, 2…) for item `a`, into a probe
/// North `dst` with `north_settings`, sending groups of up to 100 values.
fn config(batches: u64, north_settings: &str) -> String {
    format!(
        r#"
[engine]
reconnect = {{ min = "50ms", max = "200ms" }}

[[south]]
id = "src"
type = "probe-south"
settings = {{ batch_size = 10, batches = {batches}, ack_file = "{{ws}}/acks" }}
items = [{{ name = "a", scan_mode = "subscription" }}]

[[north]]
id = "dst"
type = "probe-north"
subscriptions = ["src"]
settings = {{ record_file = "{{ws}}/received", {north_settings} }}
caching = {{ group_count = 100, max_send_count = 100, send_interval = "50ms", retry_interval = "20ms", retry_count = 2 }}
"#
    )
}

fn received_numbers(ws: &Workspace) -> Vec<i64> {
    recorded_values(&ws.path("received"))
        .into_iter()
        .map(|v| match v.value {
            DataValue::Int(n) => n,
            other => panic!("a probe value is an integer: {other:?}"),
        })
        .collect()
}

#[test]
fn a_refused_value_goes_alone_to_the_error_store_and_everything_else_is_sent_in_order() {
    let ws = Workspace::new(&[PROBE]);
    // 500 values; the destination refuses the requests that carry 137 or 401.
    ws.config(&config(50, "refuse_values = [137, 401]"));
    let mut engine = ws.start();
    engine.wait_until(
        "every value sent or set aside",
        Duration::from_secs(60),
        |e| e.counter("dst", "values_sent") + e.counter("dst", "values_to_error") >= 500,
    );
    let dst = engine.connector("dst").expect("dst in the status");
    assert_eq!(engine.counter("dst", "values_to_error"), 2, "{dst}");
    assert_eq!(dst["cache"]["error_values"], 2, "{dst}");
    assert_eq!(dst["cache"]["queued_values"], 0, "{dst}");
    assert!(dst["blocked_since"].is_null(), "{dst}");
    // Each refused value is said once, though finding it took several refused halves, and a
    // refused group counts as one failed send, not one per half.
    assert!(
        dst["counters"]["send_failures"].as_u64() <= Some(2),
        "{dst}"
    );
    let log = engine.log();
    engine.stop();
    for refused in [
        "probe: value 137 of a#0 refused",
        "probe: value 401 of a#0 refused",
    ] {
        let said = log
            .lines()
            .filter(|l| !l.contains(" DEBUG ") && l.contains(refused))
            .count();
        assert_eq!(said, 1, "{log}");
    }
    assert!(
        log.contains("1 of 100 values refused by the destination, moved to the error store: probe: value 137 of a#0 refused"),
        "{log}"
    );

    let got = received_numbers(&ws);
    let expected: Vec<i64> = (0..500).filter(|n| *n != 137 && *n != 401).collect();
    // Sent in order: the parts of a refused group go out one after the other. A group sent
    // whole after a refused part (never here) would show as a repeat.
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.into_iter().collect::<Vec<_>>(), expected);
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "not in order, or sent twice: {got:?}"
    );
}

#[test]
fn a_value_that_drops_the_connection_every_time_does_not_block_the_north_for_ever() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(&config(20, "lose_connection_on_values = [55]"));
    let mut engine = ws.start();
    engine.wait_until(
        "the group with the value to be set aside",
        Duration::from_secs(60),
        |e| e.counter("dst", "values_sent") + e.counter("dst", "values_to_error") >= 200,
    );
    let dst = engine.connector("dst").expect("dst in the status");
    let log = engine.log();
    engine.stop();
    // retry_count = 2: set aside after 2 + 2 reconnections that each ended on this group.
    assert!(
        log.contains("the connection was lost") && log.contains("moved to the error store"),
        "{log}"
    );
    assert!(dst["counters"]["connects"].as_u64().unwrap() >= 4, "{dst}");
    let to_error = dst["counters"]["values_to_error"].as_u64().unwrap();
    assert!((1..=100).contains(&to_error), "{dst}");
    assert_eq!(
        dst["cache"]["error_values"].as_u64(),
        Some(to_error),
        "{dst}"
    );
    // Everything after the group that held 55 was sent.
    let got: BTreeSet<i64> = received_numbers(&ws).into_iter().collect();
    assert!((100..200).all(|n| got.contains(&n)), "{got:?}");
}

#[test]
fn a_connection_lost_while_subscribing_is_not_forgotten() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[engine]
reconnect = { min = "50ms", max = "200ms" }

[[south]]
id = "src"
type = "probe-south"
settings = { batch_size = 10, batches = 5, lose_connection_in_subscribe = true, behaviour = { journal = "{ws}/journal" } }
items = [{ name = "a", scan_mode = "subscription" }]

[[north]]
id = "dst"
type = "probe-north"
subscriptions = ["src"]
caching = { send_interval = "50ms" }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until(
        "a reconnection after the loss reported in subscribe",
        Duration::from_secs(30),
        |e| e.counter("src", "connects") >= 2,
    );
    engine.stop();
    let journal = std::fs::read_to_string(ws.path("journal")).unwrap();
    let calls: Vec<&str> = journal.lines().collect();
    let first_subscribe = calls.iter().position(|c| *c == "subscribe").unwrap();
    assert_eq!(
        calls.get(first_subscribe + 1),
        Some(&"disconnect"),
        "{calls:?}"
    );
}
