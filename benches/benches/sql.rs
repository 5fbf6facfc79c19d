//! `south-sql` history throughput against a real PostgreSQL server (its own cluster), a real
//! MariaDB server (its own data folder) and a SQLite file, and `south-odbc` against the same
//! PostgreSQL server and SQLite file through their ODBC drivers (psqlODBC, SQLite3 ODBC), in the
//! same run: `cargo bench -p oibus-benches --bench sql`.
//!
//! Each database holds 500 000 rows, one a second (instant, point id, value, quality). The
//! connector (loaded from its `.so`) reads them through `history_query` in windows of 1 000 and
//! 10 000 rows, as the engine's history loop calls it, then in one window of all 500 000 rows; the
//! host accepts the values without caching them, so the figure is the connector's and the
//! database's. Peak RSS is the benchmark process's during each row (the plugin runs in it):
//! rows stream through in batches, so one huge window costs no more memory than small ones.

use oibus_plugin_api::{Item, Timestamp};
use oibus_tests::{
    AcceptAll, memory_mb,
    servers::{MariaDbServer, PostgresServer},
    standalone_connector,
};
use serde_json::{Value, json};
use std::{process::Command, sync::Arc, time::Instant};

const ROWS: i64 = 500_000;
/// 2024-01-01T00:00:00Z: row `s` is at `T0 + s seconds`.
const T0: i64 = 1_704_067_200;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let pg = PostgresServer::start();
    pg.sql(&format!(
        "CREATE TABLE measures (ts timestamptz NOT NULL, point text NOT NULL, value double precision, quality text NOT NULL);
         INSERT INTO measures SELECT to_timestamp({T0} + s), 'p' || (s % 10), s, 'good'
         FROM generate_series(0, {} ) s;
         CREATE INDEX ON measures (ts); ANALYZE measures;",
        ROWS - 1
    ))
    .unwrap();
    let maria = MariaDbServer::start();
    maria
        .sql(&format!(
            "CREATE TABLE measures (ts DATETIME(6) NOT NULL, point VARCHAR(16) NOT NULL, value DOUBLE, quality VARCHAR(16) NOT NULL, INDEX (ts));
             INSERT INTO measures SELECT TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
                    CONCAT('p', seq % 10), seq, 'good' FROM seq_0_to_{};
             ANALYZE TABLE measures;",
            ROWS - 1
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('CREATE TABLE measures (ts INTEGER, point TEXT, value REAL, quality TEXT)')
c.executemany('INSERT INTO measures VALUES (?, ?, ?, ?)',
              ((({T0} + s) * 1000, 'p' + str(s % 10), float(s), 'good') for s in range({ROWS})))
c.execute('CREATE INDEX m_ts ON measures (ts)')
c.commit()"
        ))
        .arg(&db)
        .status()
        .unwrap();
    assert!(status.success());

    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_south_sql", "oibus_south_odbc"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let query = "SELECT ts, point, value, quality FROM measures \
                 WHERE ts >= @StartTime AND ts < @EndTime ORDER BY ts";
    let cases: [(&str, &str, Value, Value); 5] = [
        (
            "PostgreSQL",
            "postgresql",
            json!({"host": "127.0.0.1", "port": pg.port, "database": "postgres",
                   "username": PostgresServer::USER, "password": PostgresServer::PASSWORD}),
            json!({"query": query, "reference_column": "ts", "value_column": "value",
                   "point_id_column": "point", "quality_column": "quality"}),
        ),
        (
            "MariaDB",
            "mysql",
            json!({"host": "127.0.0.1", "port": maria.port, "database": MariaDbServer::DATABASE,
                   "username": MariaDbServer::USER, "password": MariaDbServer::PASSWORD}),
            json!({"query": query, "reference_column": "ts", "value_column": "value",
                   "point_id_column": "point", "quality_column": "quality"}),
        ),
        (
            "SQLite",
            "sqlite",
            json!({"path": db}),
            json!({"query": query, "reference_column": "ts", "value_column": "value",
                   "point_id_column": "point", "quality_column": "quality", "time_format": "unix-ms"}),
        ),
        (
            "PostgreSQL, ODBC",
            "odbc",
            json!({"connection_string": format!(
                       "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={};Database=postgres;Uid={}",
                       pg.port, PostgresServer::USER),
                   "password": PostgresServer::PASSWORD}),
            json!({"query": query, "reference_column": "ts", "value_column": "value",
                   "point_id_column": "point", "quality_column": "quality", "time_format": "sql"}),
        ),
        (
            "SQLite, ODBC",
            "odbc",
            json!({"connection_string": format!("Driver=SQLite3;Database={}", db.display())}),
            json!({"query": query, "reference_column": "ts", "value_column": "value",
                   "point_id_column": "point", "quality_column": "quality", "time_format": "unix-ms"}),
        ),
    ];
    println!("| database         | rows per window | windows/s | values/s | peak RSS (MB) |");
    println!("|------------------|----------------:|----------:|---------:|--------------:|");
    for (label, type_id, settings, item) in cases {
        let items: Vec<Item> = vec![
            serde_json::from_value(json!({"name": "m", "scanMode": "bench", "settings": item}))
                .unwrap(),
        ];
        rt.block_on(async {
            let c = standalone_connector(
                &registry,
                ("bench", type_id),
                &settings,
                cache.path().join("state"),
                Arc::new(AcceptAll),
            );
            c.start().await.unwrap();
            for per_window in [1_000i64, 10_000, ROWS] {
                // Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) of the process.
                let _ = std::fs::write("/proc/self/clear_refs", "5");
                let began = Instant::now();
                let mut windows = 0;
                let mut start = T0;
                while start < T0 + ROWS {
                    let at = |s: i64| Timestamp::from_millis(s * 1000);
                    let newest = c
                        .history_query(items.clone(), at(start), at(start + per_window))
                        .await
                        .unwrap();
                    assert_eq!(newest, Some(at((start + per_window).min(T0 + ROWS) - 1)));
                    start += per_window;
                    windows += 1;
                }
                let secs = began.elapsed().as_secs_f64();
                println!(
                    "| {label:<16} | {per_window:>15} | {:>9.0} | {:>8.0} | {:>13.0} |",
                    windows as f64 / secs,
                    ROWS as f64 / secs,
                    memory_mb("VmHWM")
                );
            }
            c.stop().await.unwrap();
        });
    }
}
