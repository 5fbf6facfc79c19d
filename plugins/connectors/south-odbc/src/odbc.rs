//! The ODBC driver (odbc-api over unixODBC's driver manager, built in, or Windows' odbc32). The
//! connection and its queries run on tokio's blocking threads, one query at a time; the driver
//! applies the query time-out, and the connector stops waiting then too.

use crate::settings::OdbcSettings;
use chrono::{DateTime, NaiveDateTime};
use odbc_api::{
    Connection, ConnectionOptions, Cursor, DataType, IntoParameter, ResultSetMetadata,
    handles::Record as Diagnostic, parameter::InputParameter,
};
use oibus_plugin_api::{Timestamp, prelude::*};
use oibus_sql_common::{
    cell::{Cell, Record},
    driver::{BATCH, Bounds, Driver, QueryError, Stored},
    placeholders::{Query, Style},
    settings::{Columns, OwnedColumns},
};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::mpsc;

/// The longest text read from one field, in UTF-16 units.
pub const MAX_TEXT: usize = 1 << 20;

/// An ODBC data source.
pub struct Odbc {
    settings: OdbcSettings,
    connection: Option<Arc<Mutex<Connection<'static>>>>,
}

/// The connection string as it may be shown: any `PWD=` a user wrote into it is masked.
pub fn shown(connection_string: &str) -> String {
    connection_string
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((key, _))
                if key.trim().eq_ignore_ascii_case("pwd")
                    || key.trim().eq_ignore_ascii_case("password") =>
            {
                format!("{key}=***")
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Whole seconds, at least one, of a time-out in milliseconds.
fn seconds(ms: u64) -> u32 {
    u32::try_from(ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX)
}

/// An ODBC error with its SQLSTATE and the driver's message.
fn describe(e: &odbc_api::Error) -> String {
    match e {
        odbc_api::Error::Diagnostics { record, .. } => diagnostic(record),
        other => other.to_string(),
    }
}

fn diagnostic(record: &Diagnostic) -> String {
    let state = String::from_utf8_lossy(&record.state.0).into_owned();
    // odbc-api shows a record as "State: …, Native error: …, Message: …": the message alone.
    let shown = record.to_string();
    let message = shown
        .split_once("Message: ")
        .map_or(shown.as_str(), |(_, m)| m);
    format!("SQLSTATE {state}: {}", message.trim())
}

/// What an ODBC error means for the South: SQLSTATE class 08 is a connection gone; HYT00/HYT01
/// a time-out; class 42 (syntax, access), 07 and 22 (types, data) the item's query; the rest
/// is retried.
fn classify(e: odbc_api::Error) -> QueryError {
    let message = describe(&e);
    let state = match &e {
        odbc_api::Error::Diagnostics { record, .. } => record.state.0,
        _ => return QueryError::Other(message),
    };
    match &state[..2] {
        b"08" => QueryError::Lost(message),
        b"42" | b"07" | b"22" | b"21" => QueryError::Settings(message),
        b"HY" if &state[2..] == b"T00" || &state[2..] == b"T01" => {
            QueryError::Other(format!("{message} (query_timeout_ms)"))
        }
        _ => QueryError::Other(message),
    }
}

impl Driver for Odbc {
    type Settings = OdbcSettings;
    const STYLE: Style = Style::Odbc;

    fn new(settings: OdbcSettings, _ctx: Context) -> Self {
        Self {
            settings,
            connection: None,
        }
    }

    async fn connect(&mut self) -> Result<()> {
        let target = format!("ODBC source {}", shown(&self.settings.connection_string));
        let full = crate::driver_path::resolved(&self.settings.full_connection_string());
        let login = seconds(self.settings.connect_timeout_ms);
        let connect = tokio::task::spawn_blocking(move || {
            let environment = odbc_api::environment().map_err(|e| describe(&e))?;
            environment
                .connect_with_connection_string(
                    &full,
                    ConnectionOptions {
                        login_timeout_sec: Some(login),
                        ..ConnectionOptions::default()
                    },
                )
                .map_err(|e| describe(&e))
        });
        // The driver's login time-out, and a little more for the driver manager's own work.
        let limit =
            Duration::from_millis(self.settings.connect_timeout_ms) + Duration::from_secs(2);
        let connection = match tokio::time::timeout(limit, connect).await {
            Ok(Ok(Ok(c))) => c,
            Ok(Ok(Err(why))) => {
                return Err(PluginError::transient(format!(
                    "{target}: cannot connect: {why}"
                )));
            }
            Ok(Err(e)) => return Err(PluginError::transient(format!("{target}: {e}"))),
            Err(_) => {
                return Err(PluginError::transient(format!(
                    "{target}: no connection within {} ms (connect_timeout_ms)",
                    self.settings.connect_timeout_ms
                )));
            }
        };
        self.connection = Some(Arc::new(Mutex::new(connection)));
        tracing::info!("connected to {target}");
        Ok(())
    }

    async fn disconnect(&mut self) {
        self.connection = None;
    }

    async fn query(
        &mut self,
        query: &Query,
        bounds: Bounds,
        columns: Columns<'_>,
        out: mpsc::Sender<Vec<Record>>,
    ) -> Result<(), QueryError> {
        let Some(connection) = &self.connection else {
            return Err(QueryError::Lost("not connected".into()));
        };
        // The bounds, as the item stores instants: a number, or text the driver converts.
        let params: Vec<Stored> = query.params.iter().map(|&p| bounds.stored(p)).collect();
        let names = columns.to_owned();
        let (connection, sql) = (connection.clone(), query.sql.clone());
        let timeout_ms = self.settings.query_timeout_ms;
        let work = tokio::task::spawn_blocking(move || {
            // A query the connector stopped waiting for may still run on its thread: the next
            // one does not queue behind it.
            let connection = connection.try_lock().map_err(|_| {
                QueryError::Other("the previous query still runs on this connection".into())
            })?;
            run(
                &connection,
                &sql,
                &params,
                &names,
                &out,
                seconds(timeout_ms),
            )
        });
        let limit = Duration::from_millis(timeout_ms) + Duration::from_secs(2);
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(QueryError::Other(e.to_string())),
            Err(_) => Err(QueryError::Other(format!(
                "no answer within {timeout_ms} ms (query_timeout_ms)"
            ))),
        }
    }
}

/// Runs one query on the blocking thread, handing its rows over in batches.
fn run(
    connection: &Connection<'static>,
    sql: &str,
    params: &[Stored],
    names: &OwnedColumns,
    out: &mpsc::Sender<Vec<Record>>,
    timeout_sec: u32,
) -> Result<(), QueryError> {
    let bound: Vec<Box<dyn InputParameter>> = params
        .iter()
        .map(|p| -> Box<dyn InputParameter> {
            match p {
                Stored::Number(n) => Box::new(*n),
                Stored::Text(t) => Box::new(t.clone().into_parameter()),
            }
        })
        .collect();
    let Some(mut cursor) = connection
        .execute(sql, &bound[..], Some(timeout_sec as usize))
        .map_err(classify)?
    else {
        return Err(QueryError::Settings(
            "the query returns no rows (not a SELECT?)".into(),
        ));
    };
    let returned: Vec<String> = cursor
        .column_names()
        .map_err(classify)?
        .collect::<Result<_, _>>()
        .map_err(classify)?;
    let returned_refs: Vec<&str> = returned.iter().map(String::as_str).collect();
    let located = names
        .columns()
        .locate(&returned_refs)
        .map_err(QueryError::Settings)?;
    // Each mapped column's type, checked once: a type the connector does not read fails the
    // item with the column named, before any row.
    let mut kinds: [Option<(u16, Kind)>; 4] = [None; 4];
    for (slot, index) in kinds.iter_mut().zip(located) {
        if let Some(i) = index {
            let number = (i + 1) as u16;
            let ty = cursor.col_data_type(number).map_err(classify)?;
            *slot = Some((
                number,
                Kind::of(ty).map_err(|why| {
                    QueryError::Settings(format!("column {:?}: {why}", returned[i]))
                })?,
            ));
        }
    }
    let mut batch = Vec::new();
    let mut text = Vec::new();
    while let Some(mut row) = cursor.next_row().map_err(classify)? {
        let mut field = |slot: Option<(u16, Kind)>| -> Result<Option<Cell>, QueryError> {
            let Some((number, kind)) = slot else {
                return Ok(None);
            };
            let name = &returned[usize::from(number) - 1];
            if !row.get_wide_text(number, &mut text).map_err(classify)? {
                return Ok(Some(Cell::Null));
            }
            if text.len() > MAX_TEXT {
                return Err(QueryError::Settings(format!(
                    "column {name:?} holds more than {MAX_TEXT} characters"
                )));
            }
            let value = String::from_utf16_lossy(&text);
            kind.cell(value.trim_end_matches('\0'))
                .map(Some)
                .map_err(|why| QueryError::Settings(format!("column {name:?}: {why}")))
        };
        batch.push(Record {
            reference: field(kinds[0])?,
            value: field(kinds[1])?.unwrap_or(Cell::Null),
            point_id: field(kinds[2])?,
            quality: field(kinds[3])?,
        });
        if batch.len() == BATCH && out.blocking_send(std::mem::take(&mut batch)).is_err() {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(batch);
    }
    Ok(())
}

/// How a column's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Integers.
    Integer,
    /// Exact decimals: integers when they have no fraction.
    Decimal,
    /// Floating-point numbers.
    Float,
    /// A bit.
    Bit,
    /// Text, dates and times of day.
    Text,
    /// A timestamp without zone.
    Timestamp,
}

impl Kind {
    /// How a column of type `ty` is read, or why it is not.
    pub fn of(ty: DataType) -> Result<Self, String> {
        Ok(match ty {
            DataType::Integer | DataType::SmallInt | DataType::TinyInt | DataType::BigInt => {
                Self::Integer
            }
            DataType::Numeric { .. } | DataType::Decimal { .. } => Self::Decimal,
            DataType::Real | DataType::Float { .. } | DataType::Double => Self::Float,
            DataType::Bit => Self::Bit,
            DataType::Char { .. }
            | DataType::WChar { .. }
            | DataType::Varchar { .. }
            | DataType::WVarchar { .. }
            | DataType::LongVarchar { .. }
            | DataType::WLongVarchar { .. }
            | DataType::Date
            | DataType::Time { .. } => Self::Text,
            DataType::Timestamp { .. } => Self::Timestamp,
            DataType::Binary { .. }
            | DataType::Varbinary { .. }
            | DataType::LongVarbinary { .. } => {
                return Err("binary data, which the connector does not read".into());
            }
            other => {
                return Err(format!(
                    "the driver describes it as {other:?}, a type the connector does not read \
                     (CAST it in the query to a number, text or timestamp)"
                ));
            }
        })
    }

    /// The cell of a field's text.
    pub fn cell(self, text: &str) -> Result<Cell, String> {
        let t = text.trim();
        Ok(match self {
            Self::Integer => Cell::Int(t.parse().map_err(|_| format!("{t:?} is not an integer"))?),
            Self::Decimal => match t.parse::<i64>() {
                Ok(i) => Cell::Int(i),
                Err(_) => match t.parse::<f64>() {
                    Ok(f) if f.is_finite() => Cell::Float(f),
                    Ok(_) => Cell::OutOfRange(t.to_string()),
                    Err(_) => return Err(format!("{t:?} is not a number")),
                },
            },
            Self::Float => Cell::Float(t.parse().map_err(|_| format!("{t:?} is not a number"))?),
            Self::Bit => match t {
                "1" | "true" | "TRUE" | "True" => Cell::Bool(true),
                "0" | "false" | "FALSE" | "False" => Cell::Bool(false),
                other => return Err(format!("{other:?} is not a bit")),
            },
            Self::Text => Cell::Text(text.to_string()),
            Self::Timestamp => {
                // With an offset (PostgreSQL's timestamptz through psqlODBC, SQL Server's
                // datetimeoffset): an instant. Without: a wall-clock time of the item's zone.
                let t = t.replace('T', " ");
                let t = t.as_str();
                if let Ok(at) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z")
                    .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f %#z"))
                {
                    return Ok(Cell::Time(Timestamp::from_datetime(at.to_utc())));
                }
                let at = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|e| format!("{t:?} is not a timestamp ({e})"))?;
                Cell::WallClock(Timestamp::from_datetime(at.and_utc()))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_written_into_the_connection_string_are_not_shown() {
        assert_eq!(
            shown("Driver={PostgreSQL Unicode};Server=h;Uid=u;PWD=secret;Port=5432"),
            "Driver={PostgreSQL Unicode};Server=h;Uid=u;PWD=***;Port=5432"
        );
        assert_eq!(shown("DSN=x; password = s"), "DSN=x; password =***");
    }

    #[test]
    fn every_type_the_connector_reads_and_those_it_does_not() {
        assert_eq!(Kind::of(DataType::BigInt), Ok(Kind::Integer));
        assert_eq!(
            Kind::of(DataType::Decimal {
                precision: 10,
                scale: 2
            }),
            Ok(Kind::Decimal)
        );
        assert!(
            Kind::of(DataType::Varbinary { length: None })
                .unwrap_err()
                .contains("binary")
        );
        assert!(Kind::of(DataType::Unknown).unwrap_err().contains("CAST"));
        assert_eq!(Kind::Integer.cell(" 42 "), Ok(Cell::Int(42)));
        assert!(Kind::Integer.cell("4.2").is_err());
        assert_eq!(Kind::Decimal.cell("12.50"), Ok(Cell::Float(12.5)));
        assert_eq!(Kind::Decimal.cell("-7"), Ok(Cell::Int(-7)));
        assert_eq!(Kind::Float.cell("1e3"), Ok(Cell::Float(1000.0)));
        assert_eq!(Kind::Bit.cell("1"), Ok(Cell::Bool(true)));
        assert!(Kind::Bit.cell("2").is_err());
        assert_eq!(Kind::Text.cell("é "), Ok(Cell::Text("é ".into())));
        assert_eq!(
            Kind::Timestamp.cell("2026-12-05 10:20:30.123"),
            Ok(Cell::WallClock(
                Timestamp::parse("2026-12-05T10:20:30.123Z").unwrap()
            ))
        );
        assert!(Kind::Timestamp.cell("yesterday").is_err());
        for with_offset in [
            "2026-12-05 11:20:30.123+01",
            "2026-12-05 11:20:30.123+01:00",
            "2026-12-05 11:20:30.123 +01:00",
        ] {
            assert_eq!(
                Kind::Timestamp.cell(with_offset),
                Ok(Cell::Time(
                    Timestamp::parse("2026-12-05T10:20:30.123Z").unwrap()
                )),
                "{with_offset}"
            );
        }
    }

    #[test]
    fn timeouts_are_whole_seconds() {
        assert_eq!(seconds(1), 1);
        assert_eq!(seconds(1000), 1);
        assert_eq!(seconds(1001), 2);
    }
}
