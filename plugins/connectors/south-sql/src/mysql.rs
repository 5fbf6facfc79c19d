//! The MySQL and MariaDB driver (mysql_async: the binary protocol, prepared statements, rows
//! streamed as they come).
//!
//! Instants: the session's `time_zone` is set to UTC, so `TIMESTAMP` columns are read (and
//! compared) in UTC; `DATETIME` columns hold wall-clock times of the item's `time_zone`. Since
//! MySQL says nothing of a parameter's type, `@StartTime` and `@EndTime` are bound by the item's
//! `time_format`: `unix-s`/`unix-ms` as integers, otherwise as a `DATETIME` with microseconds in
//! the item's zone (exact against `DATETIME(6)` and, with the zone left at UTC, `TIMESTAMP(6)`
//! columns; a text column of instants is compared after `STR_TO_DATE`).

use crate::settings::{Columns, MysqlSettings, TimeFormat};
use chrono::{Datelike as _, NaiveDate, Timelike as _};
use futures_util::StreamExt as _;
use mysql_async::{
    Conn, Opts, OptsBuilder, Row, SslOpts, Statement, Value,
    consts::{ColumnFlags, ColumnType},
    prelude::Queryable as _,
};
use oibus_plugin_api::{Timestamp, prelude::*, with_causes};
use oibus_sql_common::{
    cell::{Cell, Record},
    driver::{BATCH, Bounds, Driver, QueryError},
    placeholders::{Query, Style},
};
use std::{collections::HashMap, time::Duration};
use tokio::sync::mpsc;

/// The character set number of binary strings (BLOB, BINARY, VARBINARY).
const BINARY_CHARSET: u16 = 63;

/// A connection to a MySQL or MariaDB server.
pub struct Mysql {
    settings: MysqlSettings,
    conn: Option<Conn>,
    /// Prepared statements of this connection, by SQL text.
    statements: HashMap<String, Statement>,
}

impl Mysql {
    fn target(&self) -> String {
        format!(
            "MySQL server {}:{} database {:?}",
            self.settings.host, self.settings.port, self.settings.database
        )
    }

    fn opts(&self) -> Result<Opts> {
        let s = &self.settings;
        let mut b = OptsBuilder::default()
            .ip_or_hostname(s.host.clone())
            .tcp_port(s.port)
            .db_name(Some(s.database.clone()))
            .user(Some(s.username.clone()))
            .pass(s.password.clone())
            .prefer_socket(false)
            // The driver keeps one prepared statement per item query itself: mysql_async's own
            // cache (32 by default) would close the oldest behind its back past 32 items.
            .stmt_cache_size(0)
            // TIMESTAMP columns come, and are compared, in UTC.
            .init(vec!["SET time_zone = '+00:00'"]);
        if let Some(tls) = &s.tls {
            // The files are read by tls-common first: a wrong one is named by its setting.
            tls.client_config()?;
            let mut ssl = SslOpts::default();
            if let Some(ca) = &tls.ca_file {
                ssl = ssl
                    .with_root_certs(vec![std::path::PathBuf::from(ca).into()])
                    .with_disable_built_in_roots(true);
            }
            if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
                ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(
                    std::path::PathBuf::from(cert).into(),
                    std::path::PathBuf::from(key).into(),
                )));
            }
            b = b.ssl_opts(ssl);
        }
        Ok(b.into())
    }

    fn connect_error(&self, e: &mysql_async::Error) -> PluginError {
        let target = self.target();
        let user = &self.settings.username;
        match e {
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
            mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1045 | 1698) => {
                PluginError::invalid_settings(format!(
                    "{target} refused the credentials of user {user:?} ({}): check username and \
                     password",
                    s.message
                ))
            }
            // ER_BAD_DB_ERROR
            mysql_async::Error::Server(s) if s.code == 1049 => {
                PluginError::invalid_settings(format!("{target}: the database does not exist"))
            }
            _ => PluginError::transient(format!("{target}: cannot connect: {}", with_causes(e))),
        }
    }
}

impl Driver for Mysql {
    type Settings = MysqlSettings;
    const STYLE: Style = Style::Positional;

    fn new(settings: MysqlSettings, _ctx: Context) -> Self {
        Self {
            settings,
            conn: None,
            statements: HashMap::new(),
        }
    }

    async fn connect(&mut self) -> Result<()> {
        self.disconnect().await;
        let opts = self.opts()?;
        let limit = Duration::from_millis(self.settings.connect_timeout_ms);
        let conn = match tokio::time::timeout(limit, Conn::new(opts)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(self.connect_error(&e)),
            Err(_) => {
                return Err(PluginError::transient(format!(
                    "{}: no answer within {} ms",
                    self.target(),
                    self.settings.connect_timeout_ms
                )));
            }
        };
        self.conn = Some(conn);
        tracing::info!("connected to {}", self.target());
        Ok(())
    }

