//! The South against SQLite files (the PostgreSQL side runs against a real server in
//! `tests/e2e/sql.rs`).

use crate::{ItemSettings, SqliteSettings, SqliteSouth, TimeFormat};
use oibus_plugin_api::{ErrorKind, prelude::*, sdk::testing::TestHost};
use rusqlite::Connection;
use std::path::Path;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A database with one table per storage form of instants, each holding minutes 0..10 of
/// 2024-05-01 12:00 UTC for points `a` and `b`.
fn database(dir: &Path) -> String {
    let path = dir.join("plant.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE rfc (ts TEXT, point TEXT, value REAL, quality TEXT);
         CREATE TABLE sqlfmt (ts TEXT, point TEXT, value REAL, quality TEXT);
         CREATE TABLE epoch (ts INTEGER, point TEXT, value REAL, quality TEXT);",
    )
    .unwrap();
    for minute in 0..10 {
        let at = ts("2024-05-01T12:00:00Z") + std::time::Duration::from_secs(60 * minute);
        for (point, value) in [("a", minute as f64), ("b", -(minute as f64))] {
            let quality = if minute == 5 { "bad" } else { "good" };
            let rfc = at
                .to_datetime()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            let sql = at.to_datetime().format("%Y-%m-%d %H:%M:%S").to_string();
            c.execute(
                "INSERT INTO rfc VALUES (?1, ?2, ?3, ?4)",
                (rfc, point, value, quality),
            )
            .unwrap();
            c.execute(
                "INSERT INTO sqlfmt VALUES (?1, ?2, ?3, ?4)",
                (sql, point, value, quality),
            )
            .unwrap();
            c.execute(
                "INSERT INTO epoch VALUES (?1, ?2, ?3, ?4)",
                (at.as_millis(), point, value, quality),
            )
            .unwrap();
        }
    }
    path.display().to_string()
}

fn item(name: &str, table: &str, format: TimeFormat) -> SouthItem<ItemSettings> {
    SouthItem {
        name: name.into(),
        enabled: true,
        scan_mode: "every-minute".into(),
        settings: ItemSettings {
            query: format!(
                "SELECT ts, point, value, quality FROM {table} \
                 WHERE ts > @StartTime AND ts <= @EndTime ORDER BY ts"
            ),
            reference_column: Some("ts".into()),
            value_column: "value".into(),
            point_id_column: Some("point".into()),
            quality_column: Some("quality".into()),
            time_format: format,
            time_zone: None,
        },
    }
}

