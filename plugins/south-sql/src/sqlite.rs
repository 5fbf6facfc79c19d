//! The SQLite driver (rusqlite, with SQLite built in). The file is opened read-only; queries run
//! on tokio's blocking threads and are interrupted when they outlast `query_timeout_ms`.

use crate::{
    cell::{self, Cell, Record},
    driver::{Bounds, Driver, QueryError},
    placeholders::{Query, Style},
    settings::{Columns, SqliteSettings},
};
use oibus_plugin_api::prelude::*;
use rusqlite::{Connection, ErrorCode, InterruptHandle, OpenFlags, types::Value, types::ValueRef};
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

/// An open SQLite database file.
pub struct Sqlite {
    settings: SqliteSettings,
    open: Option<Open>,
}

struct Open {
    connection: Arc<Mutex<Connection>>,
    interrupt: Arc<InterruptHandle>,
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
        let interrupt = Arc::new(connection.get_interrupt_handle());
        self.open = Some(Open {
            connection: Arc::new(Mutex::new(connection)),
            interrupt,
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
    ) -> Result<Vec<Record>, QueryError> {
        let Some(open) = &self.open else {
            return Err(QueryError::Lost("not open".into()));
        };
        let params: Vec<Value> = query
            .params
            .iter()
            .map(|&p| match cell::number_of(bounds.at(p), bounds.format) {
                Some(n) => Value::Integer(n),
                None => Value::Text(cell::text_of(bounds.at(p), bounds.format)),
            })
            .collect();
        let (connection, sql) = (open.connection.clone(), query.sql.clone());
        let names = [
            columns.reference.map(str::to_string),
            Some(columns.value.to_string()),
            columns.point_id.map(str::to_string),
            columns.quality.map(str::to_string),
        ];
        let run = tokio::task::spawn_blocking(move || {
            let connection = connection
                .lock()
                .map_err(|_| QueryError::Other("a previous query panicked".into()))?;
            run(&connection, &sql, &params, &names)
        });
        let limit = Duration::from_millis(self.settings.query_timeout_ms);
        let joined = match tokio::time::timeout(limit, run).await {
            Ok(joined) => joined,
            Err(_) => {
                open.interrupt.interrupt();
                return Err(QueryError::Other(format!(
                    "no answer within {} ms (query_timeout_ms): interrupted",
                    limit.as_millis()
                )));
            }
        };
        joined.map_err(|e| QueryError::Other(e.to_string()))?
    }
}

/// Runs one query on the blocking thread.
fn run(
    connection: &Connection,
    sql: &str,
    params: &[Value],
    names: &[Option<String>; 4],
) -> Result<Vec<Record>, QueryError> {
    let mut statement = connection.prepare_cached(sql).map_err(classify)?;
    let returned: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let returned: Vec<&str> = returned.iter().map(String::as_str).collect();
    let columns = Columns {
        reference: names[0].as_deref(),
        value: names[1].as_deref().unwrap_or_default(),
        point_id: names[2].as_deref(),
        quality: names[3].as_deref(),
    };
    let [reference, value, point_id, quality] =
        columns.locate(&returned).map_err(QueryError::Settings)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(classify)?;
    let mut out = Vec::new();
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
        out.push(Record {
            reference: field(reference)?,
            value: field(value)?.unwrap_or(Cell::Null),
            point_id: field(point_id)?,
            quality: field(quality)?,
        });
    }
    Ok(out)
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
