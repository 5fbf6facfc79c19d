//! The PostgreSQL driver (tokio-postgres).

use crate::settings::{Columns, PostgresSettings};
use futures_util::{FutureExt as _, StreamExt as _};
use oibus_plugin_api::{Timestamp, prelude::*, with_causes};
use oibus_sql_common::{
    cell::{self, Cell, Record},
    driver::{BATCH, Bounds, Driver, QueryError},
    placeholders::{Query, Style},
};
use rust_decimal::Decimal;
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::mpsc,
};
use tokio_postgres::{
    Client, Connection, NoTls, Row, Statement,
    config::SslMode,
    error::SqlState,
    types::{ToSql, Type},
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connection to a PostgreSQL server.
pub struct Postgres {
    settings: PostgresSettings,
    ctx: Context,
    client: Option<Client>,
    /// Set when we close the connection ourselves, so that its end is not reported as a loss.
    closing: Arc<AtomicBool>,
    /// Prepared statements of this connection, by SQL text.
    statements: HashMap<String, Statement>,
}

impl Postgres {
    fn target(&self) -> String {
        format!(
            "PostgreSQL server {}:{} database {:?}",
            self.settings.host, self.settings.port, self.settings.database
        )
    }

    fn config(&self) -> tokio_postgres::Config {
        let s = &self.settings;
        let mut c = tokio_postgres::Config::new();
        c.host(&s.host)
            .port(s.port)
            .dbname(&s.database)
            .user(&s.username)
            .application_name("oibus")
            .connect_timeout(Duration::from_millis(s.connect_timeout_ms));
        if let Some(p) = &s.password {
            c.password(p);
        }
        c
    }

    fn connect_error(&self, e: &tokio_postgres::Error) -> PluginError {
        let target = self.target();
        let user = &self.settings.username;
        let refusal = e.as_db_error().map(|d| d.message().to_string());
        match e.code() {
            Some(code)
                if code.code().starts_with("28")
                    && refusal
                        .as_deref()
                        .is_some_and(|m| m.contains("pg_hba.conf")) =>
            {
                PluginError::invalid_settings(format!(
                    "{target} refused the connection ({}): its pg_hba.conf admits no such user, address or encryption (see `tls`)",
                    refusal.unwrap_or_default()
                ))
            }
            Some(code) if code.code().starts_with("28") => PluginError::invalid_settings(format!(
                "{target} refused the credentials of user {user:?} ({}): check username and password",
                e.as_db_error()
                    .map_or(String::new(), |d| d.message().to_string())
            )),
            Some(&SqlState::INVALID_CATALOG_NAME) => {
                PluginError::invalid_settings(format!("{target}: the database does not exist"))
            }
            _ if with_causes(e).contains("password missing") => PluginError::invalid_settings(
                format!("{target} asks user {user:?} for a password, and none is set"),
            ),
            _ => PluginError::transient(format!("{target}: cannot connect: {}", with_causes(e))),
        }
    }
}

impl Postgres {
    /// Waits for a connection attempt, within `connect_timeout_ms`.
    async fn opened<T>(
        &self,
        attempt: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let limit = Duration::from_millis(self.settings.connect_timeout_ms);
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(opened)) => Ok(opened),
            Ok(Err(e)) => Err(self.connect_error(&e)),
            Err(_) => Err(PluginError::transient(format!(
                "{}: no answer within {} ms",
                self.target(),
                self.settings.connect_timeout_ms
            ))),
        }
    }

    /// Runs the connection's I/O in the background; its end, unless we closed it, is reported
    /// to the engine as a lost connection.
    fn watch<S, T>(&mut self, connection: Connection<S, T>) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let closing = Arc::new(AtomicBool::new(false));
        self.closing = closing.clone();
        let (ctx, target) = (self.ctx.clone(), self.target());
        self.ctx.spawn(async move {
            let end = connection.await;
            if !closing.load(Ordering::Acquire) {
                let why = end.err().map_or("closed".to_string(), |e| with_causes(&e));
                ctx.connection_lost(format!("{target}: connection lost: {why}"));
            }
        })?;
        Ok(())
    }
}

impl Driver for Postgres {
    type Settings = PostgresSettings;
    const STYLE: Style = Style::Dollar;

