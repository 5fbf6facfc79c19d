//! `north-mqtt` and `south-mqtt` against a real broker written by others (mosquitto).

use oibus_tests::{
    process::{
        FAST_RECONNECT, RECORDING_NORTH, Workspace, acknowledged_probe_south, check_acknowledged,
        not_yet_received,
    },
    servers::{HostileMqttBroker, Mosquitto, TestPki},
};
use std::time::Duration;

fn config(port: u16, probe_enabled: bool) -> String {
    let source = acknowledged_probe_south(probe_enabled);
    format!(
        r#"
{FAST_RECONNECT}
{source}

[[north]]
id = "pub"
type = "mqtt-north"
subscriptions = ["src"]
settings = {{ broker = {{ host = "127.0.0.1", port = {port}, connect_timeout_ms = 1000 }}, topic = "plant/{{pointId}}", qos = 1, ack_timeout_ms = 2000 }}
caching = {{ group_count = 100, send_interval = "50ms", retry_interval = "100ms" }}

[[south]]
id = "sub"
type = "mqtt-south"
settings = {{ broker = {{ url = "mqtt://127.0.0.1:{port}", client_id = "oibus-test-sub", connect_timeout_ms = 1000 }}, qos = 1, flush_size = 50, flush_timeout_ms = 100 }}
items = [{{ name = "plant", scan_mode = "subscription", settings = {{ topic = "plant/#", payload = {{ format = "json", value_path = "/data/value", timestamp_path = "/timestamp", point_id_path = "/pointId" }} }} }}]

[[north]]
id = "rec"
type = "probe-north"
subscriptions = ["sub"]
settings = {{ record_file = "{{ws}}/received" }}
caching = {{ send_interval = "50ms" }}
"#
    )
}

#[test]
fn values_cross_a_real_broker_and_nothing_acknowledged_is_lost_when_it_restarts() {
    let mut broker = Mosquitto::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt", "oibus_south_mqtt"]);
    ws.config(&config(broker.port, true));
    let mut engine = ws.start();
    engine.wait_until("values through the broker", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 200
    });
    broker.stop();
    engine.wait_disconnected("pub");
    std::thread::sleep(Duration::from_secs(1));
    broker.restart();
    let before = engine.counter("rec", "values_sent");
    engine.wait_until(
        "values again after the restart",
        Duration::from_secs(60),
        |e| e.counter("rec", "values_sent") >= before + 200 && e.counter("pub", "connects") >= 2,
    );
    engine.stop();

    // Without the probe: the MQTT North sends what it still has, the MQTT South receives what the
    // broker kept for its session, the probe North records it.
    ws.config(&config(broker.port, false));
    let mut engine = ws.start();
    engine.wait_until(
        "every acknowledged value to arrive",
        Duration::from_secs(60),
        |_| not_yet_received(&ws.path("acks"), &ws.path("received")) == 0,
    );
    engine.stop();
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{d:?}");
    assert!(d.acknowledged > 400, "{d:?}");
}

#[test]
fn wrong_credentials_are_a_clear_test_connection_error() {
    let broker = Mosquitto::start(Some(("operator", "s3cret")));
    oibus_tests::assert_credentials_are_checked(
        "oibus_north_mqtt",
        "mqtt-north",
        "s3cret",
        |password| {
            format!(
                r#"{{"broker": {{"host": "127.0.0.1", "port": {}, "username": "operator", "password": "{password}"}}}}"#,
                broker.port
            )
        },
    );
}

#[test]
fn bad_item_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt", "oibus_south_mqtt"]);
    ws.config(&config(1883, true).replace(r#"format = "json""#, r#"format = "xml""#));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"south "sub" items[0] "plant" settings.payload.format"#),
        "{out}"
    );
}

