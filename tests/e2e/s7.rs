//! `south-s7` against a Siemens S7 server written by others (python-snap7's), and against a PLC
//! written only for the tests that breaks the protocol on purpose.

use oibus_plugin_api::{DataValue, OibusValue, Timestamp};
use oibus_tests::{
    process::{
        EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_by_point,
        recorded_values,
    },
    servers::{ScriptServer, free_port},
};
use std::{collections::BTreeMap, time::Duration};

/// An item table: `name`, `address`, `data_type`, then any other settings (`, length = 20`).
fn item(name: &str, address: &str, data_type: &str, more: &str) -> String {
    format!(
        r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ address = "{address}", data_type = "{data_type}"{more} }} }}"#
    )
}

/// A South `id` on `port` with `settings` (after host and port) and `items`.
fn south(id: &str, port: u16, settings: &str, items: &[String]) -> String {
    format!(
        "[[south]]\nid = \"{id}\"\ntype = \"s7\"\nsettings = {{ host = \"127.0.0.1\", port = {port}{settings} }}\nitems = [\n  {}\n]\n",
        items.join(",\n  ")
    )
}

fn config(souths: &[String]) -> String {
    format!(
        "{FAST_RECONNECT}{EVERY_SECOND}{}\n{RECORDING_NORTH}",
        souths.join("\n")
    )
}

fn text(s: &str) -> DataValue {
    DataValue::Text(s.into())
}

/// Every type of DB1, the areas, and DB2's big block (see tests/servers/s7_server.py): item,
/// address, type, other settings, and the value expected.
fn every_type() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    DataValue,
)> {
    use DataValue::*;
    vec![
        ("bool_on", "DB1.DBX0.3", "bool", "", Bool(true)),
        ("bool_off", "DB1.0.4", "bool", "", Bool(false)),
        ("byte", "DB1.DBB1", "byte", "", Int(0xA5)),
        ("word", "DB1.DBW2", "word", "", Int(65529)),
        ("int", "DB1.DBW4", "int", "", Int(-7)),
        ("dword", "DB1.DBD6", "dword", "", Int(4_000_000_000)),
        ("dint", "DB1.DBD10", "dint", "", Int(-100_000)),
        ("real", "DB1.DBD14", "real", "", Float(12.34)),
        ("lreal", "DB1.18", "lreal", "", Float(-0.1)),
        (
            "lint",
            "DB1.26",
            "lint",
            "",
            Int(-9_000_000_000_000_000_000),
        ),
        ("ulint", "DB1.34", "ulint", "", text("18446744073709551615")),
        ("usint", "DB1.42", "usint", "", Int(200)),
        ("sint", "DB1.43", "sint", "", Int(-100)),
        ("uint", "DB1.44", "uint", "", Int(60000)),
        ("udint", "DB1.46", "udint", "", Int(4_000_000_001)),
        ("lword", "DB1.50", "lword", "", Int(0x0123_4567_89AB_CDEF)),
        ("char", "DB1.58", "char", "", text("Z")),
        (
            "string",
            "DB1.60",
            "string",
            ", length = 20",
            text("Hello, été"),
        ),
        (
            "wstring",
            "DB1.82",
            "wstring",
            ", length = 10",
            text("Grüße €"),
        ),
        ("time", "DB1.106", "time", "", Int(-183_845_678)),
        ("date", "DB1.110", "date", "", text("2026-12-05")),
        ("tod", "DB1.112", "time_of_day", "", text("12:34:56.789")),
        (
            "dt",
            "DB1.116",
            "date_and_time",
            "",
            text("2026-12-05T10:20:30.123"),
        ),
        (
            "dtl",
            "DB1.124",
            "dtl",
            "",
            text("2026-12-05T10:20:30.123456000"),
        ),
        ("s5time", "DB1.136", "s5time", "", Int(150_000)),
        (
            "scaled",
            "DB1.DBW4",
            "int",
            ", scale = 0.5, offset = 10",
            Float(6.5),
        ),
        ("merker_bit", "M10.2", "bool", "", Bool(true)),
        ("merker_word", "MW12", "word", "", Int(1234)),
        ("merker_real", "MD20", "real", "", Float(-2.5)),
        ("input_bit", "I0.1", "bool", "", Bool(true)),
        ("input_word", "EW2", "word", "", Int(321)),
        ("output_bit", "Q0.0", "bool", "", Bool(true)),
        ("output_int", "AW4", "int", "", Int(-300)),
        ("timer", "T5", "timer", "", Int(12_300)),
        ("counter", "Z3", "counter", "", Int(42)),
        ("real_0", "DB2.0", "real", "", Float(0.0)),
        ("real_500", "DB2.2000", "real", "", Float(125.0)),
        ("real_999", "DB2.DBD3996", "real", "", Float(249.75)),
        // 2004 bytes: more than one answer of any PDU, read in chunks.
        (
            "long_text",
            "DB2.4000",
            "wstring",
            ", length = 1000",
            text(&"ab".repeat(500)),
        ),
    ]
}

