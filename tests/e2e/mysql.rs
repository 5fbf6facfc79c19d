//! `south-sql`'s `mysql` type through the engine, against Debian's MariaDB server started by the
//! test (its own data folder, a free port): history windows read every row once with its
//! microseconds, wall-clock columns placed by the item's zone, a column the connector cannot
//! read named as an item error while the others go on, the server restarted, and credentials
//! refused clearly.

use oibus_plugin_api::{DataValue, OibusValue, Timestamp};
use oibus_tests::{
    process::{EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_values},
    servers::MariaDbServer,
    test_connection,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

/// Rows of history, one a second before now.
const PAST: i64 = 300;

fn config(port: u16) -> String {
    let settings = format!(
        "{{ host = \"127.0.0.1\", port = {port}, database = \"{db}\", username = \"{user}\", \
         password = \"{password}\", connect_timeout_ms = 1000, query_timeout_ms = 5000 }}",
        db = MariaDbServer::DATABASE,
        user = MariaDbServer::USER,
        password = MariaDbServer::PASSWORD,
    );
    format!(
        r#"
{FAST_RECONNECT}
{EVERY_SECOND}
[[south]]
id = "db"
type = "mysql"
query = "history"
settings = {settings}
history = {{ start = "15m", max_read_interval = "2m", read_delay = "0s", overlap = "3s" }}
items = [
  {{ name = "measures", scan_mode = "every-second", settings = {{ query = "SELECT ts, point, value FROM measures WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts", reference_column = "ts", value_column = "value", point_id_column = "point" }} }},
  {{ name = "wall", scan_mode = "every-second", settings = {{ query = "SELECT ts, CONCAT('wall.', s) AS point, s FROM wall WHERE ts > @StartTime AND ts <= @EndTime", reference_column = "ts", value_column = "s", point_id_column = "point", time_zone = "Etc/GMT-3" }} }},
  {{ name = "durations", scan_mode = "every-second", settings = {{ query = "SELECT ts, d FROM durations WHERE ts > @StartTime AND ts <= @EndTime", reference_column = "ts", value_column = "d" }} }},
]
{RECORDING_NORTH}"#
    )
}

/// Every received value by (point, value as an integer), and how many times each came.
fn received(ws: &Workspace) -> (BTreeMap<(String, i64), OibusValue>, usize) {
    let all = recorded_values(&ws.path("received"));
    let n = all.len();
    let map = all
        .into_iter()
        .map(|v| {
            let x = match v.value {
                DataValue::Float(x) => x as i64,
                DataValue::Int(i) => i,
                ref other => panic!("a number was expected: {other:?}"),
            };
            ((v.point_id.to_string(), x), v)
        })
        .collect::<BTreeMap<_, _>>();
    (map, n)
}

#[test]
fn history_arrives_once_with_its_microseconds_and_zones_across_a_server_restart() {
    let mut db = MariaDbServer::start();
    // Five minutes of history, a row a second, with microseconds; the same instants as
    // wall-clock times three hours ahead (the zone Etc/GMT-3); a TIME column the connector does
    // not read.
    db.sql(&format!(
        "CREATE TABLE measures (ts DATETIME(6) NOT NULL, point VARCHAR(64) NOT NULL, value DOUBLE);
         INSERT INTO measures SELECT UTC_TIMESTAMP(6) - INTERVAL seq SECOND + INTERVAL seq MICROSECOND,
                CONCAT('past.', seq % 2), seq FROM seq_1_to_{PAST};
         CREATE TABLE wall (ts DATETIME(6) NOT NULL, s INT NOT NULL);
         INSERT INTO wall SELECT ts + INTERVAL 3 HOUR, value FROM measures;
         CREATE TABLE durations (ts DATETIME(6) NOT NULL, d TIME);
         INSERT INTO durations VALUES (UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE, '01:02:03');"
    ))
    .unwrap();
    // The stored instants, to the microsecond, as the server prints them.
    let stored: BTreeMap<i64, String> = db
        .query("SELECT value, DATE_FORMAT(ts, '%Y-%m-%dT%H:%i:%s.%fZ') FROM measures")
        .unwrap()
        .lines()
        .map(|l| {
            let (v, t) = l.split_once('\t').unwrap();
            (v.parse().unwrap(), t.to_string())
        })
        .collect();
    assert_eq!(stored.len() as i64, PAST);

    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&config(db.port));
    let mut engine = ws.start();
    let past: BTreeSet<(String, i64)> = (1..=PAST)
        .flat_map(|s| [(format!("past.{}", s % 2), s), (format!("wall.{s}"), s)])
        .collect();
    engine.wait_until("the history to arrive", Duration::from_secs(90), |_| {
        let (got, _) = received(&ws);
        past.iter().all(|k| got.contains_key(k))
    });
    let (got, _) = received(&ws);
    for s in 1..=PAST {
        let measured = &got[&(format!("past.{}", s % 2), s)];
        assert_eq!(
            measured.timestamp,
            Timestamp::parse(&stored[&s]).unwrap(),
            "row {s}: the instant to the microsecond (stored {})",
            stored[&s]
        );
        assert_eq!(
            got[&(format!("wall.{s}"), s)].timestamp,
            measured.timestamp,
            "row {s}: a wall-clock time of Etc/GMT-3 is three hours before UTC"
        );
    }
    // The TIME column is the item's error, named; the other items were read all along.
    engine.wait_until("the item error", Duration::from_secs(30), |e| {
        e.log().contains("\"d\"") && e.log().contains("does not read")
    });

    // Rows committed while the server stops and starts again all arrive, each once.
    let mut committed = BTreeSet::new();
    let insert = |db: &MariaDbServer, n: i64, committed: &mut BTreeSet<(String, i64)>| {
        if db
            .sql(&format!(
                "INSERT INTO measures VALUES (UTC_TIMESTAMP(6), 'live', {n})"
            ))
            .is_ok()
        {
            committed.insert(("live".to_string(), n));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for n in 0..20 {
        insert(&db, n, &mut committed);
    }
    db.stop();
    engine.wait_disconnected("db");
    db.restart();
    for n in 20..40 {
        insert(&db, n, &mut committed);
    }
    assert_eq!(
        committed.len(),
        40,
        "every insert commits while the server runs"
    );
    engine.wait_until(
        "every committed row to arrive",
        Duration::from_secs(60),
        |e| {
            let (got, _) = received(&ws);
            committed.iter().all(|k| got.contains_key(k)) && e.counter("db", "connects") >= 2
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    let (got, n) = received(&ws);
    assert_eq!(n, got.len(), "a row arrived twice");
    let log = engine.log();
    assert!(
        !log.contains(MariaDbServer::PASSWORD),
        "the password is never logged"
    );
    engine.stop();
}

#[test]
fn test_connection_names_wrong_credentials_and_a_missing_database() {
    let db = MariaDbServer::start();
    let settings = |user: &str, password: &str, database: &str| {
        format!(
            r#"{{"host": "127.0.0.1", "port": {}, "database": "{database}", "username": "{user}", "password": "{password}", "connect_timeout_ms": 2000}}"#,
            db.port
        )
    };
    let (code, err) = test_connection(
        "oibus_south_sql",
        "mysql",
        &settings(MariaDbServer::USER, "wrong", MariaDbServer::DATABASE),
    );
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains("refused the credentials of user \"oibus\""),
        "{err}"
    );
    assert!(
        !err.contains("wrong\""),
        "the password is never shown: {err}"
    );
    let (code, err) = test_connection(
        "oibus_south_sql",
        "mysql",
        &settings(MariaDbServer::USER, MariaDbServer::PASSWORD, "nowhere"),
    );
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("database") && err.contains("nowhere"), "{err}");
    let (code, err) = test_connection(
        "oibus_south_sql",
        "mysql",
        &settings(
            MariaDbServer::USER,
            MariaDbServer::PASSWORD,
            MariaDbServer::DATABASE,
        ),
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn forty_items_each_with_its_own_query_are_read_in_every_window() {
    // mysql_async's statement cache holds 32: past it, it closed statements the driver still
    // kept ("Unknown prepared statement handler"), so every window after the first failed and
    // the connector reconnected (15 connections for 15 windows).
    let db = MariaDbServer::start();
    db.sql(
        "CREATE TABLE t (ts DATETIME(6) NOT NULL, v DOUBLE NOT NULL);
         INSERT INTO t SELECT UTC_TIMESTAMP(6) - INTERVAL (seq * 5) SECOND, seq FROM seq_1_to_120;",
    )
    .unwrap();
    let items: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "{{ name = \"item.{i}\", scan_mode = \"every-second\", settings = {{ query = \
                 \"SELECT ts, v + {i} AS v FROM t WHERE ts > @StartTime AND ts <= @EndTime\", \
                 reference_column = \"ts\", value_column = \"v\" }} }}"
            )
        })
        .collect();
    let ws = Workspace::new(&["oibus_south_sql", "oibus_test_probe"]);
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}[[south]]\nid = \"db\"\ntype = \"mysql\"\nquery = \
         \"history\"\nsettings = {{ host = \"127.0.0.1\", port = {port}, database = \"{db}\", \
         username = \"{user}\", password = \"{password}\" }}\nhistory = {{ start = \"15m\", \
         max_read_interval = \"1m\", read_delay = \"0s\", overlap = \"0s\" }}\nitems = [\n{}\n]\n\
         {RECORDING_NORTH}",
        items.join(",\n"),
        port = db.port,
        db = MariaDbServer::DATABASE,
        user = MariaDbServer::USER,
        password = MariaDbServer::PASSWORD,
    ));
    let mut engine = ws.start();
    engine.wait_until("every row of every item", Duration::from_secs(120), |_| {
        recorded_values(&ws.path("received")).len() >= 40 * 120
    });
    let mut per_item: BTreeMap<String, usize> = BTreeMap::new();
    for v in recorded_values(&ws.path("received")) {
        *per_item.entry(v.point_id.to_string()).or_default() += 1;
    }
    assert_eq!(per_item.len(), 40, "{per_item:?}");
    assert!(per_item.values().all(|n| *n == 120), "{per_item:?}");
    // Read on one connection, never dropped for a failed window.
    assert_eq!(engine.counter("db", "connects"), 1, "{}", engine.log());
    assert_eq!(engine.counter("db", "run_failures"), 0, "{}", engine.log());
    engine.stop();
}
