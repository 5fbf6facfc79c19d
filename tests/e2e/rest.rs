//! The `rest` plugin's South against an HTTP/JSON API written only for the tests
//! (`tests/servers/rest_server.py`): routes that answer well, and routes that are slow, fail,
//! answer HTML, lack a field, answer too much, or page forever; and its North against a sink
//! written only for the tests (`tests/servers/sink_server.py`) that records, fails for a while,
//! refuses, or answers late.

use oibus_plugin_api::{DataValue, Quality, Timestamp};
use oibus_tests::{
    process::{
        EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, acknowledged_probe_south,
        check_acknowledged, folder_scanner_south, recorded_by_point, recorded_values,
    },
    servers::{ScriptServer, TestPki, free_port},
};
use std::{collections::BTreeMap, time::Duration};

/// An item table named `name` with these settings (TOML, inside the braces).
fn item(name: &str, settings: &str) -> String {
    format!(r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ {settings} }} }}"#)
}

/// A South `id` of type `rest` with `settings` and `items`, reading `query` (last-point or
/// history, with `history` settings).
fn south(id: &str, settings: &str, query: &str, items: &[String]) -> String {
    format!(
        "[[south]]\nid = \"{id}\"\ntype = \"rest\"\nquery = \"{query}\"\nsettings = {{ {settings} }}\n{}items = [\n  {}\n]\n",
        if query == "history" {
            "history = { start = \"5m\", max_read_interval = \"1m\", read_delay = \"0s\" }\n"
        } else {
            ""
        },
        items.join(",\n  ")
    )
}

fn config(souths: &[String]) -> String {
    format!(
        "{FAST_RECONNECT}{EVERY_SECOND}{}\n{RECORDING_NORTH}",
        souths.join("\n")
    )
}

