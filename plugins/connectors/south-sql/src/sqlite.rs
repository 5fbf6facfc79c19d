//! The SQLite driver (rusqlite, with SQLite built in). The file is opened read-only; queries run
//! on tokio's blocking threads and are interrupted when they outlast `query_timeout_ms`.

use crate::settings::{Columns, OwnedColumns, SqliteSettings};
use oibus_plugin_api::prelude::*;
use oibus_sql_common::{
    cell::{Cell, Record},
    driver::{BATCH, Bounds, Driver, QueryError, Stored},
    placeholders::{Query, Style},
};
use rusqlite::{Connection, ErrorCode, OpenFlags, types::Value, types::ValueRef};
use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::mpsc;

/// An open SQLite database file.
pub struct Sqlite {
    settings: SqliteSettings,
    open: Option<Open>,
}

struct Open {
    connection: Arc<Mutex<Connection>>,
}

impl Sqlite {
    fn target(&self) -> String {
        format!("SQLite file {}", self.settings.path)
    }
}

fn open(settings: &SqliteSettings) -> Result<Connection, String> {
    let path = Path::new(&settings.path);
    if !path.is_file() {
        return Err("not found (the connector opens an existing file, read-only)".into());
    }
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    c.busy_timeout(Duration::from_millis(settings.busy_timeout_ms))
        .map_err(|e| e.to_string())?;
    // Opening reads nothing: read the schema to know the file is a database.
    c.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

impl Driver for Sqlite {
    type Settings = SqliteSettings;
    const STYLE: Style = Style::Question;

    fn new(settings: SqliteSettings, _ctx: Context) -> Self {
        Self {
            settings,
            open: None,
        }
    }

    async fn connect(&mut self) -> Result<()> {
        let settings = self.settings.clone();
        let connection = tokio::task::spawn_blocking(move || open(&settings))
            .await
            .map_err(|e| PluginError::transient(e.to_string()))?
            .map_err(|e| PluginError::transient(format!("{}: {e}", self.target())))?;
        self.open = Some(Open {
            connection: Arc::new(Mutex::new(connection)),
        });
        tracing::info!("opened {}", self.target());
        Ok(())
    }

    async fn disconnect(&mut self) {
        self.open = None;
    }

    async fn query(
        &mut self,
        query: &Query,
        bounds: Bounds,
        columns: Columns<'_>,
        out: mpsc::Sender<Vec<Record>>,
    ) -> Result<(), QueryError> {
        let Some(open) = &self.open else {
            return Err(QueryError::Lost("not open".into()));
        };
        let params: Vec<Value> = query
            .params
            .iter()
            .map(|&p| match bounds.stored(p) {
                Stored::Number(n) => Value::Integer(n),
                Stored::Text(t) => Value::Text(t),
            })
            .collect();
        let (connection, sql) = (open.connection.clone(), query.sql.clone());
        let names = columns.to_owned();
        let limit = Duration::from_millis(self.settings.query_timeout_ms);
        tokio::task::spawn_blocking(move || {
            let connection = connection
                .lock()
                .map_err(|_| QueryError::Other("a previous query panicked".into()))?;
            let watchdog = Watchdog::arm(&connection, limit);
            let result = run(&connection, &sql, &params, &names, &out, &watchdog);
            connection.progress_handler(0, None::<fn() -> bool>);
            result.map_err(|e| match e {
                QueryError::Other(m) if watchdog.fired() => QueryError::Other(format!(
                    "no row within {} ms (query_timeout_ms): interrupted ({m})",
                    limit.as_millis()
                )),
                e => e,
            })
        })
        .await
        .map_err(|e| QueryError::Other(e.to_string()))?
    }
}

/// Interrupts the running statement when no row came for `limit` (SQLite asks it every
/// thousand virtual-machine instructions). The time the South takes to store a batch does not
/// count: the deadline moves on each batch handed over.
struct Watchdog {
    base: Instant,
    limit: Duration,
    deadline_ms: Arc<AtomicU64>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn arm(connection: &Connection, limit: Duration) -> Self {
        let w = Self {
            base: Instant::now(),
            limit,
            deadline_ms: Arc::new(AtomicU64::new(millis(limit))),
            fired: Arc::new(AtomicBool::new(false)),
        };
        let (base, deadline, fired) = (w.base, w.deadline_ms.clone(), w.fired.clone());
        connection.progress_handler(
            1000,
            Some(move || {
                let late = millis(base.elapsed()) > deadline.load(Ordering::Relaxed);
                if late {
                    fired.store(true, Ordering::Relaxed);
                }
                late
            }),
        );
        w
    }

    /// A batch was handed over: the next one has `limit` again.
    fn reset(&self) {
        let next = millis(self.base.elapsed() + self.limit);
        self.deadline_ms.store(next, Ordering::Relaxed);
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs one query on the blocking thread, handing its rows over in batches.
fn run(
    connection: &Connection,
    sql: &str,
    params: &[Value],
    names: &OwnedColumns,
    out: &mpsc::Sender<Vec<Record>>,
    watchdog: &Watchdog,
) -> Result<(), QueryError> {
    let mut statement = connection.prepare_cached(sql).map_err(classify)?;
    let returned: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let returned: Vec<&str> = returned.iter().map(String::as_str).collect();
    let [reference, value, point_id, quality] = names
        .columns()
        .locate(&returned)
        .map_err(QueryError::Settings)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(classify)?;
    let mut batch = Vec::new();
    while let Some(row) = rows.next().map_err(classify)? {
        let field = |i: Option<usize>| -> Result<Option<Cell>, QueryError> {
            let Some(i) = i else { return Ok(None) };
            let v = row.get_ref(i).map_err(classify)?;
            Ok(Some(match v {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Real(f) => Cell::Float(f),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => {
                    return Err(QueryError::Settings(format!(
                        "column {:?} holds a blob, which the connector does not read",
                        returned[i]
                    )));
                }
            }))
        };
        batch.push(Record {
            reference: field(reference)?,
            value: field(value)?.unwrap_or(Cell::Null),
            point_id: field(point_id)?,
            quality: field(quality)?,
        });
        if batch.len() == BATCH {
            if out.blocking_send(std::mem::take(&mut batch)).is_err() {
                return Ok(());
            }
            watchdog.reset();
        }
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(batch);
    }
    Ok(())
}

fn classify(e: rusqlite::Error) -> QueryError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => QueryError::Other(format!(
            "{e} (a writer holds the lock longer than busy_timeout_ms)"
        )),
        Some(ErrorCode::OperationInterrupted) => QueryError::Other(e.to_string()),
        Some(
            ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::NotADatabase
            | ErrorCode::DatabaseCorrupt,
        ) => QueryError::Lost(e.to_string()),
        _ => QueryError::Settings(e.to_string()),
    }
}