#[test]
fn values_cross_a_broker_over_mutual_tls_and_certificate_problems_are_named() {
    let pki = TestPki::generate();
    let broker = Mosquitto::start_tls(&pki);
    // The TLS settings as `"key": "value"` pairs: JSON for test-connection, TOML for the engine.
    let tls = |ca: &str, client: bool| {
        let mut t = vec![format!(r#""ca_file": "{}""#, pki.path(ca))];
        if client {
            t.push(format!(r#""cert_file": "{}""#, pki.path("client.pem")));
            t.push(format!(r#""key_file": "{}""#, pki.path("client.key")));
        }
        t
    };
    let settings = |tls: &[String]| {
        let json = tls.join(", ");
        format!(
            r#"{{"broker": {{"host": "127.0.0.1", "port": {}, "connect_timeout_ms": 3000, "tls": {{{json}}}}}}}"#,
            broker.port
        )
    };

    let (code, err) = oibus_tests::test_connection(
        "oibus_north_mqtt",
        "mqtt-north",
        &settings(&tls("ca.pem", true)),
    );
    assert_eq!(code, Some(0), "{err}");
    // A broker certificate signed by another authority: the verification failure is named.
    let (code, err) = oibus_tests::test_connection(
        "oibus_north_mqtt",
        "mqtt-north",
        &settings(&tls("other-ca.pem", true)),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
    // The broker requires a client certificate.
    let (code, err) = oibus_tests::test_connection(
        "oibus_north_mqtt",
        "mqtt-north",
        &settings(&tls("ca.pem", false)),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    // A missing file is named with its setting.
    let (code, err) = oibus_tests::test_connection(
        "oibus_north_mqtt",
        "mqtt-north",
        &settings(&tls("nope.pem", true)),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("tls.ca_file") && err.contains("nope.pem"),
        "{err}"
    );

    // Values through the broker, both ways over TLS.
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt", "oibus_south_mqtt"]);
    ws.config(
        &config(broker.port, true)
            .replace("mqtt://", "mqtts://")
            .replace(
                "connect_timeout_ms = 1000 }",
                &format!(
                    "connect_timeout_ms = 3000, tls = {{ {} }} }}",
                    tls("ca.pem", true).join(", ").replace("\": ", "\" = ")
                ),
            ),
    );
    let mut engine = ws.start();
    engine.wait_until(
        "values through the TLS broker",
        Duration::from_secs(30),
        |e| e.counter("rec", "values_sent") >= 200,
    );
    engine.stop();
}

// ---- Faults, with mosquitto's own clients (mosquitto_pub, mosquitto_sub) on the other side ----

/// mosquitto_pub at QoS 1 to `topic` of the broker on `port`.
fn mosquitto_pub_to(port: u16, topic: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("mosquitto_pub");
    let port = port.to_string();
    cmd.args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", topic]);
    cmd
}

/// Publishes `payloads` in order to `topic` at QoS 1 with mosquitto_pub (one connection, one
/// message per line), `retain` or not.
fn mosquitto_pub(port: u16, topic: &str, payloads: &[String], retain: bool) {
    use std::io::Write;
    let mut cmd = mosquitto_pub_to(port, topic);
    cmd.arg("-l");
    if retain {
        cmd.arg("-r");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_pub (scripts/test installs mosquitto-clients)");
    let mut stdin = child.stdin.take().unwrap();
    for p in payloads {
        writeln!(stdin, "{p}").unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success(), "mosquitto_pub failed");
}

/// Publishes the file `file` as one message (mosquitto_pub -f).
fn mosquitto_pub_file(port: u16, topic: &str, file: &std::path::Path) {
    let status = mosquitto_pub_to(port, topic)
        .arg("-f")
        .arg(file)
        .status()
        .expect("mosquitto_pub");
    assert!(status.success());
}

/// A `south-mqtt` `sub` (persistent session) with `items` (TOML), into a recording probe North.
fn subscriber(port: u16, items: &str) -> String {
    format!(
        r#"
{FAST_RECONNECT}
[[south]]
id = "sub"
type = "mqtt-south"
settings = {{ broker = {{ url = "mqtt://127.0.0.1:{port}", client_id = "oibus-fault-sub", connect_timeout_ms = 1000 }}, flush_size = 50, flush_timeout_ms = 50 }}
items = {items}

{RECORDING_NORTH}"#
    )
}

/// The numbers the probe North recorded, by point id.
fn received_by_point(ws: &Workspace) -> std::collections::BTreeMap<String, Vec<f64>> {
    let mut out: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for v in oibus_tests::process::recorded_values(&ws.path("received")) {
        let n = match v.value {
            oibus_plugin_api::DataValue::Int(i) => i as f64,
            oibus_plugin_api::DataValue::Float(f) => f,
            // A NaN, written as `null` by the North's JSON (JSON has no NaN).
            oibus_plugin_api::DataValue::Null => f64::NAN,
            other => panic!("not a number: {other:?}"),
        };
        out.entry(v.point_id.to_string()).or_default().push(n);
    }
    out
}

/// Waits until `sub` is connected and its subscription has reached the broker.
fn subscribed(engine: &mut oibus_tests::process::Engine) {
    engine.wait_until("connected", Duration::from_secs(30), |e| {
        e.connector("sub")
            .is_some_and(|c| c["state"] == "connected")
    });
    std::thread::sleep(Duration::from_millis(300));
}

fn numbers(range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

#[test]
fn what_a_persistent_session_queued_while_the_gateway_was_down_all_arrives() {
    let broker = Mosquitto::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_mqtt"]);
    let items =
        r#"[{ name = "q", scan_mode = "subscription", settings = { topic = "queued/#" } }]"#;
    ws.config(&subscriber(broker.port, items));
    // A first run makes the session and its subscription.
    let mut engine = ws.start();
    subscribed(&mut engine);
    mosquitto_pub(broker.port, "queued/x", &numbers(0..1), false);
    engine.wait_until("the session to exist", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 1
    });
    engine.stop();
    // Gateway down: 300 messages queue in the broker for the session.
    mosquitto_pub(broker.port, "queued/x", &numbers(1..301), false);
    let mut engine = ws.start();
    // values_sent lasts across restarts: 1 from the first run, 300 now.
    engine.wait_until("the 300 queued values", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 301
    });
    let sub = engine.connector("sub").unwrap();
    engine.stop();
    let got = received_by_point(&ws);
    let mut values = got["q"].clone();
    values.sort_by(f64::total_cmp);
    values.dedup();
    assert_eq!(values, (0..301).map(|i| i as f64).collect::<Vec<_>>());
    assert_eq!(sub["dropped"], 0, "{sub}");
    assert_eq!(sub["counters"]["values_in"], 301, "{sub}");
    assert_eq!(
        sub["counters"]["connects"], 1,
        "counts since this start: {sub}"
    );
}

#[test]
fn oversized_unreadable_and_retained_messages_are_counted_and_nothing_behind_them_waits() {
    let broker = Mosquitto::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_mqtt"]);
    // A retained message published before the gateway subscribes: skipped by default.
    mosquitto_pub(broker.port, "peer/plain/old", &numbers(99..100), true);
    let items = r#"[{ name = "peer", scan_mode = "subscription", settings = { topic = "peer/plain/+", point_id = "{topic}" } }]"#;
    ws.config(&subscriber(broker.port, items).replace(
        "connect_timeout_ms = 1000 }",
        "connect_timeout_ms = 1000, max_packet_size = 1000 }",
    ));
    let mut engine = ws.start();
    subscribed(&mut engine);
    mosquitto_pub(broker.port, "peer/plain/s1", &numbers(0..10), false);
    let big = ws.path("big");
    std::fs::write(&big, vec![b'7'; 20_000]).unwrap(); // a 20 KB "number"
    mosquitto_pub_file(broker.port, "peer/plain/s1", &big);
    mosquitto_pub(
        broker.port,
        "peer/plain/s1",
        &["hot".into(), "NaN".into(), "12.5".into()],
        false,
    );
    mosquitto_pub(broker.port, "peer/plain/s2", &numbers(100..110), false);
    engine.wait_until("every readable value", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 22
    });
    let sub = engine.connector("sub").unwrap();
    // `oibus status` shows the drops and the last reason.
    let data = ws.data();
    let (code, text, err) = oibus_tests::run_oibus(&["status", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("dropped 3 (last: "), "{text}");
    engine.stop();
    // The retained one, the oversized one and "hot" are dropped, counted, with a reason.
    assert_eq!(sub["dropped"], 3, "{sub}");
    assert!(
        sub["last_drop"]
            .as_str()
            .unwrap()
            .contains("not a number: \"hot\""),
        "{sub}"
    );
    let got = received_by_point(&ws);
    let s1 = &got["peer/plain/s1"];
    assert_eq!(s1.len(), 12, "{got:?}");
    assert_eq!(s1[..10], (0..10).map(|i| i as f64).collect::<Vec<_>>()[..]);
    assert!(s1[10].is_nan(), "{s1:?}");
    assert_eq!(s1[11], 12.5);
    assert_eq!(
        got["peer/plain/s2"],
        (100..110).map(|i| i as f64).collect::<Vec<_>>()
    );
    assert!(!got.contains_key("peer/plain/old"), "{got:?}");
    // NaN arrived with quality bad (as `null` in JSON), the others good.
    let recorded = oibus_tests::process::recorded_values(&ws.path("received"));
    for v in recorded {
        let bad = v.value == oibus_plugin_api::DataValue::Null;
        let expected = if bad {
            oibus_plugin_api::Quality::Bad
        } else {
            oibus_plugin_api::Quality::Good
        };
        assert_eq!(v.quality, expected, "{v:?}");
    }
}

#[test]
fn a_broker_sending_one_message_at_a_time_is_not_held_up_by_the_durable_acknowledgement() {
    // With `max_inflight_messages 1` (the setting that guarantees in-order delivery), mosquitto
    // sends the next message only once the last is acknowledged, and south-mqtt acknowledges
    // only once cached. With its default settings (groups of up to 100, or after 500 ms), it
    // hands over what it holds as soon as nothing more is waiting: waiting for 100 or for
    // 500 ms would take 1,000 × 0.5 s here (it did, before: this test timed out).
    let broker = Mosquitto::start_with_window(1);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_mqtt"]);
    ws.config(&format!(
        r#"
{FAST_RECONNECT}
[[south]]
id = "sub"
type = "mqtt-south"
settings = {{ broker = {{ url = "mqtt://127.0.0.1:{}", client_id = "oibus-window-sub" }} }}
items = [{{ name = "w", scan_mode = "subscription", settings = {{ topic = "window/#" }} }}]

{RECORDING_NORTH}"#,
        broker.port
    ));
    let mut engine = ws.start();
    subscribed(&mut engine);
    mosquitto_pub(broker.port, "window/x", &numbers(0..1000), false);
    engine.wait_until("1,000 values", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 1000
    });
    engine.stop();
    assert_eq!(
        received_by_point(&ws)["w"],
        (0..1000).map(|i| i as f64).collect::<Vec<_>>()
    );
}

#[test]
fn twenty_thousand_messages_from_ten_publishers_arrive_each_exactly_as_sent() {
    let broker = Mosquitto::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_mqtt"]);
    let items = r#"[{ name = "load", scan_mode = "subscription", settings = { topic = "load/+", point_id = "{2}" } }]"#;
    ws.config(&subscriber(broker.port, items));
    let mut engine = ws.start();
    subscribed(&mut engine);
    let publishers: Vec<_> = (0..10)
        .map(|p| {
            let port = broker.port;
            std::thread::spawn(move || {
                mosquitto_pub(port, &format!("load/p{p}"), &numbers(0..2000), false)
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    engine.wait_until("20,000 values", Duration::from_secs(60), |e| {
        e.counter("rec", "values_sent") >= 20_000
    });
    std::thread::sleep(Duration::from_millis(500)); // nothing more may come
    engine.stop();
    let got = received_by_point(&ws);
    assert_eq!(got.len(), 10, "{:?}", got.keys());
    for (point, values) in got {
        // Each publisher's messages, in its order, none missing, none twice.
        assert_eq!(
            values,
            (0..2000).map(|i| i as f64).collect::<Vec<_>>(),
            "{point}"
        );
    }
}

#[test]
fn north_mqtt_sets_aside_only_the_value_too_large_to_publish() {
    let broker = Mosquitto::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt"]);
    // Item "a" makes small messages; the long-named item makes messages over the limit.
    let long = "x".repeat(300);
    ws.config(&format!(
        r#"
{FAST_RECONNECT}
[[south]]
id = "src"
type = "probe-south"
settings = {{ batch_size = 10, batches = 10, interval_ms = 20 }}
items = [{{ name = "a", scan_mode = "subscription" }}, {{ name = "{long}", scan_mode = "subscription" }}]

[[north]]
id = "pub"
type = "mqtt-north"
subscriptions = ["src"]
settings = {{ broker = {{ host = "127.0.0.1", port = {port}, max_packet_size = 300 }}, topic = "out/{{pointId}}" }}
caching = {{ group_count = 50, send_interval = "50ms", retry_interval = "50ms" }}
"#,
        port = broker.port
    ));
    // mosquitto_sub receives what the North publishes: 100 messages of item "a".
    let sub = std::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-q", "1"])
        .args(["-t", "out/#", "-C", "100", "-W", "60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    std::thread::sleep(Duration::from_millis(300));
    let mut engine = ws.start();
    engine.wait_until(
        "every value sent or set aside",
        Duration::from_secs(60),
        |e| e.counter("pub", "values_sent") + e.counter("pub", "values_to_error") >= 200,
    );
    let status = engine.connector("pub").unwrap();
    let log = engine.log();
    engine.stop();
    let out = sub.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout);
    assert_eq!(lines.lines().count(), 100, "{lines}");
    assert_eq!(status["counters"]["values_sent"], 100, "{status}");
    assert_eq!(status["counters"]["values_to_error"], 100, "{status}");
    assert_eq!(status["cache"]["error_values"], 100, "{status}");
    assert!(log.contains("over max_packet_size 300"), "{log}");
}

#[test]
fn an_item_test_reads_the_next_message_of_its_topic_with_a_client_of_its_own() {
    let broker = Mosquitto::start(None);
    let settings = format!(
        r#"{{"broker": {{"url": "mqtt://127.0.0.1:{}", "client_id": "oibus-plant-sub"}}}}"#,
        broker.port
    );
    let test = |name: &str, topic: &str| {
        let item = format!(
            r#"{{"name": "{name}", "scan_mode": "subscription", "settings": {{"topic": "{topic}"}}}}"#
        );
        oibus_tests::test_item(
            "oibus_south_mqtt",
            "mqtt-south",
            &settings,
            &item,
            &["--json"],
        )
    };
    // A retained message comes at once.
    mosquitto_pub(broker.port, "plant/line1/temp", &["42.5".into()], true);
    let (code, out, err) = test("temp", "plant/+/temp");
    assert_eq!(code, Some(0), "{err}");
    let values: Vec<oibus_plugin_api::OibusValue> = serde_json::from_str(&out).unwrap();
    assert_eq!(values.len(), 1, "{out}");
    assert_eq!(values[0].value, oibus_plugin_api::DataValue::Float(42.5));
    // A live one is waited for.
    let port = broker.port;
    let live = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        mosquitto_pub(port, "plant/line3/flow", &["7".into()], false);
    });
    let (code, out, err) = test("flow", "plant/line3/flow");
    live.join().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("7"), "{out}");
    // A payload that is not a number is named with the item.
    mosquitto_pub(broker.port, "plant/line2/text", &["warm".into()], true);
    let (code, _, err) = test("text", "plant/line2/text");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("item \"text\"") && err.contains("warm"),
        "{err}"
    );
    // Nothing on the topic: said, within its wait.
    let (code, _, err) = test("quiet", "plant/nobody/talks");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no message on \"plant/nobody/talks\" within 5 s"),
        "{err}"
    );
    // A filter that is not one is refused before anything connects.
    let (code, _, err) = test("bad", "plant/#/x");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not a valid MQTT topic filter"), "{err}");
}

#[test]
fn a_topic_that_is_not_utf8_is_set_aside_and_the_connection_kept() {
    // A broker (hostile, written for the test: real ones refuse such topics) sends a valid
    // message, then topics with a stray byte, U+0000 and a surrogate, then a valid one.
    let broker = HostileMqttBroker::start(&[
        (b"plant/a", "1"),
        (b"plant/\xff\xfe", "2"),
        (b"plant/\x00x", "3"),
        (b"plant/\xed\xa0\x80", "4"),
        (b"plant/a", "5"),
    ]);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_mqtt"]);
    let items = r#"[{ name = "plant", scan_mode = "subscription", settings = { topic = "plant/#", point_id = "{topic}" } }]"#;
    ws.config(&subscriber(broker.port, items));
    let mut engine = ws.start();
    engine.wait_until(
        "every message acknowledged",
        Duration::from_secs(30),
        |_| {
            broker.report()["acked"]
                .as_array()
                .is_some_and(|a| a.len() >= 5)
        },
    );
    // Some time for a reconnection and repeats, if there were to be any.
    std::thread::sleep(Duration::from_secs(2));
    let sub = engine.connector("sub").unwrap();
    let log = engine.log();
    engine.stop();
    let report = broker.report();
    assert_eq!(report["connections"], 1, "{report}");
    assert_eq!(report["sent"], 5, "{report}");
    let mut acked: Vec<u64> = report["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    acked.sort_unstable();
    assert_eq!(acked, [1, 2, 3, 4, 5], "{report}");
    let got = received_by_point(&ws);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got["plant/a"], [1.0, 5.0], "{got:?}");
    assert_eq!(sub["dropped"], 3, "{sub}");
    assert_eq!(sub["state"], "connected", "{sub}");
    assert!(
        sub["last_drop"]
            .as_str()
            .is_some_and(|d| d.contains("not valid UTF-8") && d.contains("plant/\\xed\\xa0\\x80")),
        "{sub}"
    );
    // Logged once (the next drops within a minute are counted only), naming the first.
    assert_eq!(log.matches("not valid UTF-8").count(), 1, "{log}");
    assert!(log.contains("plant/\\xff\\xfe"), "{log}");
}
