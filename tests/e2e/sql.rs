//! `south-sql` through the engine: against a real PostgreSQL server (its own cluster, started by
//! the test) and a SQLite file.

use oibus_plugin_api::{DataValue, OibusValue, Quality};
use oibus_tests::{
    api::Api,
    process::{EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_values},
    servers::{PostgresServer, TestPki},
};
use serde_json::json;
use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
    time::Duration,
};

const PAST_ROWS: i64 = 600;

fn postgres_config(port: u16) -> String {
    format!(
        r#"
{FAST_RECONNECT}
{EVERY_SECOND}
[[south]]
id = "db"
type = "postgresql"
query = "history"
settings = {{ host = "127.0.0.1", port = {port}, database = "postgres", username = "{user}", password = "{password}", connect_timeout_ms = 1000, query_timeout_ms = 5000 }}
history = {{ start = "15m", max_read_interval = "2m", read_delay = "0s", overlap = "3s" }}
items = [
  {{ name = "measures", scan_mode = "every-second", settings = {{ query = "SELECT ts, point, value, quality FROM measures WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts", reference_column = "ts", value_column = "value", point_id_column = "point", quality_column = "quality" }} }},
]
{RECORDING_NORTH}"#,
        user = PostgresServer::USER,
        password = PostgresServer::PASSWORD,
    )
}

/// Received values by (point, value as an integer).
fn received(ws: &Workspace) -> BTreeMap<(String, i64), OibusValue> {
    recorded_values(&ws.path("received"))
        .into_iter()
        .map(|v| {
            let DataValue::Float(x) = v.value else {
                panic!("values are double precision: {v:?}");
            };
            ((v.point_id.to_string(), x as i64), v)
        })
        .collect()
}

fn missing(ws: &Workspace, expected: &BTreeSet<(String, i64)>) -> Vec<(String, i64)> {
    let got = received(ws);
    expected
        .iter()
        .filter(|k| !got.contains_key(*k))
        .cloned()
        .collect()
}

#[test]
fn history_is_read_through_the_engine_and_nothing_committed_is_lost_across_a_server_restart() {
    let mut pg = PostgresServer::start();
    // Ten minutes of history: one row a second, alternating between two points; row 7 is bad.
    pg.sql(&format!(
        "CREATE TABLE measures (ts timestamptz NOT NULL, point text NOT NULL, value double precision, quality text NOT NULL);
         INSERT INTO measures SELECT now() - make_interval(secs => s), 'past.' || (s % 2), s,
                CASE WHEN s = 7 THEN 'bad' ELSE 'good' END
         FROM generate_series(1, {PAST_ROWS}) s;"
    ))
    .unwrap();
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&postgres_config(pg.port));
    let mut engine = ws.start();
    let past: BTreeSet<(String, i64)> = (1..=PAST_ROWS)
        .map(|s| (format!("past.{}", s % 2), s))
        .collect();
    engine.wait_until("the history to arrive", Duration::from_secs(60), |_| {
        missing(&ws, &past).is_empty()
    });
    let got = received(&ws);
    assert_eq!(got[&("past.1".to_string(), 7)].quality, Quality::Bad);
    assert_eq!(got[&("past.0".to_string(), 8)].quality, Quality::Good);

    // Rows keep being committed while the server stops and starts again: every committed row
    // arrives (the history overlap covers rows committed just after a window was read).
    let mut committed = BTreeSet::new();
    let insert = |pg: &PostgresServer, n: i64, committed: &mut BTreeSet<(String, i64)>| {
        if pg
            .sql(&format!(
                "INSERT INTO measures VALUES (clock_timestamp(), 'live', {n}, 'good')"
            ))
            .is_ok()
        {
            committed.insert(("live".to_string(), n));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for n in 0..30 {
        insert(&pg, n, &mut committed);
    }
    pg.stop();
    engine.wait_disconnected("db");
    std::thread::sleep(Duration::from_secs(1));
    pg.restart();
    for n in 30..60 {
        insert(&pg, n, &mut committed);
    }
    assert_eq!(
        committed.len(),
        60,
        "every insert commits while the server runs"
    );
    engine.wait_until(
        "every committed row to arrive",
        Duration::from_secs(60),
        |e| missing(&ws, &committed).is_empty() && e.counter("db", "connects") >= 2,
    );
    let log = engine.log();
    assert!(log.contains("connection lost"), "{log}");
    assert!(
        !log.contains(PostgresServer::PASSWORD),
        "the password is never logged"
    );
    engine.stop();
}

#[test]
fn test_connection_refuses_wrong_credentials_clearly() {
    let pg = PostgresServer::start();
    oibus_tests::assert_credentials_are_checked(
        "oibus_south_sql",
        "postgresql",
        PostgresServer::PASSWORD,
        |password| {
            format!(
                r#"{{"host": "127.0.0.1", "port": {}, "database": "postgres", "username": "{}", "password": "{password}"}}"#,
                pg.port,
                PostgresServer::USER
            )
        },
    );
}

#[test]
fn bad_item_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&postgres_config(oibus_tests::servers::free_port()).replace(
        r#"quality_column = "quality""#,
        r#"quality_column = "quality", time_format = "iso""#,
    ));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"south "db" items[0] "measures" settings.time_format"#)
            && out.contains("iso"),
        "{out}"
    );
}

