//! `kafka-north` against tansu, a Kafka-compatible broker written by others, read back with
//! kafka-python, an independent client: every acknowledged value stored, keyed by point id, in
//! the partition Kafka's own partitioner gives the key, in order, across a broker that starts
//! late, a broker restart and `kill -9` of the engine.

use oibus_tests::{
    process::{
        FAST_RECONNECT, Workspace, acknowledged_probe_pair, check_acknowledged,
        folder_scanner_south,
    },
    servers::{Tansu, TestPki, record_values},
};
use std::{fs, time::Duration};

const PLUGINS: &[&str] = &[
    "oibus_test_probe",
    "oibus_kafka",
    "oibus_south_folder_scanner",
];

/// A probe South `src` (items `a` and `b`, acknowledgements in `{ws}/acks`) and the North `k`.
fn config(bootstrap: &str, probe_enabled: bool, north_settings: &str) -> String {
    let probe = acknowledged_probe_pair(probe_enabled, "");
    format!(
        r#"
{FAST_RECONNECT}
{probe}

[[north]]
id = "k"
type = "kafka-north"
settings = {{ bootstrap_servers = ["{bootstrap}"], timeout_ms = 3000{north_settings} }}
caching = {{ group_count = 500, send_interval = "100ms", retry_interval = "100ms" }}
"#
    )
}

