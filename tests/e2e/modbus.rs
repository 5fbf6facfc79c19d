//! `south-modbus` against a real Modbus TCP server written by others (pymodbus).

use oibus_plugin_api::{DataValue, OibusValue, Timestamp};
use oibus_tests::{
    process::{
        EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_by_point,
        recorded_values,
    },
    servers::{ScriptServer, free_port},
};
use std::{collections::BTreeMap, time::Duration};

fn config(port: u16) -> String {
    format!(
        r#"
{FAST_RECONNECT}
{EVERY_SECOND}
[[south]]
id = "plc"
type = "modbus"
settings = {{ host = "127.0.0.1", port = {port}, timeout_ms = 500, max_gap = 8 }}
items = [
  {{ name = "f32", scan_mode = "every-second", settings = {{ register = "holding-register", address = 0, data_type = "float32" }} }},
  {{ name = "i16", scan_mode = "every-second", settings = {{ register = "holding-register", address = 2, data_type = "int16" }} }},
  {{ name = "u32", scan_mode = "every-second", settings = {{ register = "holding-register", address = 3, data_type = "uint32" }} }},
  {{ name = "f32-low-word-first", scan_mode = "every-second", settings = {{ register = "holding-register", address = 10, data_type = "float32", word_order = "little" }} }},
  {{ name = "u16", scan_mode = "every-second", settings = {{ register = "holding-register", address = 20 }} }},
  {{ name = "scaled", scan_mode = "every-second", settings = {{ register = "input-register", address = 0, scale = 0.1 }} }},
  {{ name = "coil0", scan_mode = "every-second", settings = {{ register = "coil", address = 0, data_type = "bool" }} }},
  {{ name = "coil1", scan_mode = "every-second", settings = {{ register = "coil", address = 1, data_type = "bool" }} }},
  {{ name = "di0", scan_mode = "every-second", settings = {{ register = "discrete-input", address = 0, data_type = "bool" }} }},
]
{RECORDING_NORTH}"#
    )
}

fn expected() -> BTreeMap<&'static str, DataValue> {
    BTreeMap::from([
        ("f32", DataValue::Float(12.5)),
        ("i16", DataValue::Int(-7)),
        ("u32", DataValue::Int(100000)),
        ("f32-low-word-first", DataValue::Float(-2.25)),
        ("u16", DataValue::Int(4242)),
        ("scaled", DataValue::Float(321.0 * 0.1)),
        ("coil0", DataValue::Bool(true)),
        ("coil1", DataValue::Bool(false)),
        ("di0", DataValue::Bool(true)),
    ])
}

fn assert_decoded(by_point: &BTreeMap<String, Vec<OibusValue>>) {
    for (point, value) in expected() {
        let got = by_point
            .get(point)
            .unwrap_or_else(|| panic!("no value for {point}: {by_point:?}"));
        assert!(
            got.iter().all(|v| v.value == value),
            "{point}: {got:?}, expected {value:?}"
        );
    }
}

#[test]
fn registers_are_read_decoded_and_reading_resumes_after_a_server_restart() {
    let mut server = ScriptServer::start("modbus_server.py", &[]);
    let ws = Workspace::new(&["oibus_south_modbus", "oibus_test_probe"]);
    ws.config(&config(server.port));
    let mut engine = ws.start();
    let began = Timestamp::now();
    engine.wait_until("two scans delivered", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 18
    });
    assert_decoded(&recorded_by_point(&ws.path("received"), began));

    // The server goes away: the connector reports the lost connection and reconnects once the
    // server is back.
    server.stop();
    engine.wait_disconnected("plc");
    std::thread::sleep(Duration::from_secs(1));
    server.restart();
    let back = Timestamp::now();
    engine.wait_until("reading again", Duration::from_secs(30), |e| {
        e.counter("plc", "connects") >= 2
            && recorded_by_point(&ws.path("received"), back)
                .get("u16")
                .is_some_and(|v| v.len() >= 2)
    });
    assert_decoded(&recorded_by_point(&ws.path("received"), back));
    let log = engine.log();
    assert!(log.contains("connection lost"), "{log}");
    // Said as it happened: the server closed the connection (or reset it, when the kill finds
    // data unread), then refused new ones; never the stale "Operation now in progress (os error
    // 115)" the client library gives.
    assert!(
        (log.contains("failed: the server closed the connection (connection-lost)")
            || log.contains("failed: Connection reset by peer"))
            && log.contains("cannot connect: Connection refused")
            && !log.contains("os error 115"),
        "{log}"
    );
    engine.stop();
}