/// Every item of [`every_type`] (with `prefix` on its name) has values, all as expected.
fn assert_decoded(by_point: &BTreeMap<String, Vec<OibusValue>>, prefix: &str) {
    for (name, address, _, _, value) in every_type() {
        let point = format!("{prefix}{name}");
        let got = by_point
            .get(&point)
            .unwrap_or_else(|| panic!("no value for {point} ({address}): {by_point:?}"));
        assert!(
            got.iter().all(|v| v.value == value),
            "{point} ({address}): {got:?}, expected {value:?}"
        );
    }
}

fn every_type_items(prefix: &str) -> Vec<String> {
    every_type()
        .into_iter()
        .map(|(name, address, ty, more, _)| item(&format!("{prefix}{name}"), address, ty, more))
        .collect()
}

#[test]
fn every_type_and_area_is_read_in_pdu_sized_requests_and_reading_resumes_after_a_plc_restart() {
    let mut server = ScriptServer::start("s7_server.py", &[]);
    let ws = Workspace::new(&["oibus_south_s7", "oibus_test_probe"]);
    // The same items through the PDU the server grants (480) and through the smallest (240).
    let n = every_type().len() as u64;
    ws.config(&config(&[
        south(
            "plc",
            server.port,
            ", timeout_ms = 1000",
            &every_type_items(""),
        ),
        south(
            "small",
            server.port,
            ", timeout_ms = 1000, pdu_size = 240, rack = 0, slot = 2",
            &every_type_items("small_"),
        ),
    ]));
    let mut engine = ws.start();
    let began = Timestamp::now();
    engine.wait_until("two scans of both", Duration::from_secs(60), |e| {
        e.counter("rec", "values_sent") >= 4 * n
    });
    let got = recorded_by_point(&ws.path("received"), began);
    assert_decoded(&got, "");
    assert_decoded(&got, "small_");
    let log = engine.log();
    assert!(
        log.contains(&format!(
            "connected to PLC 127.0.0.1:{} (TSAP 0101), PDU of 480 bytes",
            server.port
        )) && log.contains("(TSAP 0102), PDU of 240 bytes"),
        "{log}"
    );

    // The PLC goes away: the loss is reported, and reading resumes once it is back.
    server.stop();
    engine.wait_disconnected("plc");
    std::thread::sleep(Duration::from_secs(1));
    server.restart();
    let back = Timestamp::now();
    engine.wait_until("reading again", Duration::from_secs(60), |e| {
        e.counter("plc", "connects") >= 2
            && e.counter("small", "connects") >= 2
            && recorded_by_point(&ws.path("received"), back)
                .get("small_long_text")
                .is_some_and(|v| v.len() >= 2)
    });
    let again = recorded_by_point(&ws.path("received"), back);
    assert_decoded(&again, "");
    assert_decoded(&again, "small_");
    let log = engine.log();
    assert!(log.contains("connection lost"), "{log}");
    assert!(
        log.contains(&format!("PLC 127.0.0.1:{}: cannot connect", server.port)),
        "{log}"
    );
    let plc = engine.connector("plc").unwrap();
    engine.stop();
    assert_eq!(
        plc["failed_items"].as_object().map(|o| o.len()),
        Some(0),
        "{plc}"
    );
}

#[test]
fn a_refused_address_or_a_wrong_value_fails_only_its_item() {
    let server = ScriptServer::start("s7_server.py", &[]);
    let ws = Workspace::new(&["oibus_south_s7", "oibus_test_probe"]);
    let items = [
        // One range of 196..201: DB1 has 200 bytes, so the PLC refuses it; read again item by
        // item, "last" is read and only "past_end" fails.
        item("before", "DB1.196", "int", ""),
        item("last", "DB1.198", "int", ""),
        item("past_end", "DB1.199", "int", ""),
        // No DB4 at all.
        item("no_block", "DB4.0", "int", ""),
        // Bytes that are not what the type says.
        item("bad_dt", "DB3.0", "date_and_time", ""),
        item("bad_string", "DB3.8", "string", ", length = 4"),
        item("fine", "DB3.14", "int", ""),
    ];
    ws.config(&config(&[south("plc", server.port, "", &items)]));
    let mut engine = ws.start();
    engine.wait_until("two scans", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 6
    });
    let plc = engine.connector("plc").unwrap();
    engine.stop();
    let failed = &plc["failed_items"];
    assert_eq!(failed.as_object().map(|o| o.len()), Some(4), "{plc}");
    let says = |item: &str, parts: &[&str]| {
        let why = failed[item].as_str().unwrap_or_default();
        for part in parts {
            assert!(why.contains(part), "{item}: {why:?} lacks {part:?}");
        }
    };
    says(
        "past_end",
        &[
            "item \"past_end\"",
            "refused reading DB1.199 (2 byte(s))",
            "address out of range (code 0x05)",
        ],
    );
    says("no_block", &["DB4.0", "object does not exist"]);
    says("bad_dt", &["DB3.0", "not a DATE_AND_TIME"]);
    says("bad_string", &["a STRING of 9 characters in one of 4"]);
    let got = recorded_by_point(&ws.path("received"), Timestamp::from_nanos(0));
    assert!(
        got["last"].iter().all(|v| v.value == DataValue::Int(4242)),
        "{got:?}"
    );
    assert!(
        got["fine"].iter().all(|v| v.value == DataValue::Int(77)),
        "{got:?}"
    );
    assert!(got.contains_key("before"), "{got:?}");
    for failed in ["past_end", "no_block", "bad_dt", "bad_string"] {
        assert!(!got.contains_key(failed), "{failed}: {got:?}");
    }
    assert!(
        plc["counters"]["runs_with_failed_items"].as_u64() >= Some(1),
        "{plc}"
    );
}

