//! `south-odbc` through the engine, against drivers written by others from Debian: the SQLite3
//! ODBC driver (libsqliteodbc) on a file Python's sqlite3 module writes, and psqlODBC
//! (odbc-postgresql) against a PostgreSQL server of the test's own.

use oibus_plugin_api::DataValue;
use oibus_tests::{
    process::{EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_values},
    servers::PostgresServer,
};
use std::{collections::BTreeSet, process::Command, time::Duration};

/// A South `db` of type `odbc` reading history with `settings` and `items`.
fn config(settings: &str, items: &[String]) -> String {
    format!(
        "{FAST_RECONNECT}{EVERY_SECOND}[[south]]\nid = \"db\"\ntype = \"odbc\"\nquery = \"history\"\nsettings = {{ {settings} }}\nhistory = {{ start = \"10m\", max_read_interval = \"2m\", read_delay = \"0s\" }}\nitems = [\n  {}\n]\n{RECORDING_NORTH}",
        items.join(",\n  ")
    )
}

fn item(name: &str, settings: &str) -> String {
    format!(r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ {settings} }} }}"#)
}

/// The (point, second) of every value received, and how many values came.
fn received(ws: &Workspace) -> (BTreeSet<(String, i64)>, usize) {
    let values = recorded_values(&ws.path("received"));
    let keys = values
        .iter()
        .map(|v| {
            let DataValue::Float(x) = v.value else {
                panic!("values are REAL / double precision: {v:?}");
            };
            (v.point_id.to_string(), x as i64)
        })
        .collect();
    (keys, values.len())
}

#[test]
fn a_sqlite_file_through_its_odbc_driver_gives_every_row_once() {
    let ws = Workspace::new(&["oibus_south_odbc", "oibus_test_probe"]);
    let db = ws.path("historian.db");
    // 300 rows of the last five minutes, one a second, with a TIMESTAMP declared in UTC.
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, datetime
c = sqlite3.connect(sys.argv[1])
c.execute('CREATE TABLE samples (ts TIMESTAMP, tag TEXT, v REAL)')
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
rows = [((now - datetime.timedelta(seconds=s)).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3],
         'tag' + str(s % 3), float(s)) for s in range(1, 301)]
c.executemany('INSERT INTO samples VALUES (?, ?, ?)', rows)
c.commit()",
        )
        .arg(&db)
        .status()
        .expect("python3");
    assert!(status.success());
    let query =
        "SELECT ts, tag, v FROM samples WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts";
    ws.config(&config(
        &format!(r#"connection_string = "Driver=SQLite3;Database={}""#, db.display()),
        &[
            item(
                "samples",
                &format!(r#"query = "{query}", reference_column = "ts", value_column = "v", point_id_column = "tag", time_format = "sql""#),
            ),
        ],
    ));
    let mut engine = ws.start();
    let expected: BTreeSet<(String, i64)> =
        (1..=300).map(|s| (format!("tag{}", s % 3), s)).collect();
    engine.wait_until("the rows to arrive", Duration::from_secs(60), |_| {
        received(&ws).0 == expected
    });
    let log = engine.log();
    engine.stop();
    assert_eq!(received(&ws).1, 300, "each row once");
    assert!(
        log.contains("connected to ODBC source Driver=SQLite3;Database="),
        "{log}"
    );
}

#[test]
fn postgresql_through_psqlodbc_reads_history_names_an_unknown_type_and_survives_a_restart() {
    let mut pg = PostgresServer::start();
    pg.sql(
        "CREATE TABLE measures (ts timestamp, point text, value double precision, id uuid);
         INSERT INTO measures SELECT (now() AT TIME ZONE 'UTC') - s * interval '1 second', 'p' || (s % 2), s,
                                     '00000000-0000-0000-0000-000000000001'
         FROM generate_series(1, 300) AS s;",
    )
    .expect("the table");
    let ws = Workspace::new(&["oibus_south_odbc", "oibus_test_probe"]);
    let connection = format!(
        r#"connection_string = "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={};Database=postgres;Uid={}", password = "{}", connect_timeout_ms = 2000"#,
        pg.port,
        PostgresServer::USER,
        PostgresServer::PASSWORD
    );
    ws.config(&config(
        &connection,
        &[
            item(
                "measures",
                r#"query = "SELECT ts, point, value FROM measures WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts", reference_column = "ts", value_column = "value", point_id_column = "point", time_format = "sql""#,
            ),
        ],
    ));
    let mut engine = ws.start();
    let expected: BTreeSet<(String, i64)> = (1..=300).map(|s| (format!("p{}", s % 2), s)).collect();
    engine.wait_until("the rows to arrive", Duration::from_secs(60), |_| {
        received(&ws).0 == expected
    });
    assert_eq!(received(&ws).1, 300, "each row once");

    // The server goes away and comes back: the connection is made again, and new rows arrive.
    pg.stop();
    engine.wait_disconnected("db");
    pg.restart();
    pg.sql(
        "INSERT INTO measures VALUES ((now() AT TIME ZONE 'UTC') + interval '2 seconds', 'p9', 1000, \
         '00000000-0000-0000-0000-000000000002');",
    )
    .expect("a new row");
    engine.wait_until("the new row", Duration::from_secs(60), |_| {
        received(&ws).0.contains(&("p9".to_string(), 1000))
    });
    let db = engine.connector("db").unwrap();
    let log = engine.log();
    engine.stop();
    assert!(log.contains("connection lost"), "{log}");
    // The password is never shown.
    assert!(
        !log.contains(PostgresServer::PASSWORD),
        "the password is in the log"
    );
    assert!(db["counters"]["connects"].as_u64() >= Some(2), "{db}");

    // A uuid is not a type the connector reads: the item test names the column (a CAST in the
    // query reads it as text).
    let settings = format!(
        r#"{{"connection_string": "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={};Database=postgres;Uid={}", "password": "{}"}}"#,
        pg.port,
        PostgresServer::USER,
        PostgresServer::PASSWORD
    );
    let test = |query: &str| {
        oibus_tests::test_item(
            "oibus_south_odbc",
            "odbc",
            &settings,
            &format!(
                r#"{{"name": "id", "settings": {{"query": "{query}", "value_column": "id"}}}}"#
            ),
            &[],
        )
    };
    let (code, out, err) = test("SELECT id FROM measures LIMIT 1");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("column \"id\": the driver describes it as"),
        "{err}"
    );
    let (code, out, err) = test("SELECT CAST(id AS text) AS id FROM measures WHERE point = 'p9'");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("00000000-0000-0000-0000-000000000002"),
        "{out}"
    );
}

#[test]
fn a_driver_that_is_not_installed_is_named_by_the_connection_test() {
    let (code, err) = oibus_tests::test_connection(
        "oibus_south_odbc",
        "odbc",
        r#"{"connection_string": "Driver={No Such Driver};Server=x", "password": "s3cret"}"#,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("ODBC source Driver={No Such Driver};Server=x: cannot connect: SQLSTATE"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}