#[test]
fn values_and_files_reach_kafka_in_order_when_the_broker_starts_late_and_after_it_restarts() {
    let mut broker = Tansu::start();
    broker.stop();
    let ws = Workspace::new(PLUGINS);
    fs::create_dir_all(ws.path("in")).unwrap();
    let files = folder_scanner_south(&ws.path("in").to_string_lossy(), "200ms");
    let bootstrap = broker.bootstrap();
    let with_files = |probe: bool| {
        format!(
            "{}\n{files}",
            config(&bootstrap, probe, ", compression = \"gzip\"")
        )
    };
    ws.config(&with_files(true));
    fs::write(ws.path("in/mesure été.csv"), "a;b\n1;2\n").unwrap();
    let mut engine = ws.start();
    engine.wait_until(
        "the broker's absence noticed",
        Duration::from_secs(30),
        |e| {
            e.connector("k").is_some_and(|c| c["state"] != "connected")
                && fs::metadata(ws.path("acks")).is_ok_and(|m| m.len() > 0)
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    broker.restart();
    broker.create_topic("oibus.values", 3);
    broker.create_topic("oibus.files", 1);
    engine.wait_until("values stored", Duration::from_secs(60), |e| {
        e.counter("k", "values_sent") >= 600 && e.counter("k", "files_sent") >= 1
    });
    engine.stop();
    ws.config(&with_files(false));
    ws.drain("k");
    let records = broker.records("oibus.values");
    record_values(&records, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{} records; {d:?}", records.len());
    assert!(d.acknowledged >= 600, "{d:?}");
    // Nothing was half-sent: the idempotent producer stored each value once.
    assert_eq!(d.duplicates, 0, "{d:?}");
    let stored_files = broker.records("oibus.files");
    assert_eq!(stored_files.len(), 1, "{stored_files:?}");
    assert_eq!(stored_files[0]["key"], "mesure été.csv");
    assert_eq!(
        stored_files[0]["headers"]["oibus-file-name"],
        "mesure été.csv"
    );
    assert_eq!(stored_files[0]["size"], 8);

    // The broker restarts empty (memory storage) while values flow: the producer's id and
    // sequences are unknown to it; the North asks for a new id and goes on.
    fs::remove_file(ws.path("acks")).unwrap();
    ws.config(&with_files(true));
    let mut engine = ws.start();
    engine.wait_until("values flowing", Duration::from_secs(30), |e| {
        e.counter("k", "values_sent") >= 100
    });
    broker.restart();
    broker.create_topic("oibus.values", 3);
    broker.create_topic("oibus.files", 1);
    let before = engine.counter("k", "values_sent");
    engine.wait_until(
        "values stored after the restart",
        Duration::from_secs(60),
        |e| e.counter("k", "values_sent") >= before + 500,
    );
    engine.stop();
    let records = broker.records("oibus.values");
    record_values(&records, &ws.path("received"));
    assert!(records.len() >= 500, "{} records", records.len());
}

#[test]
fn nothing_acknowledged_is_lost_across_kill_9_of_the_engine() {
    let broker = Tansu::start();
    broker.create_topic("oibus.values", 3);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(&broker.bootstrap(), true, ""));
    let kills = 4;
    for round in 0..kills {
        let mut engine = ws.start();
        let sent_before = engine.counter("k", "values_sent");
        engine.wait_until("values flowing", Duration::from_secs(30), |e| {
            e.counter("k", "values_sent") > sent_before
        });
        std::thread::sleep(Duration::from_millis(300 + 250 * round));
        eprintln!("round {round}: kill -9");
        engine.kill();
    }
    ws.config(&config(&broker.bootstrap(), false, ""));
    ws.drain("k");
    let records = broker.records("oibus.values");
    record_values(&records, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{} records; {d:?} after {kills} kills", records.len());
    assert!(d.acknowledged > 500, "{d:?}");
    // A kill resends at most the groups in flight (one group of 500 per call).
    assert!(d.duplicates <= kills as usize * 500, "{d:?}");
}

#[test]
fn a_record_too_large_is_set_apart_alone_and_topics_follow_the_point_template() {
    let broker = Tansu::start();
    broker.create_topic("oibus.files", 1);
    let ws = Workspace::new(PLUGINS);
    fs::create_dir_all(ws.path("in")).unwrap();
    let files = folder_scanner_south(&ws.path("in").to_string_lossy(), "200ms");
    // tansu tells no topic limit: the setting is the limit.
    let north = ", topic = \"plant.{pointId}\", max_message_bytes = 8192";
    ws.config(&format!(
        "{}\n{files}",
        config(&broker.bootstrap(), true, north)
    ));
    fs::write(ws.path("in/before.csv"), "x\n").unwrap();
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(ws.path("in/huge.bin"), noise).unwrap();
    let mut engine = ws.start();
    engine.wait_until(
        "values stored and the huge file set apart",
        Duration::from_secs(60),
        |e| e.counter("k", "values_sent") >= 200 && e.counter("k", "files_to_error") >= 1,
    );
    fs::write(ws.path("in/after.csv"), "y\n").unwrap();
    engine.wait_until("both small files stored", Duration::from_secs(30), |e| {
        e.counter("k", "files_sent") >= 2
    });
    let k = engine.connector("k").unwrap();
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("file huge.bin: a record of") && log.contains("over the 8192 bytes"),
        "{log}"
    );
    // Refused before anything was sent: not a lost connection.
    assert_eq!(k["counters"]["connects"], 1, "{k}");
    assert_eq!(k["cache"]["error_files"], 1, "{k}");
    let mut names: Vec<String> = broker
        .records("oibus.files")
        .iter()
        .map(|r| {
            r["headers"]["oibus-file-name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["after.csv", "before.csv"]);
    // One topic per point, its name made of the characters Kafka allows.
    for point in ["a#0", "b#0"] {
        let topic = format!("plant.{}", point.replace('#', "_"));
        let records = broker.records(&topic);
        assert!(!records.is_empty(), "topic {topic} is empty");
        assert!(records.iter().all(|r| r["key"] == point), "{topic}");
    }
}

#[test]
fn tls_is_verified_and_sasl_refusals_are_named() {
    let pki = TestPki::generate();
    let broker = Tansu::start_tls(&pki);
    let settings = |ca: &str| {
        format!(
            r#"{{"bootstrap_servers": ["{}"], "timeout_ms": 3000, "tls": {{"ca_file": "{}"}}}}"#,
            broker.bootstrap(),
            pki.path(ca)
        )
    };
    let (code, err) =
        oibus_tests::test_connection("oibus_kafka", "kafka-north", &settings("ca.pem"));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) =
        oibus_tests::test_connection("oibus_kafka", "kafka-north", &settings("other-ca.pem"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");

    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        &broker.bootstrap(),
        true,
        &format!(", tls = {{ ca_file = {:?} }}", pki.path("ca.pem")),
    ));
    let mut engine = ws.start();
    engine.wait_until("values stored over TLS", Duration::from_secs(30), |e| {
        e.counter("k", "values_sent") >= 100
    });
    engine.stop();

    // SCRAM runs to the broker's verdict: this one knows no user.
    let authenticating = Tansu::start_authenticating();
    let (code, err) = oibus_tests::test_connection(
        "oibus_kafka",
        "kafka-north",
        &format!(
            r#"{{"bootstrap_servers": ["{}"], "timeout_ms": 3000, "sasl": {{"mechanism": "SCRAM-SHA-256", "username": "gateway", "password": "s3cret-value"}}}}"#,
            authenticating.bootstrap()
        ),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("SASL SCRAM-SHA-256") && err.contains("unknown user"),
        "{err}"
    );
    assert!(!err.contains("s3cret-value"), "{err}");
}

#[test]
fn bad_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        "127.0.0.1:9092",
        true,
        ", compression = \"brotli\"",
    ));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(r#"north "k" settings.compression"#), "{out}");
}