#[test]
fn a_sqlite_file_with_epoch_milliseconds_is_read_through_the_engine() {
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    let db = ws.path("historian.db");
    // Python's sqlite3 module writes the file: an independent SQLite writer.
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute('CREATE TABLE samples (t INTEGER, tag TEXT, v REAL)')
now = int(time.time() * 1000)
c.executemany('INSERT INTO samples VALUES (?, ?, ?)',
              [(now - 1000 * s, 'tag' + str(s % 3), float(s)) for s in range(1, 301)])
c.commit()",
        )
        .arg(&db)
        .status()
        .expect("python3");
    assert!(status.success());
    ws.config(&format!(
        r#"
{EVERY_SECOND}
[[south]]
id = "file"
type = "sqlite"
query = "history"
settings = {{ path = "{}" }}
history = {{ start = "10m", max_read_interval = "1m", read_delay = "0s" }}
items = [
  {{ name = "samples", scan_mode = "every-second", settings = {{ query = "SELECT t, tag, v FROM samples WHERE t > @StartTime AND t <= @EndTime", reference_column = "t", value_column = "v", point_id_column = "tag", time_format = "unix-ms" }} }},
]
{RECORDING_NORTH}"#,
        db.display()
    ));
    let mut engine = ws.start();
    let expected: BTreeSet<(String, i64)> =
        (1..=300).map(|s| (format!("tag{}", s % 3), s)).collect();
    engine.wait_until("the rows to arrive", Duration::from_secs(60), |_| {
        missing(&ws, &expected).is_empty()
    });
    engine.stop();
    assert_eq!(
        recorded_values(&ws.path("received")).len(),
        300,
        "each row once"
    );
}

#[test]
fn a_server_that_requires_tls_is_reached_with_a_verified_certificate() {
    let pki = TestPki::generate();
    let pg = PostgresServer::start_tls(&pki);
    let test = |tls: &str| {
        oibus_tests::test_connection(
            "oibus_south_sql",
            "postgresql",
            &format!(
                r#"{{"host": "127.0.0.1", "port": {}, "database": "postgres", "username": "{}", "password": "{}"{tls}}}"#,
                pg.port,
                PostgresServer::USER,
                PostgresServer::PASSWORD
            ),
        )
    };
    let (code, err) = test(&format!(
        r#", "tls": {{"ca_file": "{}"}}"#,
        pki.path("ca.pem")
    ));
    assert_eq!(code, Some(0), "{err}");
    // Not encrypted: the server's pg_hba.conf refuses, and the error says where to look.
    let (code, err) = test("");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("pg_hba.conf") && err.contains("`tls`"),
        "{err}"
    );
    // A certificate from another authority is not trusted.
    let (code, err) = test(&format!(
        r#", "tls": {{"ca_file": "{}"}}"#,
        pki.path("other-ca.pem")
    ));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
}

