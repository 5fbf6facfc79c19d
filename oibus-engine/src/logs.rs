//! The engine's recent log records, in a bounded ring in memory, for the admin API
//! (`GET /api/logs`, its live stream) and the console: a `tracing` layer that the binary installs
//! beside the terminal output keeps each record with the connector of its span. A leaf: it uses
//! nothing of the engine, and the engine does not use it.

use oibus_plugin_api::Timestamp;
use serde::{Deserialize, Serialize};
use std::{
    collections::VecDeque,
    fmt::Write as _,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};
use tokio::sync::broadcast;
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

/// Records kept by default (`engine.log_records`).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One log record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogRecord {
    /// Its number, counting from 1 at the engine's start: a client that follows the log asks
    /// for the records after the last one it has.
    pub seq: u64,
    /// When it was logged.
    pub time: Timestamp,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The module that logged it (`oibus::plugin` for a plugin's records).
    pub target: String,
    /// The connector whose span it was logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// `south` or `north`, with `connector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The message, then its fields as `key=value`.
    pub message: String,
}

/// Which records a reader wants.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    /// Only those of the connectors whose id contains this text (letter case ignored), as the
    /// overview's filter matches.
    #[serde(default)]
    pub connector: Option<String>,
    /// Only those at least this severe (`error`, `warn`, `info`, `debug`, `trace`).
    #[serde(default)]
    pub level: Option<String>,
    /// Only those logged at or after this instant (RFC 3339).
    #[serde(default)]
    pub since: Option<Timestamp>,
    /// Only those after this record number.
    #[serde(default)]
    pub after: Option<u64>,
    /// Only those whose message or target contains this text (letter case ignored).
    #[serde(default)]
    pub text: Option<String>,
    /// At most this many, the newest (default 500).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The most records one query returns.
pub const MOST: usize = 10_000;

fn severity(level: &str) -> Option<u8> {
    Some(match level.to_ascii_lowercase().as_str() {
        "error" => 1,
        "warn" | "warning" => 2,
        "info" => 3,
        "debug" => 4,
        "trace" => 5,
        _ => return None,
    })
}

impl Filter {
    /// Checks the filter's own values: an unknown level is named.
    pub fn check(&self) -> Result<(), String> {
        match &self.level {
            Some(l) if severity(l).is_none() => Err(format!(
                "level {l:?} is not one of error, warn, info, debug, trace"
            )),
            _ => Ok(()),
        }
    }

    /// Whether `r` passes.
    pub fn matches(&self, r: &LogRecord) -> bool {
        let level_ok = match self.level.as_deref().and_then(severity) {
            Some(max) => severity(&r.level).is_some_and(|s| s <= max),
            None => true,
        };
        let text_ok = self.text.as_ref().is_none_or(|t| {
            let t = t.to_lowercase();
            r.message.to_lowercase().contains(&t) || r.target.to_lowercase().contains(&t)
        });
        level_ok
            && text_ok
            && self.connector.as_ref().is_none_or(|c| {
                r.connector
                    .as_ref()
                    .is_some_and(|id| id.to_lowercase().contains(&c.to_lowercase()))
            })
            && self.since.is_none_or(|s| r.time >= s)
            && self.after.is_none_or(|a| r.seq > a)
    }
}

/// The ring.
pub struct LogRing {
    records: Mutex<VecDeque<LogRecord>>,
    capacity: AtomicUsize,
    next: AtomicU64,
    live: broadcast::Sender<LogRecord>,
}

/// The process's ring.
pub fn ring() -> &'static LogRing {
    static RING: OnceLock<LogRing> = OnceLock::new();
    RING.get_or_init(|| LogRing {
        records: Mutex::new(VecDeque::new()),
        capacity: AtomicUsize::new(DEFAULT_CAPACITY),
        next: AtomicU64::new(1),
        live: broadcast::channel(1024).0,
    })
}

impl LogRing {
    /// Keeps at most `n` records (the oldest go first).
    pub fn set_capacity(&self, n: usize) {
        self.capacity.store(n, Ordering::Relaxed);
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        while records.len() > n {
            records.pop_front();
        }
    }

    fn push(&self, mut r: LogRecord) {
        r.seq = self.next.fetch_add(1, Ordering::Relaxed);
        let capacity = self.capacity.load(Ordering::Relaxed);
        if capacity > 0 {
            let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            while records.len() >= capacity {
                records.pop_front();
            }
            records.push_back(r.clone());
        }
        // No receiver is not an error: nobody follows the log now.
        let _ = self.live.send(r);
    }