    fn new(settings: PostgresSettings, ctx: Context) -> Self {
        Self {
            settings,
            ctx,
            client: None,
            closing: Arc::new(AtomicBool::new(false)),
            statements: HashMap::new(),
        }
    }

    async fn connect(&mut self) -> Result<()> {
        self.disconnect().await;
        let mut config = self.config();
        let client = match &self.settings.tls {
            None => {
                let (client, connection) = self.opened(config.connect(NoTls)).await?;
                self.watch(connection)?;
                client
            }
            Some(tls) => {
                config.ssl_mode(SslMode::Require);
                let tls = MakeRustlsConnect::new(Arc::unwrap_or_clone(tls.client_config()?));
                let (client, connection) = self.opened(config.connect(tls)).await?;
                self.watch(connection)?;
                client
            }
        };
        self.client = Some(client);
        tracing::info!("connected to {}", self.target());
        Ok(())
    }

    async fn disconnect(&mut self) {
        self.closing.store(true, Ordering::Release);
        self.statements.clear();
        self.client = None;
    }

    async fn query(
        &mut self,
        query: &Query,
        bounds: Bounds,
        columns: Columns<'_>,
        out: mpsc::Sender<Vec<Record>>,
    ) -> Result<(), QueryError> {
        let client = match &self.client {
            Some(c) if !c.is_closed() => c,
            _ => return Err(QueryError::Lost("not connected".into())),
        };
        let limit = Duration::from_millis(self.settings.query_timeout_ms);
        let statement = match self.statements.get(&query.sql) {
            Some(s) => s.clone(),
            None => {
                let s = timed(limit, client.prepare(&query.sql)).await?;
                self.statements.insert(query.sql.clone(), s.clone());
                s
            }
        };
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        for (param, ty) in query.params.iter().zip(statement.params()) {
            params.push(
                bind(bounds.at(*param), ty, bounds)
                    .map_err(|e| QueryError::Settings(format!("{}: {e}", param.placeholder())))?,
            );
        }
        let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
        let [reference, value, point_id, quality] =
            columns.locate(&names).map_err(QueryError::Settings)?;
        let field = |row: &Row, i: Option<usize>| i.map(|i| read(row, i)).transpose();
        let run = async {
            let rows = timed(limit, client.query_raw(&statement, params)).await?;
            let mut rows = std::pin::pin!(rows);
            let mut batch = Vec::new();
            let mut n = 0u64;
            while let Some(row) = timed(limit, rows.next().map(Option::transpose)).await? {
                n += 1;
                // A cell that cannot be read names its row (number and instant) and column.
                let at_row = |e: String| {
                    let instant = match field(&row, reference) {
                        Ok(Some(Cell::Time(t))) => format!(", reference {t}"),
                        Ok(Some(other)) => format!(", reference {other:?}"),
                        _ => String::new(),
                    };
                    QueryError::Settings(format!("row {n}{instant}: {e}"))
                };
                batch.push(Record {
                    reference: field(&row, reference).map_err(at_row)?,
                    value: field(&row, value).map_err(at_row)?.unwrap_or(Cell::Null),
                    point_id: field(&row, point_id).map_err(at_row)?,
                    quality: field(&row, quality).map_err(at_row)?,
                });
                if batch.len() == BATCH && out.send(std::mem::take(&mut batch)).await.is_err() {
                    return Ok(());
                }
            }
            if !batch.is_empty() {
                let _ = out.send(batch).await;
            }
            Ok(())
        };
        let result = run.await;
        if result.is_err() {
            // The prepared statement may be what failed: after an ALTER TABLE, the server
            // refuses it ("cached plan must not change result type"). Prepare it again next time.
            self.statements.remove(&query.sql);
        }
        result
    }
}

/// Runs a call with a time-out; classifies its error.
async fn timed<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, QueryError> {
    oibus_sql_common::driver::timed(limit, call, classify).await
}