#[test]
fn a_table_altered_under_a_running_connector_is_read_again() {
    let pg = PostgresServer::start();
    pg.sql(
        "CREATE TABLE measures (ts timestamptz NOT NULL, point text NOT NULL, value double precision, quality text NOT NULL);
         INSERT INTO measures VALUES (now(), 'tank', 1, 'good');",
    )
    .unwrap();
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(
        &postgres_config(pg.port)
            .replace(r#"query = "history""#, r#"query = "last-point""#)
            .replace(
                "WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts",
                "ORDER BY ts DESC LIMIT 1",
            ),
    );
    let mut engine = ws.start();
    let has = |ws: &Workspace, n: i64| received(ws).contains_key(&("tank".to_string(), n));
    engine.wait_until("the first row", Duration::from_secs(30), |_| has(&ws, 1));
    // The DBA changes the column's type: the connector's prepared statement no longer fits.
    pg.sql(
        "ALTER TABLE measures ALTER COLUMN value TYPE numeric;
         INSERT INTO measures VALUES (now(), 'tank', 2, 'good');",
    )
    .unwrap();
    engine.wait_until(
        "the row written after the change",
        Duration::from_secs(30),
        |_| has(&ws, 2),
    );
    engine.stop();
}

#[test]
fn a_bad_cell_or_a_nan_never_makes_the_other_items_repeat_and_local_times_are_placed_right() {
    let pg = PostgresServer::start();
    // Three items over the same minutes: "good" (plain floats, local wall-clock times in
    // Paris, `timestamp without time zone`), "nan" (a numeric NaN and infinities between good
    // rows), "broken" (an interval column the connector cannot read, not cast).
    pg.sql(
        "CREATE TABLE good (ts timestamp NOT NULL, value double precision);
         INSERT INTO good SELECT (now() AT TIME ZONE 'Europe/Paris') - make_interval(secs => s), s
         FROM generate_series(1, 5) s;
         CREATE TABLE odd (ts timestamptz NOT NULL, value numeric);
         INSERT INTO odd VALUES (now() - interval '5 s', 1), (now() - interval '4 s', 'NaN'),
           (now() - interval '3 s', 'Infinity'), (now() - interval '2 s', 2);
         CREATE TABLE broken (ts timestamptz NOT NULL, value interval);
         INSERT INTO broken VALUES (now() - interval '3 s', interval '1 hour');",
    )
    .unwrap();
    let item = |name: &str, table: &str, extra: &str| {
        format!(
            r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ query = "SELECT ts, value FROM {table} WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts", reference_column = "ts", value_column = "value"{extra} }} }}"#
        )
    };
    let config = postgres_config(pg.port).replace(
        &postgres_config(pg.port)
            .lines()
            .skip_while(|l| !l.starts_with("items = ["))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n"),
        &format!(
            "items = [\n  {},\n  {},\n  {},\n]",
            item("good", "good", ", time_zone = \"Europe/Paris\""),
            item("nan", "odd", ""),
            item("broken", "broken", "")
        ),
    );
    // No overlap: a row is read again only by the isolation of a failing window, and the engine
    // does not send it twice.
    let config = config.replace(r#"overlap = "3s""#, r#"overlap = "0s""#);
    assert!(
        config.contains("Europe/Paris") && config.contains("overlap = \"0s\""),
        "{config}"
    );
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&config);
    let mut engine = ws.start();
    engine.wait_until("the broken item reported", Duration::from_secs(30), |e| {
        e.connector("db")
            .is_some_and(|c| c["failed_items"]["broken"].is_string())
    });
    // Several ticks more: the items that work must not be read again.
    std::thread::sleep(Duration::from_secs(4));
    let db = engine.connector("db").unwrap();
    let data = ws.data();
    let (code, text, err) = oibus_tests::run_oibus(&["status", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("item \"broken\" fails: "), "{text}");
    engine.stop();
    let reason = db["failed_items"]["broken"].as_str().unwrap();
    assert!(
        reason.contains("\"value\"") && reason.contains("interval") && reason.contains("row 1"),
        "{reason}"
    );
    let values = recorded_values(&ws.path("received"));
    let of = |p: &str| -> Vec<&OibusValue> {
        values.iter().filter(|v| v.point_id.as_str() == p).collect()
    };
    // Each row once, although the first window is read again item by item when "broken" first
    // fails in the same group.
    assert_eq!(of("good").len(), 5, "{values:?}");
    let good: BTreeSet<i64> = of("good")
        .iter()
        .map(|v| match v.value {
            DataValue::Float(f) => f as i64,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(good, (1..=5).collect());
    // The local times were placed in Paris: within seconds of now, not hours off.
    let now = oibus_plugin_api::Timestamp::now().as_millis();
    for v in of("good") {
        let age_s = (now - v.timestamp.as_millis()) / 1000;
        assert!((0..60).contains(&age_s), "{v:?} is {age_s} s old");
    }
    let nan = of("nan");
    assert_eq!(nan.len(), 4, "{nan:?}");
    let qualities: Vec<(String, Quality)> = nan
        .iter()
        .take(4)
        .map(|v| (format!("{:?}", v.value), v.quality))
        .collect();
    assert_eq!(
        qualities,
        [
            ("Float(1.0)".to_string(), Quality::Good),
            ("Null".to_string(), Quality::Bad),
            ("Null".to_string(), Quality::Bad),
            ("Float(2.0)".to_string(), Quality::Good),
        ]
    );
    assert!(of("broken").is_empty());
    // Two non-finite cells; 9 readable rows, each once; the 9 read again item by item skipped.
    assert_eq!(db["counters"]["values_not_finite"], 2, "{db}");
    assert_eq!(db["counters"]["values_in"], 9, "{db}");
    assert_eq!(db["counters"]["history_repeats_skipped"], 9, "{db}");
}

#[test]
fn an_item_is_tested_through_the_admin_api_and_none_of_its_rows_is_sent() {
    let pg = PostgresServer::start();
    pg.sql(
        "CREATE TABLE tested (ts timestamptz NOT NULL, point text NOT NULL, value double precision);
         INSERT INTO tested SELECT now() - make_interval(secs => s), 'p' || (s % 2), s
         FROM generate_series(1, 30) s;
         INSERT INTO tested VALUES (now() - interval '3 hours', 'old', -1);",
    )
    .unwrap();
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&format!("{FAST_RECONNECT}\n{RECORDING_NORTH}"));
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let settings = json!({
        "host": "127.0.0.1", "port": pg.port, "database": "postgres",
        "username": PostgresServer::USER, "password": PostgresServer::PASSWORD,
    });
    let item = |query: &str, extra: serde_json::Value| {
        let mut s = json!({"query": query, "reference_column": "ts", "value_column": "value", "point_id_column": "point"});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"name": "tested", "settings": s})
    };
    let query =
        "SELECT ts, point, value FROM tested WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts";
    let (code, answer) = api.post(
        "/api/south/test-item",
        &json!({"type": "postgresql", "settings": settings, "item": item(query, json!({}))}),
    );
    assert_eq!(code, 200, "{answer}");
    let values = answer["values"].as_array().unwrap();
    // The last hour: the 30 recent rows, not the one of three hours ago.
    assert_eq!(values.len(), 30, "{answer}");
    assert!(
        values
            .iter()
            .all(|v| v["pointId"] == "p0" || v["pointId"] == "p1"),
        "{answer}"
    );
    let sum: f64 = values
        .iter()
        .map(|v| v["data"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, (1..=30).sum::<i32>() as f64);

    // Item settings that do not fit the schema: 400 with the pointer of the field.
    let (code, answer) = api.post(
        "/api/south/test-item",
        &json!({"type": "postgresql", "settings": settings, "item": item(query, json!({"time_format": "iso"}))}),
    );
    assert_eq!(code, 400, "{answer}");
    assert_eq!(
        answer["problems"][0]["pointer"], "/item/settings/time_format",
        "{answer}"
    );
    // A query the server refuses: 422 naming the item and the server's reason.
    let (code, answer) = api.post(
        "/api/south/test-item",
        &json!({"type": "postgresql", "settings": settings, "item": item("SELECT ts, point, nope FROM tested", json!({}))}),
    );
    assert_eq!(code, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("\"tested\"") && error.contains("nope"),
        "{error}"
    );
    // A North type is not tested as a South.
    let (code, answer) = api.post(
        "/api/south/test-item",
        &json!({"type": "probe-north", "settings": {}, "item": {"name": "x"}}),
    );
    assert_eq!(code, 400, "{answer}");
    // Nothing of the tests reached a North.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(engine.counter("rec", "values_in"), 0);
    engine.stop();
    assert!(recorded_values(&ws.path("received")).is_empty());
}

