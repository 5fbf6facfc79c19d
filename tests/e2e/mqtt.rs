//! `north-mqtt` and `south-mqtt` against a real broker written by others (mosquitto).

use oibus_tests::{
    process::{
        FAST_RECONNECT, Workspace, acknowledged_probe_south, check_acknowledged, not_yet_received,
    },
    servers::{Mosquitto, TestPki},
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
    engine.wait_until("the loss to be noticed", Duration::from_secs(30), |e| {
        e.connector("pub")
            .is_some_and(|c| c["state"] != "connected")
    });
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