#[test]
fn test_connection_names_the_server_that_does_not_answer() {
    let port = free_port();
    let (code, err) = oibus_tests::test_connection(
        "oibus_south_modbus",
        "modbus",
        &format!(r#"{{"host": "127.0.0.1", "port": {port}, "timeout_ms": 500}}"#),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("Modbus server 127.0.0.1:{port}: cannot connect")),
        "{err}"
    );
}

/// [`config`] with `items` (TOML item tables, joined) instead of its own.
fn with_items(port: u16, items: &str) -> String {
    let text = config(port);
    let start = text.find("items = [").expect("items");
    let end = start + text[start..].find("]\n").expect("end of items") + 1;
    format!("{}items = [\n  {items}\n]{}", &text[..start], &text[end..])
}

/// The configuration check of `config` with `from` replaced by `to`: its output, which must
/// refuse the configuration and say `says` (and `value`).
fn refused_with(from: &str, to: &str, says: &str, value: &str) {
    let ws = Workspace::new(&["oibus_south_modbus", "oibus_test_probe"]);
    ws.config(&config(free_port()).replace(from, to));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(says) && out.contains(value), "{out}");
}

#[test]
fn bad_item_settings_are_named_before_anything_starts() {
    refused_with(
        r#"address = 2, data_type = "int16""#,
        r#"address = 2, data_type = "float16""#,
        r#"south "plc" items[1] "i16" settings.data_type"#,
        "float16",
    );
}

#[test]
fn registers_that_are_not_numbers_are_bad_and_a_refused_address_fails_only_its_item() {
    let server = ScriptServer::start("modbus_server.py", &[]);
    let ws = Workspace::new(&["oibus_south_modbus", "oibus_test_probe"]);
    let item = |name: &str, address: u16, data_type: &str| {
        format!(
            r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ register = "holding-register", address = {address}, data_type = "{data_type}" }} }}"#
        )
    };
    let items = [
        item("nan", 30, "float32"),
        item("inf", 32, "float32"),
        item("decimal", 40, "float32"),
        // One request reads 60..65; the server has no register 64: refused, then read item by
        // item, so "edge" is read and only "beyond" fails.
        item("edge", 60, "uint16"),
        item("beyond", 63, "float32"),
    ]
    .join(",\n  ");
    ws.config(&with_items(server.port, &items));
    let mut engine = ws.start();
    engine.wait_until("two scans", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 8
    });
    let plc = engine.connector("plc").unwrap();
    engine.stop();
    assert!(
        plc["failed_items"]["beyond"]
            .as_str()
            .is_some_and(|r| r.contains("refused")),
        "{plc}"
    );
    assert_eq!(
        plc["failed_items"].as_object().map(|o| o.len()),
        Some(1),
        "{plc}"
    );
    let values = recorded_values(&ws.path("received"));
    let of = |p: &str| {
        values
            .iter()
            .filter(|v| v.point_id.as_str() == p)
            .collect::<Vec<_>>()
    };
    for v in of("nan").into_iter().chain(of("inf")) {
        // JSON has no NaN or infinity: null, with quality bad.
        assert_eq!(v.value, DataValue::Null, "{v:?}");
        assert_eq!(v.quality, oibus_plugin_api::Quality::Bad, "{v:?}");
    }
    assert!(!of("nan").is_empty());
    for v in of("decimal") {
        assert_eq!(v.value, DataValue::Float(12.34), "{v:?}");
    }
    assert!(!of("edge").is_empty() && of("edge").iter().all(|v| v.value == DataValue::Int(60)));
    assert!(of("beyond").is_empty());
    assert!(
        plc["counters"]["values_not_finite"].as_u64() >= Some(2),
        "{plc}"
    );
}