    /// The newest records that pass `filter` (at most its limit), oldest first.
    pub fn query(&self, filter: &Filter) -> Vec<LogRecord> {
        let limit = filter.limit.unwrap_or(500).min(MOST);
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<LogRecord> = records
            .iter()
            .rev()
            .filter(|r| filter.matches(r))
            .take(limit)
            .cloned()
            .collect();
        found.reverse();
        found
    }

    /// Every record from now on, as it is logged.
    pub fn follow(&self) -> broadcast::Receiver<LogRecord> {
        self.live.subscribe()
    }
}

/// The `tracing` layer that fills [`ring`].
pub struct RingLayer;

/// The connector of a span (its `connector.id` and `connector.kind` fields).
#[derive(Default)]
struct SpanConnector {
    id: Option<String>,
    kind: Option<String>,
}

impl Visit for SpanConnector {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "connector.id" => self.id = Some(value.to_string()),
            "connector.kind" => self.kind = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        let text = text.trim_matches('"').to_string();
        match field.name() {
            "connector.id" => self.id = Some(text),
            "connector.kind" => self.kind = Some(text),
            _ => {}
        }
    }
}

/// An event's message, then its other fields.
#[derive(Default)]
struct Message {
    message: String,
    fields: String,
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S> Layer<S> for RingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "connector" {
            return;
        }
        let mut c = SpanConnector::default();
        attrs.record(&mut c);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(c);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = Message::default();
        event.record(&mut text);
        text.message.push_str(&text.fields);
        let (mut connector, mut kind) = (None, None);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(c) = span.extensions().get::<SpanConnector>() {
                    connector = c.id.clone();
                    kind = c.kind.clone();
                    break;
                }
            }
        }
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        ring().push(LogRecord {
            seq: 0,
            time: Timestamp::now(),
            level: level.into(),
            target: event.metadata().target().into(),
            connector,
            kind,
            message: text.message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, level: &str, connector: Option<&str>, message: &str) -> LogRecord {
        LogRecord {
            seq,
            time: Timestamp::from_nanos(seq as i64 * 1_000_000_000),
            level: level.into(),
            target: "oibus_engine::engine".into(),
            connector: connector.map(str::to_string),
            kind: None,
            message: message.into(),
        }
    }

    #[test]
    fn a_filter_keeps_the_level_and_above_of_one_connector_with_the_text() {
        let f = Filter {
            connector: Some("plc".into()),
            level: Some("warn".into()),
            text: Some("TIMEOUT".into()),
            ..Filter::default()
        };
        assert!(f.matches(&record(1, "ERROR", Some("plc"), "read timeout")));
        assert!(f.matches(&record(2, "WARN", Some("plc"), "Timeout again")));
        assert!(!f.matches(&record(3, "INFO", Some("plc"), "timeout")));
        assert!(!f.matches(&record(4, "WARN", Some("other"), "timeout")));
        assert!(!f.matches(&record(5, "WARN", None, "timeout")));
        assert!(!f.matches(&record(6, "WARN", Some("plc"), "connected")));
        let after = Filter {
            after: Some(3),
            since: Some(Timestamp::from_nanos(2_000_000_000)),
            ..Filter::default()
        };
        assert!(!after.matches(&record(3, "INFO", None, "")));
        assert!(after.matches(&record(4, "INFO", None, "")));
        assert!(
            Filter {
                level: Some("loud".into()),
                ..Filter::default()
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn an_event_is_kept_with_the_connector_of_its_span_and_its_fields() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(subscriber, || {
            let kind = oibus_plugin_api::ConnectorKind::South;
            let span = tracing::error_span!("connector", connector.kind = %kind, connector.id = "ring-test");
            let _in = span.enter();
            tracing::warn!(item = "x", "item fails");
        });
        let got = ring().query(&Filter {
            connector: Some("ring-test".into()),
            ..Filter::default()
        });
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].message, "item fails item=x");
        assert_eq!(got[0].level, "WARN");
        assert_eq!(got[0].kind.as_deref(), Some("south"));
        assert!(got[0].seq >= 1);
        // Part of the id, in any case, finds it too, as the overview's filter does.
        for part in ["RING", "ng-te"] {
            let found = ring().query(&Filter {
                connector: Some(part.into()),
                ..Filter::default()
            });
            assert!(
                found.iter().any(|r| r.message == "item fails item=x"),
                "{part}"
            );
        }
        let none = ring().query(&Filter {
            connector: Some("ring-test-2".into()),
            ..Filter::default()
        });
        assert!(
            none.iter()
                .all(|r| r.connector.as_deref() != Some("ring-test"))
        );
    }
}
