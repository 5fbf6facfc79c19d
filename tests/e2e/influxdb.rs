//! `influxdb-north` against Debian's InfluxDB 1.x (`influxd`), read back with its HTTP query
//! API: every acknowledged value stored as a point, measurement and tags from the templates,
//! across a server restart; a value InfluxDB cannot store set apart alone; credentials checked.

use oibus_plugin_api::{OibusValue, Timestamp};
use oibus_tests::{
    process::{FAST_RECONNECT, Workspace, acknowledged_probe_pair, check_acknowledged},
    servers::Influxd,
};
use std::{fs, io::Write, path::Path, time::Duration};

const PLUGINS: &[&str] = &["oibus_test_probe", "oibus_influxdb"];

/// A probe South `src` (items `a` and `b`, each value its own instant) and the North `influx`.
fn config(url: &str, probe_enabled: bool, api: &str, north_settings: &str) -> String {
    let probe = acknowledged_probe_pair(probe_enabled, ", distinct_timestamps = true");
    format!(
        r#"
{FAST_RECONNECT}
{probe}

[[north]]
id = "influx"
type = "influxdb-north"
settings = {{ url = "{url}", api = {api}, timeout_ms = 3000{north_settings} }}
caching = {{ group_count = 500, send_interval = "100ms", retry_interval = "100ms" }}
"#
    )
}

/// The rows of the probe's points (measurement `probe`, tags `item` and `rank` from the point
/// id `a#0`), written as the probe North would record them.
fn record_rows(server: &Influxd, out: &Path) -> usize {
    let rows = server.rows("plant", "probe", None);
    let mut file = fs::File::create(out).unwrap();
    for r in &rows {
        let point = format!(
            "{}#{}",
            r["item"].as_str().unwrap(),
            r["rank"].as_str().unwrap()
        );
        assert_eq!(r["quality"], "good", "{r:?}");
        let at = Timestamp::parse(r["time"].as_str().unwrap()).unwrap();
        let v = OibusValue::new(point, at, r["value"].as_i64().unwrap());
        writeln!(file, "{}", serde_json::to_string(&v).unwrap()).unwrap();
    }
    rows.len()
}

const TEMPLATES: &str = r#", measurement = "probe", point_pattern = "^(?<item>[^#]+)#(?<rank>.*)$", tags = { item = "{item}", rank = "{rank}" }"#;

#[test]
fn every_value_is_a_point_with_its_tags_across_a_server_restart() {
    let mut server = Influxd::start(None);
    server.query("CREATE DATABASE plant", None, None);
    let ws = Workspace::new(PLUGINS);
    let api = r#"{ version = "v1", database = "plant" }"#;
    ws.config(&config(&server.url(), true, api, TEMPLATES));
    let mut engine = ws.start();
    engine.wait_until("values stored", Duration::from_secs(60), |e| {
        e.counter("influx", "values_sent") >= 300
    });
    server.stop();
    engine.wait_until(
        "the server's absence noticed",
        Duration::from_secs(30),
        |e| e.counter("influx", "send_failures") >= 1,
    );
    std::thread::sleep(Duration::from_secs(1));
    server.restart();
    let before = engine.counter("influx", "values_sent");
    engine.wait_until("values stored again", Duration::from_secs(60), |e| {
        e.counter("influx", "values_sent") >= before + 300
    });
    let influx = engine.connector("influx").unwrap();
    engine.stop();
    assert_eq!(influx["cache"]["error_values"], 0, "{influx}");
    ws.config(&config(&server.url(), false, api, TEMPLATES));
    ws.drain("influx");
    let n = record_rows(&server, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{n} points; {d:?}");
    assert!(d.acknowledged >= 600, "{d:?}");
    // A point's key is its series and instant: a batch written again replaces itself.
    assert_eq!(d.duplicates, 0, "{d:?}");
}

#[test]
fn a_field_of_another_type_is_set_apart_alone() {
    let server = Influxd::start(None);
    server.query("CREATE DATABASE plant", None, None);
    // Field `value` of measurement `probe` becomes a text in the shard of today: the probe's
    // integers are refused there.
    let seed = format!(
        "probe,item=seed,rank=0 value=\"text\" {}\n",
        Timestamp::now().as_nanos()
    );
    let answer = ureq::post(&format!("{}/write?db=plant", server.url()))
        .send(seed.as_str())
        .unwrap();
    assert_eq!(answer.status(), 204);
    let ws = Workspace::new(PLUGINS);
    let api = r#"{ version = "v1", database = "plant" }"#;
    // Only `b` goes to measurement `probe`: `a` goes to `other`, whose field is free.
    let templates = TEMPLATES.replace(r#"measurement = "probe""#, r#"measurement = "{item}""#);
    ws.config(
        &config(&server.url(), true, api, &templates)
            .replace("items = [{ name = \"a\", scan_mode = \"subscription\" }, { name = \"b\", scan_mode = \"subscription\" }]", "items = [{ name = \"probe\", scan_mode = \"subscription\" }, { name = \"other\", scan_mode = \"subscription\" }]"),
    );
    let mut engine = ws.start();
    engine.wait_until(
        "refused values set apart, the others stored",
        Duration::from_secs(60),
        |e| {
            e.counter("influx", "values_to_error") >= 50
                && e.counter("influx", "values_sent") >= 100
        },
    );
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("answered 400 Bad Request") && log.contains("field type conflict"),
        "{log}"
    );
    let other = server.rows("plant", "other", None);
    assert!(other.len() >= 100, "{} points in other", other.len());
}

#[test]
fn credentials_are_checked_by_test_connection_and_data_waits_for_them() {
    let server = Influxd::start(Some(("admin", "s3cret-admin")));
    server.query(
        "CREATE DATABASE plant",
        None,
        Some(("admin", "s3cret-admin")),
    );
    let settings = |password: &str| {
        format!(
            r#"{{"url": "{}", "api": {{"version": "v1", "database": "plant", "username": "admin", "password": "{password}"}}, "timeout_ms": 3000}}"#,
            server.url()
        )
    };
    let (code, err) = oibus_tests::test_connection(
        "oibus_influxdb",
        "influxdb-north",
        &settings("s3cret-admin"),
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, err) =
        oibus_tests::test_connection("oibus_influxdb", "influxdb-north", &settings("wrong-pass"));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("401") && err.contains("check the credentials"),
        "{err}"
    );
    assert!(!err.contains("wrong-pass"), "{err}");
    let (code, err) = oibus_tests::test_connection(
        "oibus_influxdb",
        "influxdb-north",
        &settings("s3cret-admin").replace("\"plant\"", "\"nowhere\""),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("database not found"), "{err}");
}

#[test]
fn bad_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        "http://127.0.0.1:9",
        true,
        r#"{ version = "v3", database = "plant" }"#,
        "",
    ));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(r#"north "influx" settings.api"#), "{out}");
}