    async fn disconnect(&mut self) {
        self.statements.clear();
        if let Some(conn) = self.conn.take() {
            // A polite goodbye, bounded: a server that does not answer is simply dropped.
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
        }
    }

    async fn query(
        &mut self,
        query: &Query,
        bounds: Bounds,
        columns: Columns<'_>,
        out: mpsc::Sender<Vec<Record>>,
    ) -> Result<(), QueryError> {
        let limit = Duration::from_millis(self.settings.query_timeout_ms);
        let Some(conn) = self.conn.as_mut() else {
            return Err(QueryError::Lost("not connected".into()));
        };
        let statement = match self.statements.get(&query.sql) {
            Some(s) => s.clone(),
            None => match timed(limit, conn.prep(query.sql.as_str())).await {
                Ok(s) => {
                    self.statements.insert(query.sql.clone(), s.clone());
                    s
                }
                Err(e) => {
                    // A prepare cut off by its time-out leaves its answer unread on the
                    // connection: the next query would read it. A new connection, then.
                    if !matches!(e, QueryError::Settings(_)) {
                        self.statements.clear();
                        self.conn = None;
                    }
                    return Err(e);
                }
            },
        };
        let params: Vec<Value> = query
            .params
            .iter()
            .map(|p| bind(bounds.at(*p), bounds))
            .collect::<Result<_, _>>()
            .map_err(QueryError::Settings)?;
        let names: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let [reference, value, point_id, quality] =
            columns.locate(&names).map_err(QueryError::Settings)?;
        let result = async {
            let mut result = timed(limit, conn.exec_iter(&statement, params)).await?;
            let Some(mut rows) = timed(limit, result.stream::<Row>()).await? else {
                return Ok(());
            };
            let mut batch = Vec::new();
            let mut n = 0u64;
            while let Some(row) = timed(limit, async { rows.next().await.transpose() }).await? {
                n += 1;
                let field = |i: Option<usize>| i.map(|i| read(&row, i)).transpose();
                // A cell that cannot be read names its row (number and instant) and column.
                let at_row = |e: String| {
                    let instant = match field(reference) {
                        Ok(Some(Cell::Time(t) | Cell::WallClock(t))) => format!(", reference {t}"),
                        Ok(Some(other)) => format!(", reference {other:?}"),
                        _ => String::new(),
                    };
                    QueryError::Settings(format!("row {n}{instant}: {e}"))
                };
                batch.push(Record {
                    reference: field(reference).map_err(at_row)?,
                    value: field(value).map_err(at_row)?.unwrap_or(Cell::Null),
                    point_id: field(point_id).map_err(at_row)?,
                    quality: field(quality).map_err(at_row)?,
                });
                if batch.len() == BATCH && out.send(std::mem::take(&mut batch)).await.is_err() {
                    return Ok(());
                }
            }
            if !batch.is_empty() {
                let _ = out.send(batch).await;
            }
            Ok(())
        }
        .await;
        if let Err(e) = &result {
            // After an error mid-stream the connection holds unread rows, and the statement may
            // be what failed (a table altered): both are made anew.
            let stale = self.statements.remove(&query.sql);
            if matches!(e, QueryError::Lost(_) | QueryError::Other(_)) {
                self.statements.clear();
                self.conn = None;
            } else if let (Some(stmt), Some(conn)) = (stale, self.conn.as_mut()) {
                // Statements are not cached by mysql_async: closed here, or the server keeps
                // them for the connection's life (`max_prepared_stmt_count`).
                let _ = tokio::time::timeout(limit, conn.close(stmt)).await;
            }
        }
        result
    }
}

/// Runs a call with a time-out; classifies its error.
async fn timed<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, QueryError> {
    oibus_sql_common::driver::timed(limit, call, classify).await
}

fn classify(e: &mysql_async::Error) -> QueryError {
    match e {
        mysql_async::Error::Server(s) => {
            let message = format!("{} (error {}, SQLSTATE {})", s.message, s.code, s.state);
            match s.state.get(..2) {
                // Syntax and access rules, data exceptions, unsupported features, cardinality.
                Some("42" | "22" | "0A" | "21" | "23") => QueryError::Settings(message),
                // Connection exceptions.
                Some("08") => QueryError::Lost(message),
                // ER_SERVER_SHUTDOWN, ER_QUERY_INTERRUPTED, the connection killed.
                _ if matches!(s.code, 1053 | 1317 | 1927 | 4031) => QueryError::Lost(message),
                _ => QueryError::Other(message),
            }
        }
        _ if e.is_fatal() => QueryError::Lost(with_causes(e)),
        mysql_async::Error::Io(_) => QueryError::Lost(with_causes(e)),
        _ => QueryError::Other(with_causes(e)),
    }
}