#[test]
fn item_and_connection_tests_read_the_plc_and_name_what_fails() {
    let server = ScriptServer::start("s7_server.py", &[]);
    let settings = format!(r#"{{"host": "127.0.0.1", "port": {}}}"#, server.port);
    let test = |name: &str, item_settings: &str| {
        let item = format!(r#"{{"name": "{name}", "settings": {item_settings}}}"#);
        oibus_tests::test_item("oibus_south_s7", "s7", &settings, &item, &[])
    };
    let (code, out, err) = test("real", r#"{"address": "DB1.DBD14", "data_type": "real"}"#);
    assert_eq!(code, Some(0), "{out}{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("real "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains("12.34") && row.trim_end().ends_with("good"),
        "{row}"
    );
    let (code, _, err) = test("missing", r#"{"address": "DB4.0", "data_type": "int"}"#);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("item test FAILED") && err.contains("object does not exist"),
        "{err}"
    );
    // An address and a type that do not go together: named before anything is read.
    let (code, _, err) = test("wrong", r#"{"address": "DB1.DBW14", "data_type": "real"}"#);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("names 2 byte(s) and the type is 4"), "{err}");
    // Addresses that are not S7 addresses: refused by the schema.
    let (code, _, err) = test("typo", r#"{"address": "DB1.DBQ4", "data_type": "int"}"#);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("settings of item \"typo\"") && err.contains("DB1.DBQ4"),
        "{err}"
    );

    let port = free_port();
    let (code, err) = oibus_tests::test_connection(
        "oibus_south_s7",
        "s7",
        &format!(r#"{{"host": "127.0.0.1", "port": {port}, "timeout_ms": 500}}"#),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("PLC 127.0.0.1:{port}: cannot connect")),
        "{err}"
    );
    let (code, err) = oibus_tests::test_connection(
        "oibus_south_s7",
        "s7",
        &format!(
            r#"{{"host": "127.0.0.1", "port": {}, "remote_tsap": "02.00", "slot": 1}}"#,
            server.port
        ),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("leave rack and slot out"), "{err}");
}

#[test]
fn a_plc_that_breaks_the_protocol_is_dropped_with_the_reason_and_the_engine_goes_on() {
    // One South per way of breaking it, each against its own hostile PLC.
    let modes = [
        (
            "oversized",
            "the PLC sent a frame of 65535 bytes, over the 276 its PDU size allows",
        ),
        ("more-bytes", "the PLC answered 12 bytes for a read of 2"),
        ("silent", "no answer within 500 ms"),
        ("not-s7", "not an S7comm PDU"),
        ("refuses", "the PLC refused the connection (COTP disconnect"),
    ];
    let servers: Vec<ScriptServer> = modes
        .iter()
        .map(|(mode, _)| ScriptServer::start("hostile_s7_server.py", &["--mode", mode]))
        .collect();
    let ws = Workspace::new(&["oibus_south_s7", "oibus_test_probe"]);
    let souths: Vec<String> = modes
        .iter()
        .zip(&servers)
        .map(|((mode, _), server)| {
            south(
                mode,
                server.port,
                ", timeout_ms = 500",
                &[item(&format!("{mode}_value"), "DB1.0", "int", "")],
            )
        })
        .collect();
    ws.config(&config(&souths));
    let mut engine = ws.start();
    engine.wait_until("each reason, twice", Duration::from_secs(60), |e| {
        let log = e.log();
        modes.iter().all(|(_, says)| log.matches(says).count() >= 2)
    });
    // The engine answers, the Souths are there to try again, nothing was delivered.
    for (mode, _) in &modes {
        assert!(engine.connector(mode).is_some(), "{mode}");
    }
    engine.stop();
    assert!(recorded_values(&ws.path("received")).is_empty());
}