#[test]
fn values_are_picked_out_of_json_each_misbehaving_route_fails_only_its_item_and_reading_resumes() {
    let mut server = ScriptServer::start("rest_server.py", &[]);
    let base = format!(
        "base_url = \"http://127.0.0.1:{}\", timeout_ms = 1000",
        server.port
    );
    let ws = Workspace::new(&["oibus_rest", "oibus_test_probe"]);
    let items = [
        item(
            "values",
            r#"path = "/values", records = "$.data[*]", value = "$.v", timestamp = "$.t", quality = "$.q", point_id = "$.tag""#,
        ),
        item("one", r#"path = "/one", value = "$.value""#),
        item("slow", r#"path = "/slow", value = "$.value""#),
        item("error", r#"path = "/error", value = "$.value""#),
        item("html", r#"path = "/html", value = "$.value""#),
        item(
            "missing",
            r#"path = "/missing", records = "$.data[*]", value = "$.v""#,
        ),
        item("huge", r#"path = "/huge", value = "$.value""#),
        item(
            "loop",
            r#"path = "/loop", value = "$.v", pagination = { type = "link", next = "$.next" }"#,
        ),
        item(
            "elsewhere",
            r#"path = "/elsewhere", value = "$.v", pagination = { type = "link", next = "$.next" }"#,
        ),
    ];
    let secured = |auth: &str| format!("{base}, authentication = {{ {auth} }}");
    ws.config(&config(&[
        south(
            "api",
            &format!("{base}, max_response_bytes = 1048576"),
            "last-point",
            &items,
        ),
        south(
            "bearer",
            &secured(r#"type = "bearer", token = "s3cret-token""#),
            "last-point",
            &[item("secure", r#"path = "/secure", value = "$.value""#)],
        ),
        south(
            "basic",
            &secured(r#"type = "basic", username = "operator", password = "pl4nt""#),
            "last-point",
            &[item("basic", r#"path = "/basic", value = "$.value""#)],
        ),
        south(
            "wrong",
            &secured(r#"type = "bearer", token = "guess""#),
            "last-point",
            &[item("refused", r#"path = "/secure", value = "$.value""#)],
        ),
    ]));
    let mut engine = ws.start();
    let began = Timestamp::from_nanos(0);
    engine.wait_until("two scans", Duration::from_secs(60), |_| {
        let got = recorded_by_point(&ws.path("received"), began);
        ["line1.speed", "one", "secure", "basic", "missing"]
            .iter()
            .all(|p| got.get(*p).is_some_and(|v| v.len() >= 2))
    });
    let api = engine.connector("api").unwrap();
    let wrong = engine.connector("wrong").unwrap();
    let failed = &api["failed_items"];
    let says = |item: &str, parts: &[&str]| {
        let why = failed[item].as_str().unwrap_or_default();
        for part in parts {
            assert!(why.contains(part), "{item}: {why:?} lacks {part:?}\n{api}");
        }
    };
    says(
        "slow",
        &[
            "GET http://127.0.0.1",
            "/slow: no complete answer within 1000 ms",
        ],
    );
    says(
        "error",
        &["/error: HTTP 500 Internal Server Error: database unavailable"],
    );
    says(
        "html",
        &["the answer is not JSON (text/html", "<!DOCTYPE html>"],
    );
    says(
        "missing",
        &["1 record(s) left out (2 value(s) read): record 2 of 3: value selects nothing"],
    );
    says("huge", &["over max_response_bytes (1048576)"]);
    says("loop", &["names the next page \"/loop\" a second time"]);
    says(
        "elsewhere",
        &["the next page is on another server (http://127.0.0.2:"],
    );
    assert_eq!(failed.as_object().map(|o| o.len()), Some(7), "{api}");
    assert!(
        wrong["failed_items"]["refused"]
            .as_str()
            .is_some_and(|w| w.contains("HTTP 401 Unauthorized")),
        "{wrong}"
    );
    let got = recorded_by_point(&ws.path("received"), began);
    let first = |p: &str| got[p][0].clone();
    let speed = first("line1.speed");
    assert_eq!(
        (speed.value, speed.quality, speed.timestamp),
        (
            DataValue::Float(12.5),
            Quality::Good,
            Timestamp::parse("2026-12-05T10:00:00Z").unwrap()
        )
    );
    assert_eq!(first("line1.temperature").quality, Quality::Uncertain);
    assert_eq!(first("line1.running").value, DataValue::Bool(true));
    assert_eq!(first("one").value, DataValue::Int(42));
    assert_eq!(first("secure").value, DataValue::Int(7));
    assert_eq!(first("basic").value, DataValue::Int(8));
    let missing: Vec<DataValue> = got["missing"].iter().map(|v| v.value.clone()).collect();
    assert_eq!(&missing[..2], &[DataValue::Int(1), DataValue::Int(3)]);
    for failed in ["slow", "error", "html", "huge", "refused"] {
        assert!(!got.contains_key(failed), "{failed}: {got:?}");
    }

    // The API goes away: the scan reports the connection lost, and reading resumes.
    server.stop();
    engine.wait_until("the loss to be noticed", Duration::from_secs(30), |e| {
        e.log().contains("/values: cannot connect")
    });
    server.restart();
    let back = Timestamp::now();
    engine.wait_until("reading again", Duration::from_secs(60), |e| {
        e.counter("api", "connects") >= 2
            && recorded_values(&ws.path("received"))
                .iter()
                .any(|v| v.point_id.as_str() == "one" && v.timestamp >= back)
    });
    let log = engine.log();
    engine.stop();
    assert!(log.contains("connection lost"), "{log}");
    // Credentials never reach the log.
    for secret in ["s3cret-token", "pl4nt", "guess"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

/// The seconds of the values of `point`: each once, no gap, each value `t mod 1000`.
fn assert_every_second_once(
    got: &BTreeMap<String, Vec<oibus_plugin_api::OibusValue>>,
    point: &str,
    at_least: usize,
) {
    let values = got
        .get(point)
        .unwrap_or_else(|| panic!("no values for {point}"));
    let mut seconds: Vec<i64> = values
        .iter()
        .map(|v| v.timestamp.to_datetime().timestamp())
        .collect();
    for v in values {
        let t = v.timestamp.to_datetime().timestamp();
        assert_eq!(v.value, DataValue::Int(t % 1000), "{point} at {t}");
    }
    let n = seconds.len();
    seconds.sort();
    seconds.dedup();
    assert_eq!(seconds.len(), n, "{point}: a second read twice");
    assert!(n >= at_least, "{point}: {n} values");
    assert_eq!(
        (seconds[n - 1] - seconds[0] + 1) as usize,
        n,
        "{point}: a gap between {} and {}",
        seconds[0],
        seconds[n - 1]
    );
}

#[test]
fn history_windows_are_read_through_every_page_and_every_second_arrives_once() {
    let server = ScriptServer::start("rest_server.py", &[]);
    let ws = Workspace::new(&["oibus_rest", "oibus_test_probe"]);
    let window = r#"query = { from = "@StartTime", to = "@EndTime" }, records = "$.items[*]", value = "$.value", timestamp = "$.ts""#;
    ws.config(&config(&[south(
        "api",
        &format!("base_url = \"http://127.0.0.1:{}\"", server.port),
        "history",
        &[
            item(
                "by_cursor",
                &format!(r#"path = "/history", {window}, pagination = {{ type = "cursor", next = "$.next_cursor", parameter = "cursor" }}"#),
            ),
            item(
                "by_link",
                &format!(r#"path = "/history-link", {window}, pagination = {{ type = "link", next = "$.links.next" }}"#),
            ),
            item(
                "by_post",
                r#"method = "POST", path = "/query", body = '{"from": @StartTime, "to": @EndTime}', time_format = "unix-ms", records = "$.rows[*]", value = "$.v", timestamp = "$.t""#,
            ),
        ],
    )]));
    let mut engine = ws.start();
    let began = Timestamp::now();
    engine.wait_until(
        "the five minutes and a few seconds more",
        Duration::from_secs(90),
        |_| {
            let got = recorded_by_point(&ws.path("received"), Timestamp::from_nanos(0));
            ["by_cursor", "by_link", "by_post"].iter().all(|p| {
                got.get(*p)
                    .and_then(|v| v.iter().map(|v| v.timestamp).max())
                    .is_some_and(|newest| newest > began)
            })
        },
    );
    engine.stop();
    let got = recorded_by_point(&ws.path("received"), Timestamp::from_nanos(0));
    for point in ["by_cursor", "by_link", "by_post"] {
        assert_every_second_once(&got, point, 300);
    }
}

#[test]
fn item_and_connection_tests_read_the_api_and_name_what_fails() {
    let server = ScriptServer::start("rest_server.py", &[]);
    let settings = format!(
        r#"{{"base_url": "http://127.0.0.1:{}", "timeout_ms": 1000}}"#,
        server.port
    );
    let test = |name: &str, item_settings: &str| {
        let item = format!(r#"{{"name": "{name}", "settings": {item_settings}}}"#);
        oibus_tests::test_item("oibus_rest", "rest", &settings, &item, &[])
    };
    let (code, out, err) = test("one", r#"{"path": "/one", "value": "$.value"}"#);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("one ") && l.contains("42")),
        "{out}"
    );
    // History items are tried over the last hour, every page.
    let (code, out, err) = test(
        "last_hour",
        r#"{"path": "/history", "query": {"from": "@StartTime", "to": "@EndTime"}, "records": "$.items[*]", "value": "$.value", "timestamp": "$.ts", "pagination": {"type": "cursor", "next": "$.next_cursor", "parameter": "cursor"}}"#,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("3600 value(s) read")
            || out.contains("3599 value(s) read")
            || out.contains("3601 value(s) read"),
        "{out}"
    );
    let (code, _, err) = test("error", r#"{"path": "/error", "value": "$.value"}"#);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("item test FAILED") && err.contains("HTTP 500"),
        "{err}"
    );
    let (code, _, err) = test("bad_path", r#"{"path": "/one", "value": "$.["}"#);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("value \"$.[\" is not a JSONPath"), "{err}");

    let port = free_port();
    let (code, err) = oibus_tests::test_connection(
        "oibus_rest",
        "rest",
        &format!(r#"{{"base_url": "http://127.0.0.1:{port}", "timeout_ms": 500}}"#),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("GET http://127.0.0.1:{port}: cannot connect")),
        "{err}"
    );
    let (code, err) = oibus_tests::test_connection(
        "oibus_rest",
        "rest",
        &format!(
            r#"{{"base_url": "http://127.0.0.1:{}", "test_path": "/secure", "authentication": {{"type": "bearer", "token": "guess"}}}}"#,
            server.port
        ),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refuses the credentials"), "{err}");
}

#[test]
fn https_is_verified_against_the_configured_authority() {
    let pki = TestPki::generate();
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let server = ScriptServer::start("rest_server.py", &["--cert", &cert, "--key", &key]);
    let base = format!("https://127.0.0.1:{}", server.port);
    let settings = |ca: &str| {
        format!(
            r#"{{"base_url": "{base}", "timeout_ms": 2000, "tls": {{"ca_file": "{}"}}}}"#,
            pki.path(ca)
        )
    };
    let item = r#"{"name": "one", "settings": {"path": "/one", "value": "$.value"}}"#;
    let (code, out, err) =
        oibus_tests::test_item("oibus_rest", "rest", &settings("ca.pem"), item, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("42"), "{out}");
    // Signed by another authority: refused, and said why.
    let (code, _, err) =
        oibus_tests::test_item("oibus_rest", "rest", &settings("other-ca.pem"), item, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot connect") && err.contains("certificate"),
        "{err}"
    );
    // TLS settings on a plain-text address are a mistake, named.
    let (code, err) = oibus_tests::test_connection(
        "oibus_rest",
        "rest",
        &format!(
            r#"{{"base_url": "http://127.0.0.1:{}", "tls": {{}}}}"#,
            server.port
        ),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("tls is for an https base_url"), "{err}");
}

/// An engine sending numbered probe values and the files of `<ws>/in` to three `rest-north`s
/// on the sink at `port`: `web` (values to `/flaky`, gzip; files as forms), `strict` (values to
/// `/reject`; files raw) and `late` (values to `/slow`, a time-out of 1 s).
fn posting(port: u16, probe: bool) -> String {
    let north = |id: &str, settings: &str| {
        format!(
            "[[north]]\nid = \"{id}\"\ntype = \"rest-north\"\nsettings = {{ base_url = \"http://127.0.0.1:{port}\", {settings} }}\ncaching = {{ send_interval = \"100ms\" }}\n"
        )
    };
    format!(
        "{FAST_RECONNECT}{}{}\n{}{}{}",
        acknowledged_probe_south(probe),
        folder_scanner_south("{ws}/in", "100ms"),
        north(
            "web",
            r#"values_path = "/flaky", gzip = true, file_body = "multipart", timeout_ms = 2000"#
        ),
        north("strict", r#"values_path = "/reject", file_body = "raw""#),
        north("late", r#"values_path = "/slow", timeout_ms = 1000"#),
    )
}

#[test]
fn the_north_posts_values_and_files_retries_failures_and_sets_refused_batches_apart() {
    let ws = Workspace::new(&[
        "oibus_rest",
        "oibus_test_probe",
        "oibus_south_folder_scanner",
    ]);
    let (record, files) = (ws.path("received"), ws.path("posted"));
    let server = ScriptServer::start(
        "sink_server.py",
        &[
            "--record",
            &record.display().to_string(),
            "--files",
            &files.display().to_string(),
        ],
    );
    std::fs::create_dir(ws.path("in")).unwrap();
    for i in 0..5 {
        std::fs::write(
            ws.path("in").join(format!("r{i}.csv")),
            format!("report {i}\n"),
        )
        .unwrap();
    }
    ws.config(&posting(server.port, true));
    let mut engine = ws.start();
    engine.wait_until("values and files posted", Duration::from_secs(60), |e| {
        e.counter("web", "values_sent") >= 500
            && e.counter("web", "files_sent") >= 5
            && e.counter("strict", "files_sent") >= 5
            && e.counter("strict", "values_to_error") >= 100
    });
    let log = engine.log();
    engine.stop();
    ws.config(&posting(server.port, false));
    ws.drain("web");

    // Every acknowledged value reached the sink through the flaky route, each file both ways.
    let d = check_acknowledged(&ws.path("acks"), &record);
    assert!(d.acknowledged > 500, "{d:?}");
    for i in 0..5 {
        for kind in ["multipart", "raw"] {
            let path = files.join(kind).join(format!("r{i}.csv"));
            assert_eq!(
                std::fs::read_to_string(&path).unwrap_or_default(),
                format!("report {i}\n"),
                "{}",
                path.display()
            );
        }
    }
    // Failures said as they happened: retried, set apart, or late.
    for said in [
        "/flaky (",
        "HTTP 500 Internal Server Error: temporarily unavailable; sent again",
        "/reject (",
        "HTTP 400 Bad Request: bad batch (refused: set apart)",
        "/slow (",
        "no complete answer within 1000 ms; sent again",
    ] {
        assert!(log.contains(said), "{said:?} not in the log:\n{log}");
    }
}

#[test]
fn the_north_test_connection_reaches_the_server() {
    let port = free_port();
    let (code, err) = oibus_tests::test_connection(
        "oibus_rest",
        "rest-north",
        &format!(r#"{{"base_url": "http://127.0.0.1:{port}", "timeout_ms": 500}}"#),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("GET http://127.0.0.1:{port}: cannot connect")),
        "{err}"
    );
}