/// `at` as a parameter: an integer for `unix-s`/`unix-ms`, else a `DATETIME` with microseconds,
/// a wall-clock time of the item's zone.
fn bind(at: Timestamp, bounds: Bounds) -> Result<Value, String> {
    if matches!(bounds.format, TimeFormat::UnixS | TimeFormat::UnixMs) {
        return oibus_sql_common::cell::number_of(at, bounds.format)
            .map(Value::Int)
            .ok_or_else(|| format!("{at} has no {:?} form", bounds.format));
    }
    let wall = bounds.zone.as_wall_clock(at);
    let t = chrono::DateTime::from_timestamp_nanos(wall.as_nanos()).naive_utc();
    let year = u16::try_from(t.year()).map_err(|_| format!("{at} is before year 0"))?;
    Ok(Value::Date(
        year,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        t.nanosecond() / 1000,
    ))
}

/// A `DATETIME`/`TIMESTAMP`/`DATE` value as an instant read as if UTC.
fn instant(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> Result<Timestamp, String> {
    let t = NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
        .and_then(|date| date.and_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us))
        .ok_or_else(|| format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} is not a date"))?;
    let nanos = t
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("{t} is out of range"))?;
    Ok(Timestamp::from_nanos(nanos))
}

/// Field `i` of `row` as a cell, by its column's type.
fn read(row: &Row, i: usize) -> Result<Cell, String> {
    let column = &row.columns_ref()[i];
    let ty = column.column_type();
    let name = column.name_str();
    let unsupported = || {
        format!(
            "column {name:?} is of type {ty:?}, which the connector does not read: cast it in \
             the query (CAST(… AS DOUBLE), CAST(… AS CHAR), CAST(… AS DATETIME(6)))"
        )
    };
    let Some(value) = row.as_ref(i) else {
        return Err(format!("column {name:?}: the row has no such field"));
    };
    Ok(match value {
        Value::NULL => Cell::Null,
        Value::Int(v) => Cell::Int(*v),
        Value::UInt(v) => match i64::try_from(*v) {
            Ok(v) => Cell::Int(v),
            Err(_) => Cell::OutOfRange(v.to_string()),
        },
        Value::Float(v) => Cell::Float(oibus_plugin_api::f32_as_decimal(*v)),
        Value::Double(v) => Cell::Float(*v),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let at = instant(*y, *mo, *d, *h, *mi, *s, *us)
                .map_err(|e| format!("column {name:?}: {e}"))?;
            if ty == ColumnType::MYSQL_TYPE_TIMESTAMP || ty == ColumnType::MYSQL_TYPE_TIMESTAMP2 {
                Cell::Time(at) // the session's zone is UTC
            } else {
                Cell::WallClock(at)
            }
        }
        Value::Time(..) => return Err(unsupported()),
        Value::Bytes(bytes) => match ty {
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
                // As PostgreSQL's numeric: the closest double (a DECIMAL has at most 65
                // digits, always within a double's range).
                let text = String::from_utf8_lossy(bytes);
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Cell::Float(f),
                    _ => Cell::OutOfRange(text.into_owned()),
                }
            }
            ColumnType::MYSQL_TYPE_BIT
                if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) || bytes.len() <= 8 =>
            {
                Cell::Int(bytes.iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b)))
            }
            _ if column.character_set() == BINARY_CHARSET
                && !matches!(ty, ColumnType::MYSQL_TYPE_JSON) =>
            {
                return Err(format!(
                    "column {name:?} holds binary data ({ty:?}): convert it in the query \
                     (HEX(…), CAST(… AS CHAR))"
                ));
            }
            _ => match std::str::from_utf8(bytes) {
                Ok(text) => Cell::Text(text.to_string()),
                Err(_) => {
                    return Err(format!("column {name:?}: its text is not UTF-8"));
                }
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_sql_common::zone::Zone;

    #[test]
    fn bounds_bind_as_microsecond_datetimes_of_the_zone_or_as_numbers() {
        let at = Timestamp::parse("2024-05-01T12:00:00.123456Z").unwrap();
        let utc = Bounds {
            start: at,
            end: at,
            format: TimeFormat::Rfc3339,
            zone: Zone::default(),
        };
        assert_eq!(
            bind(at, utc).unwrap(),
            Value::Date(2024, 5, 1, 12, 0, 0, 123_456)
        );
        let paris = Bounds {
            zone: Zone::parse(Some("Europe/Paris")).unwrap(),
            ..utc
        };
        assert_eq!(
            bind(at, paris).unwrap(),
            Value::Date(2024, 5, 1, 14, 0, 0, 123_456)
        );
        let ms = Bounds {
            format: TimeFormat::UnixMs,
            ..utc
        };
        assert_eq!(bind(at, ms).unwrap(), Value::Int(1_714_564_800_123));
    }

    #[test]
    fn datetimes_read_with_their_microseconds_and_bad_ones_are_named() {
        let t = instant(2024, 5, 1, 12, 0, 0, 654_321).unwrap();
        assert_eq!(t.to_iso(), "2024-05-01T12:00:00.654321Z");
        assert!(instant(2024, 2, 30, 0, 0, 0, 0).is_err());
    }
}