fn classify(e: &tokio_postgres::Error) -> QueryError {
    if e.is_closed() {
        return QueryError::Lost(with_causes(e));
    }
    let Some(db) = e.as_db_error() else {
        return QueryError::Lost(with_causes(e));
    };
    let mut message = db.message().to_string();
    if let Some(hint) = db.hint() {
        message.push_str(&format!(" (hint: {hint})"));
    }
    match &db.code().code()[..2] {
        // Syntax and access rules, data exceptions, unsupported features, cardinality.
        "42" | "22" | "0A" | "21" => QueryError::Settings(message),
        // Connection exceptions, operator intervention (server shutting down).
        "08" | "57" => QueryError::Lost(message),
        _ => QueryError::Other(message),
    }
}

/// `at` as a parameter of the type the server expects.
fn bind(at: Timestamp, ty: &Type, bounds: Bounds) -> Result<Box<dyn ToSql + Sync + Send>, String> {
    let number = || {
        cell::number_of(at, bounds.format).ok_or_else(|| {
            format!("compared with a {ty} column: set time_format to \"unix-s\" or \"unix-ms\"")
        })
    };
    Ok(match *ty {
        Type::TIMESTAMPTZ => Box::new(system_time(at)),
        // A zone-less column holds wall-clock times of the item's time_zone.
        Type::TIMESTAMP => Box::new(system_time(bounds.zone.as_wall_clock(at))),
        Type::INT8 => Box::new(number()?),
        Type::INT4 => Box::new(i32::try_from(number()?).map_err(|e| e.to_string())?),
        Type::FLOAT8 => Box::new(number()? as f64),
        Type::NUMERIC => Box::new(Decimal::from(number()?)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => {
            Box::new(cell::text_of(at, bounds.format, bounds.zone))
        }
        _ => {
            return Err(format!(
                "the server expects a {ty}: cast the placeholder (for example `@StartTime::timestamptz`)"
            ));
        }
    })
}

fn system_time(at: Timestamp) -> SystemTime {
    let n = at.as_nanos();
    if n >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(n.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
    }
}

fn timestamp(t: SystemTime) -> Timestamp {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => Timestamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        Err(e) => {
            Timestamp::from_nanos(-i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX))
        }
    }
}

/// A `numeric`, whatever its size (see [`crate::numeric`]).
struct Numeric(crate::numeric::Numeric);

impl<'a> tokio_postgres::types::FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(crate::numeric::decode(raw)?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// Field `i` of `row` as a cell.
fn read(row: &Row, i: usize) -> Result<Cell, String> {
    let column = &row.columns()[i];
    let ty = column.type_();
    let get = |e: tokio_postgres::Error| {
        format!(
            "column {:?} ({ty}): cannot be read: {}",
            column.name(),
            with_causes(&e)
        )
    };
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Cell) -> Cell {
        v.map_or(Cell::Null, f)
    }
    Ok(match *ty {
        Type::BOOL => opt(row.try_get(i).map_err(get)?, Cell::Bool),
        Type::INT2 => opt(row.try_get::<_, Option<i16>>(i).map_err(get)?, |v| {
            Cell::Int(v.into())
        }),
        Type::INT4 => opt(row.try_get::<_, Option<i32>>(i).map_err(get)?, |v| {
            Cell::Int(v.into())
        }),
        Type::INT8 => opt(row.try_get(i).map_err(get)?, Cell::Int),
        Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i).map_err(get)?, |v| {
            Cell::Float(oibus_plugin_api::f32_as_decimal(v))
        }),
        Type::FLOAT8 => opt(row.try_get(i).map_err(get)?, Cell::Float),
        Type::NUMERIC => opt(
            row.try_get::<_, Option<Numeric>>(i).map_err(get)?,
            |v| match v.0 {
                crate::numeric::Numeric::Float(f) => Cell::Float(f),
                crate::numeric::Numeric::OutOfRange(text) => Cell::OutOfRange(text),
            },
        ),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            opt(row.try_get(i).map_err(get)?, Cell::Text)
        }
        Type::TIMESTAMPTZ => opt(row.try_get(i).map_err(get)?, |t| Cell::Time(timestamp(t))),
        Type::TIMESTAMP => opt(row.try_get(i).map_err(get)?, |t| {
            Cell::WallClock(timestamp(t))
        }),
        _ => {
            return Err(format!(
                "column {:?} is of type {ty}, which the connector does not read: cast it in the query (::float8, ::text, ::timestamptz)",
                column.name()
            ));
        }
    })
}