#[test]
fn test_item_reads_one_item_from_the_server_names_what_fails_and_sends_nothing() {
    let server = ScriptServer::start("modbus_server.py", &[]);
    let settings = format!(
        r#"{{"host": "127.0.0.1", "port": {}, "timeout_ms": 1000}}"#,
        server.port
    );
    // `oibus test-item` on item `name` with these item settings.
    let test = |name: &str, item_settings: &str, extra: &[&str]| {
        let item = format!(r#"{{"name": "{name}", "settings": {item_settings}}}"#);
        oibus_tests::test_item("oibus_south_modbus", "modbus", &settings, &item, extra)
    };
    // As a table, then as JSON in OIBus's value shape.
    let (code, out, err) = test(
        "f32",
        r#"{"register": "holding-register", "address": 0, "data_type": "float32"}"#,
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("f32 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains("12.5") && row.trim_end().ends_with("good"),
        "{row}"
    );
    assert!(out.contains("1 value(s) read, nothing sent"), "{out}");
    let (code, out, err) = test(
        "scaled",
        r#"{"register": "input-register", "address": 0, "scale": 0.1}"#,
        &["--json"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let values: Vec<oibus_plugin_api::OibusValue> = serde_json::from_str(&out).unwrap();
    assert_eq!(values.len(), 1, "{out}");
    assert_eq!(values[0].point_id.as_str(), "scaled");
    assert_eq!(values[0].value, DataValue::Float(321.0 * 0.1));
    // An address the server does not have: the item is named with the server's refusal.
    let (code, _, err) = test(
        "beyond",
        r#"{"register": "holding-register", "address": 63, "data_type": "float32"}"#,
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("item test FAILED") && err.contains("\"beyond\"") && err.contains("refused"),
        "{err}"
    );
    // Item settings that do not fit the schema are refused before anything connects.
    let (code, _, err) = test(
        "i16",
        r#"{"register": "holding-register", "address": 2, "data_type": "float16"}"#,
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("settings of item \"i16\"") && err.contains("float16"),
        "{err}"
    );
}

#[test]
fn an_answer_with_fewer_registers_than_asked_names_the_items_left_without_a_value() {
    // A server that answers well-formed but short: a read reaching address 100 gets only the
    // registers before 100 (register k holds k).
    let server = ScriptServer::start("short_modbus_server.py", &["--short-from", "100"]);
    let ws = Workspace::new(&["oibus_south_modbus", "oibus_test_probe"]);
    let item = |name: &str, register: &str, address: u32, data_type: &str| {
        format!(
            r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ register = "{register}", address = {address}, data_type = "{data_type}" }} }}"#
        )
    };
    let items = [
        // One request of 98..102: answered with 2 registers.
        item("r98", "holding-register", 98, "uint16"),
        item("r99", "holding-register", 99, "uint16"),
        item("r100", "holding-register", 100, "uint32"),
        // Coils come in whole bytes: a read of coil 105 is answered with none.
        item("bit10", "coil", 10, "bool"),
        item("bit105", "coil", 105, "bool"),
    ]
    .join(",\n  ");
    ws.config(&with_items(server.port, &items));
    let mut engine = ws.start();
    engine.wait_until("two scans", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 6
    });
    let plc = engine.connector("plc").unwrap();
    engine.stop();
    let failed = &plc["failed_items"];
    assert_eq!(failed.as_object().map(|o| o.len()), Some(2), "{plc}");
    let r100 = failed["r100"].as_str().unwrap_or_default();
    assert!(
        r100.contains("item \"r100\"")
            && r100.contains("answered 0 of the 2 register(s) asked")
            && r100.contains("HoldingRegister 100..102"),
        "{r100}"
    );
    let bit = failed["bit105"].as_str().unwrap_or_default();
    assert!(
        bit.contains("answered 0 of the 1 bit(s) asked") && bit.contains("Coil 105..106"),
        "{bit}"
    );
    assert!(
        plc["counters"]["runs_with_failed_items"].as_u64() >= Some(1),
        "{plc}"
    );
    let got = recorded_by_point(&ws.path("received"), Timestamp::from_nanos(0));
    assert!(
        got["r98"].iter().all(|v| v.value == DataValue::Int(98)),
        "{got:?}"
    );
    assert!(
        got["r99"].iter().all(|v| v.value == DataValue::Int(99)),
        "{got:?}"
    );
    assert!(
        got["bit10"]
            .iter()
            .all(|v| v.value == DataValue::Bool(true)),
        "{got:?}"
    );
    assert!(
        !got.contains_key("r100") && !got.contains_key("bit105"),
        "{got:?}"
    );
}

#[test]
fn a_value_past_the_last_address_is_refused_naming_the_item() {
    refused_with(
        r#"address = 3, data_type = "uint32""#,
        r#"address = 65535, data_type = "uint32""#,
        r#"south "plc" items[2] "u32" settings.address"#,
        "65534",
    );
}