/// A South `db` reading `items` (TOML item tables) every second, with `history` (TOML keys).
fn items_config(port: u16, history: &str, items: &[String]) -> String {
    format!(
        "{FAST_RECONNECT}\n{EVERY_SECOND}\n[[south]]\nid = \"db\"\ntype = \"postgresql\"\nquery = \"history\"\nsettings = {{ host = \"127.0.0.1\", port = {port}, database = \"postgres\", username = \"{}\", password = \"{}\", connect_timeout_ms = 1000, query_timeout_ms = 10000 }}\nhistory = {{ {history} }}\nitems = [\n  {}\n]\n{RECORDING_NORTH}",
        PostgresServer::USER,
        PostgresServer::PASSWORD,
        items.join(",\n  ")
    )
}

/// An item reading `SELECT ts, value FROM <table>` over each window.
fn table_item(name: &str, table: &str) -> String {
    format!(
        r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ query = "SELECT ts, value FROM {table} WHERE ts >= @StartTime AND ts < @EndTime ORDER BY ts", reference_column = "ts", value_column = "value" }} }}"#
    )
}

#[test]
fn a_numeric_no_float_holds_is_data_and_a_row_committed_late_arrives_once() {
    let pg = PostgresServer::start();
    // "big": numerics a float holds, one it does not (1.5e400) and one rust_decimal does not
    // (1e30); "small" (real) is read in the same group.
    pg.sql(
        "CREATE TABLE big (ts timestamptz NOT NULL, value numeric);
         INSERT INTO big VALUES (now() - interval '5 s', 12.34), (now() - interval '4 s', 1e30),
           (now() - interval '3 s', 'NaN'), (now() - interval '2 s', 15e399),
           (now() - interval '1 s', 2);
         CREATE TABLE small (ts timestamptz NOT NULL, value real);
         INSERT INTO small VALUES (now() - interval '5 s', 1.5), (now() - interval '4 s', 2.5);",
    )
    .unwrap();
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    // The default overlap.
    ws.config(&items_config(
        pg.port,
        r#"start = "1m", read_delay = "0s""#,
        &[table_item("big", "big"), table_item("small", "small")],
    ));
    let of = |p: &str| -> Vec<OibusValue> {
        recorded_values(&ws.path("received"))
            .into_iter()
            .filter(|v| v.point_id.as_str() == p)
            .collect()
    };
    let mut engine = ws.start();
    engine.wait_until("the rows", Duration::from_secs(30), |_| {
        of("big").len() >= 5 && of("small").len() >= 2
    });
    // A writer whose transaction stays open 4 s: its row carries the instant the transaction
    // began, committed after windows up to 4 s later were read.
    pg.sql("INSERT INTO small VALUES (now(), 3.5); SELECT pg_sleep(4);")
        .unwrap();
    engine.wait_until("the late row", Duration::from_secs(30), |_| {
        of("small").len() >= 3
    });
    // It stays inside the overlap 6 s more, read again at every tick.
    std::thread::sleep(Duration::from_secs(7));
    let db = engine.connector("db").unwrap();
    assert!(
        db["counters"]["history_repeats_skipped"].as_u64() >= Some(3),
        "{db}"
    );
    engine.stop();
    let big: Vec<(String, Quality)> = of("big")
        .iter()
        .map(|v| (format!("{:?}", v.value), v.quality))
        .collect();
    assert_eq!(
        big,
        [
            ("Float(12.34)".to_string(), Quality::Good),
            ("Float(1e30)".to_string(), Quality::Good),
            ("Null".to_string(), Quality::Bad),
            ("Text(\"1.5e400\")".to_string(), Quality::Uncertain),
            ("Float(2.0)".to_string(), Quality::Good),
        ],
        "{db}"
    );
    let small: Vec<String> = of("small")
        .iter()
        .map(|v| format!("{:?}", v.value))
        .collect();
    assert_eq!(small, ["Float(1.5)", "Float(2.5)", "Float(3.5)"], "{db}");
    assert!(
        db["failed_items"].as_object().is_none_or(|f| f.is_empty()),
        "{db}"
    );
}