fn south(
    db: &str,
    state: &Path,
) -> (
    SqliteSouth,
    std::sync::Arc<oibus_plugin_api::sdk::testing::Recorded>,
) {
    let (ctx, rec) = TestHost::new(state).context("historian");
    let settings = SqliteSettings {
        path: db.into(),
        busy_timeout_ms: 1000,
        query_timeout_ms: 5000,
    };
    (SqliteSouth::new(settings, ctx).unwrap(), rec)
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn history_windows_read_each_row_once_whatever_the_storage_form() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    for (table, format) in [
        ("rfc", TimeFormat::Rfc3339),
        ("sqlfmt", TimeFormat::Sql),
        ("epoch", TimeFormat::UnixMs),
    ] {
        let (mut s, rec) = south(&db, dir.path());
        s.connect().await.unwrap();
        let items = [item("x", table, format)];
        // Three windows covering 11:59:30 .. 12:09:30: minutes 0..9, each once.
        let edges = [
            "2024-05-01T11:59:30Z",
            "2024-05-01T12:03:00Z",
            "2024-05-01T12:07:00Z",
            "2024-05-01T12:09:30Z",
        ];
        let mut newest = Vec::new();
        for w in edges.windows(2) {
            newest.push(s.history_query(&items, ts(w[0]), ts(w[1])).await.unwrap());
        }
        assert_eq!(
            newest,
            [
                Some(ts("2024-05-01T12:03:00Z")),
                Some(ts("2024-05-01T12:07:00Z")),
                Some(ts("2024-05-01T12:09:00Z"))
            ],
            "{table}"
        );
        let values = rec.values();
        assert_eq!(values.len(), 20, "{table}: {values:?}");
        let a: Vec<_> = values
            .iter()
            .filter(|v| v.point_id.as_str() == "a")
            .collect();
        for (minute, v) in a.iter().enumerate() {
            assert_eq!(v.value, DataValue::Float(minute as f64), "{table}");
            let at =
                ts("2024-05-01T12:00:00Z") + std::time::Duration::from_secs(60 * minute as u64);
            assert_eq!(v.timestamp, at, "{table}");
            let bad = minute == 5;
            assert_eq!(
                v.quality,
                if bad { Quality::Bad } else { Quality::Good },
                "{table}"
            );
        }
        s.disconnect().await.unwrap();
    }
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn zone_less_times_are_read_and_bound_in_the_items_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (mut s, rec) = south(&db, dir.path());
    s.connect().await.unwrap();
    // The table holds 12:00..12:09 as text without an offset: Paris time, UTC+2 in May.
    let mut it = item("x", "sqlfmt", TimeFormat::Sql);
    it.settings.time_zone = Some("Europe/Paris".into());
    let newest = s
        .history_query(
            &[it.clone()],
            ts("2024-05-01T09:59:30Z"),
            ts("2024-05-01T10:09:30Z"),
        )
        .await
        .unwrap();
    assert_eq!(newest, Some(ts("2024-05-01T10:09:00Z")));
    let values = rec.values();
    assert_eq!(values.len(), 20, "{values:?}");
    assert_eq!(values[0].timestamp, ts("2024-05-01T10:00:00Z"));
    // A zone that does not exist is named.
    it.settings.time_zone = Some("Europe/Pariss".into());
    let e = s
        .history_query(
            &[it],
            ts("2024-05-01T09:59:30Z"),
            ts("2024-05-01T10:09:30Z"),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("time_zone \"Europe/Pariss\""), "{e}");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn last_point_scans_read_only_new_rows_and_remember_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let mut it = item("x", "rfc", TimeFormat::Rfc3339);
    it.settings.point_id_column = None;
    it.settings.quality_column = None;
    it.settings.query =
        "SELECT ts, value FROM rfc WHERE point = 'a' AND ts > @StartTime ORDER BY ts".into();
    let items = [it];
    let state = dir.path().join("state");
    {
        let (mut s, rec) = south(&db, &state);
        // A connector started "now" reads nothing of the past at its first scan.
        s.connect().await.unwrap();
        s.last_point_query(&items).await.unwrap();
        assert!(rec.values().is_empty());
    }
    // Rows newer than the start arrive: the next scans read each once.
    let writer = Connection::open(&db).unwrap();
    let later = |s: u64| {
        (Timestamp::now() + std::time::Duration::from_secs(s))
            .to_datetime()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    writer
        .execute(
            "INSERT INTO rfc VALUES (?1, 'a', 100.0, 'good')",
            [later(60)],
        )
        .unwrap();
    let (mut s, rec) = south(&db, &state);
    s.connect().await.unwrap();
    s.last_point_query(&items).await.unwrap();
    s.last_point_query(&items).await.unwrap();
    assert_eq!(rec.values().len(), 1);
    assert_eq!(rec.values()[0].value, DataValue::Float(100.0));
    drop(s);
    // After a restart, the newest instant read is the start: nothing is read twice.
    writer
        .execute(
            "INSERT INTO rfc VALUES (?1, 'a', 101.0, 'good')",
            [later(120)],
        )
        .unwrap();
    let (mut s, rec) = south(&db, &state);
    s.connect().await.unwrap();
    s.last_point_query(&items).await.unwrap();
    let got: Vec<_> = rec.values().into_iter().map(|v| v.value).collect();
    assert_eq!(got, [DataValue::Float(101.0)]);
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn wrong_queries_and_columns_are_named_with_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (mut s, rec) = south(&db, dir.path());
    s.connect().await.unwrap();
    let window = (ts("2024-05-01T11:00:00Z"), ts("2024-05-01T13:00:00Z"));

    let mut no_table = item("no-table", "missing", TimeFormat::Rfc3339);
    no_table.settings.query = no_table.settings.query.replace("missing", "nope");
    let e = s
        .history_query(&[no_table], window.0, window.1)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::INVALID_SETTINGS);
    assert!(
        e.message().contains("item \"no-table\"") && e.message().contains("no such table: nope"),
        "{e}"
    );

    let mut no_column = item("no-column", "rfc", TimeFormat::Rfc3339);
    no_column.settings.value_column = "val".into();
    let e = s
        .history_query(&[no_column], window.0, window.1)
        .await
        .unwrap_err();
    assert!(
        e.message().contains("item \"no-column\": the query returns no column \"val\" (it returns ts, point, value, quality)"),
        "{e}"
    );

    let mut unbounded = item("unbounded", "rfc", TimeFormat::Rfc3339);
    unbounded.settings.query = "SELECT ts, point, value, quality FROM rfc".into();
    let e = s
        .history_query(&[unbounded], window.0, window.1)
        .await
        .unwrap_err();
    assert!(
        e.message().contains("must use @StartTime and @EndTime"),
        "{e}"
    );

    // Numbers read as instants need a numeric time_format; the row is named.
    let mut epoch = item("epoch-as-text", "epoch", TimeFormat::Rfc3339);
    epoch.settings.query = "SELECT * FROM epoch".into();
    let e = s.last_point_query(&[epoch]).await.unwrap_err();
    assert!(
        e.message()
            .contains("item \"epoch-as-text\", row 1: reference column"),
        "{e}"
    );

    // A last-point scan still reads the good items next to a bad one.
    let mut good = item("good", "rfc", TimeFormat::Rfc3339);
    good.settings.query =
        "SELECT ts, point, value, quality FROM rfc WHERE point = 'b' ORDER BY ts DESC LIMIT 1"
            .into();
    let mut bad = good.clone();
    bad.name = "bad".into();
    bad.settings.query = "SELEC 1".into();
    let e = s.last_point_query(&[bad, good]).await.unwrap_err();
    assert!(e.message().contains("item \"bad\""), "{e}");
    assert_eq!(rec.values().len(), 1);
    assert_eq!(rec.values()[0].value, DataValue::Float(-9.0));
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = south(
        &dir.path().join("nope.db").display().to_string(),
        dir.path(),
    );
    let e = s.test_connection().await.unwrap_err();
    assert!(e.message().contains("nope.db: not found"), "{e}");
    std::fs::write(
        dir.path().join("text.db"),
        "not a database, just text".repeat(100),
    )
    .unwrap();
    let (mut s, _) = south(
        &dir.path().join("text.db").display().to_string(),
        dir.path(),
    );
    let e = s.test_connection().await.unwrap_err();
    assert!(
        e.message().contains("text.db: file is not a database"),
        "{e}"
    );
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn large_results_arrive_whole_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let c = Connection::open(&path).unwrap();
    // 25 000 rows: two full batches and a partial one.
    c.execute_batch(
        "CREATE TABLE t (ts INTEGER, v REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
         INSERT INTO t SELECT 1714564800000 + i, i FROM n;",
    )
    .unwrap();
    let (mut s, rec) = south(&path.display().to_string(), dir.path());
    s.connect().await.unwrap();
    let mut it = item("x", "t", TimeFormat::UnixMs);
    it.settings.query = "SELECT ts, v FROM t WHERE ts > @StartTime AND ts <= @EndTime".into();
    it.settings.point_id_column = None;
    it.settings.quality_column = None;
    it.settings.value_column = "v".into();
    let newest = s
        .history_query(
            &[it],
            ts("2024-05-01T00:00:00Z"),
            ts("2024-05-02T00:00:00Z"),
        )
        .await
        .unwrap();
    let values = rec.values();
    assert_eq!(values.len(), 25_000);
    assert_eq!(values[24_999].value, DataValue::Float(25_000.0));
    assert_eq!(
        newest,
        Some(Timestamp::from_millis(1_714_564_800_000 + 25_000))
    );
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn a_query_that_yields_no_row_in_time_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (ctx, _) = TestHost::new(dir.path()).context("slow");
    let settings = SqliteSettings {
        path: db,
        busy_timeout_ms: 1000,
        query_timeout_ms: 200,
    };
    let mut s = SqliteSouth::new(settings, ctx).unwrap();
    s.connect().await.unwrap();
    let mut it = item("slow", "rfc", TimeFormat::Rfc3339);
    // Counts to a billion before its one row.
    it.settings.query = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) \
                         SELECT max(i) AS value, 'x' AS point, 'good' AS quality, '2024-05-01T12:00:00Z' AS ts FROM n"
        .into();
    let began = std::time::Instant::now();
    let e = s.last_point_query(&[it]).await.unwrap_err();
    assert!(e.message().contains("no row within 200 ms"), "{e}");
    assert!(
        began.elapsed() < std::time::Duration::from_secs(5),
        "interrupted, not run to the end"
    );
    // The connection still works.
    let mut ok = item("ok", "rfc", TimeFormat::Rfc3339);
    ok.settings.query = "SELECT ts, point, value, quality FROM rfc LIMIT 1".into();
    s.last_point_query(&[ok]).await.unwrap();
}
