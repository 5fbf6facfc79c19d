//! `GET /metrics`: the engine's status in the Prometheus text format (OpenMetrics 1.0), made
//! from the live status board at each scrape with `prometheus-client`. The host owns every
//! metric: plugins need no metrics library. Labels are `connector`, `type` and `kind`; there is
//! no label per point or item.

use oibus_engine::engine::status::{ConnectorSnapshot, State, StatusBoard};
use oibus_plugin_api::ConnectorKind;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};
use std::sync::Arc;

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every state, for `oibus_connector_state` (one series per state, 1 for the current one).
const STATES: [State; 9] = [
    State::Stopped,
    State::Connecting,
    State::Connected,
    State::Backoff,
    State::Failed,
    State::Stopping,
    State::WaitingForPlugin,
    State::PluginRemoved,
    State::Quarantined,
];

/// The metrics text of `board` now.
pub fn render(board: Arc<StatusBoard>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("oibus");
    registry.register_collector(Box::new(Board(board)));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

/// The status board, read at each scrape.
struct Board(Arc<StatusBoard>);

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the engine's status board")
    }
}

type Labels = Vec<(&'static str, String)>;

/// A histogram's sum, count and buckets (each bucket's own count, with its upper bound).
type Buckets = (f64, u64, Vec<(f64, u64)>);

fn labels(c: &ConnectorSnapshot) -> Labels {
    vec![
        ("connector", c.id.clone()),
        ("type", c.type_id.clone()),
        ("kind", c.kind.to_string()),
    ]
}

/// A state as the configuration and the status spell it (`waiting-for-plugin`).
fn state_name(s: State) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One metric family: its series, each a label set and a value.
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    unit: Option<Unit>,
    counter: bool,
    series: Vec<(Labels, f64)>,
}

impl Family<'_> {
    fn encode(self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if self.series.is_empty() {
            return Ok(());
        }
        let kind = if self.counter {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        let mut family =
            encoder.encode_descriptor(self.name, self.help, self.unit.as_ref(), kind)?;
        for (labels, value) in &self.series {
            let series = family.encode_family(labels)?;
            if self.counter {
                ConstCounter::new(*value as u64).encode(series)?;
            } else {
                ConstGauge::new(*value).encode(series)?;
            }
        }
        Ok(())
    }
}

/// A histogram family from recorded durations.
fn histogram(
    encoder: &mut DescriptorEncoder<'_>,
    (name, help): (&str, &str),
    series: &[(Labels, Buckets)],
) -> Result<(), std::fmt::Error> {
    if series.is_empty() {
        return Ok(());
    }
    let mut family =
        encoder.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    for (labels, (sum, count, buckets)) in series {
        family
            .encode_family(labels)?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                *sum, *count, buckets, None,
            )?;
    }
    Ok(())
}

/// The store's commit latency (µs, an HDR histogram) in the buckets of South run durations.
fn commit_latency(h: &hdrhistogram::Histogram<u64>) -> Buckets {
    let mut below = 0;
    let mut buckets = Vec::new();
    for bound in oibus_engine::engine::durations::BOUNDS {
        let upto = h.count_between(0, (bound * 1e6) as u64);
        buckets.push((bound, upto - below));
        below = upto;
    }
    buckets.push((f64::MAX, h.len() - below));
    (h.mean() * h.len() as f64 / 1e6, h.len(), buckets)
}

/// A counter of connectors of one kind (`None`: all): name, help, kind, value.
type CounterMetric = (
    &'static str,
    &'static str,
    Option<ConnectorKind>,
    fn(&ConnectorSnapshot) -> u64,
);

fn get(a: &std::sync::atomic::AtomicU64) -> u64 {
    a.load(std::sync::atomic::Ordering::Relaxed)
}

const SOUTH: Option<ConnectorKind> = Some(ConnectorKind::South);
const NORTH: Option<ConnectorKind> = Some(ConnectorKind::North);

/// The counters of every connector.
const COUNTERS: [CounterMetric; 13] = [
    ("connector_connects", "successful connections", None, |c| {
        get(&c.counters.connects)
    }),
    (
        "connector_connect_failures",
        "failed start or connect attempts",
        None,
        |c| get(&c.counters.connect_failures),
    ),
    ("south_runs", "scheduled runs started", SOUTH, |c| {
        get(&c.counters.runs)
    }),
    (
        "south_run_failures",
        "runs that failed as a whole",
        SOUTH,
        |c| get(&c.counters.run_failures),
    ),
    (
        "south_runs_with_failed_items",
        "runs that read their items but some",
        SOUTH,
        |c| get(&c.counters.runs_with_failed_items),
    ),
    (
        "south_values_in",
        "values accepted durably from the connector",
        SOUTH,
        |c| get(&c.counters.values_in),
    ),
    (
        "south_files_in",
        "files accepted durably from the connector",
        SOUTH,
        |c| get(&c.counters.files_in),
    ),
    (
        "south_dropped",
        "source messages the connector dropped, with a reason",
        SOUTH,
        |c| c.dropped,
    ),
    (
        "north_values_sent",
        "values the connector sent",
        NORTH,
        |c| get(&c.counters.values_sent),
    ),
    ("north_files_sent", "files the connector sent", NORTH, |c| {
        get(&c.counters.files_sent)
    }),
    (
        "north_send_failures",
        "failed sends (each retry counts)",
        NORTH,
        |c| get(&c.counters.send_failures),
    ),
    (
        "north_values_to_error",
        "values set apart in the error store",
        NORTH,
        |c| get(&c.counters.values_to_error),
    ),
    (
        "north_files_to_error",
        "files set apart in the error store",
        NORTH,
        |c| get(&c.counters.files_to_error),
    ),
];

/// A gauge of a North's cache: name, help, unit, value.
type CacheMetric = (
    &'static str,
    &'static str,
    Option<Unit>,
    fn(&oibus_engine::engine::status::CacheSnapshot) -> f64,
);

/// The gauges of every North's cache.
fn cache_gauges() -> [CacheMetric; 6] {
    [
        (
            "north_queued_values",
            "values waiting in the queue",
            None,
            |q| q.queued_values as f64,
        ),
        (
            "north_queued_files",
            "files waiting in the queue",
            None,
            |q| q.queued_files as f64,
        ),
        (
            "north_queued",
            "bytes waiting in the queue",
            Some(Unit::Bytes),
            |q| q.queued_bytes as f64,
        ),
        (
            "north_oldest_queued_age",
            "age of the oldest queued entry (0 when empty)",
            Some(Unit::Seconds),
            |q| q.oldest_queued_age_s.unwrap_or(0.0),
        ),
        (
            "north_error_store_values",
            "values in the error store",
            None,
            |q| q.error_values as f64,
        ),
        (
            "north_error_store_files",
            "files in the error store",
            None,
            |q| q.error_files as f64,
        ),
    ]
}

impl Collector for Board {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.0.snapshot();
        let all = &snapshot.connectors;
        let gauge = |name, help, series| Family {
            name,
            help,
            unit: None,
            counter: false,
            series,
        };
        gauge(
            "connector_up",
            "1 while the connector is connected, else 0",
            all.iter()
                .map(|c| (labels(c), f64::from(u8::from(c.state == State::Connected))))
                .collect(),
        )
        .encode(&mut encoder)?;
        gauge(
            "connector_state",
            "1 for the connector's current lifecycle state, 0 for the others",
            all.iter()
                .flat_map(|c| {
                    STATES.iter().map(move |s| {
                        let mut l = labels(c);
                        l.push(("state", state_name(*s)));
                        (l, f64::from(u8::from(c.state == *s)))
                    })
                })
                .collect(),
        )
        .encode(&mut encoder)?;
        for (name, help, kind, value) in COUNTERS {
            Family {
                name,
                help,
                unit: None,
                counter: true,
                series: all
                    .iter()
                    .filter(|c| kind.is_none_or(|k| c.kind == k))
                    .map(|c| (labels(c), value(c) as f64))
                    .collect(),
            }
            .encode(&mut encoder)?;
        }
        gauge(
            "south_failed_items",
            "items failing now",
            all.iter()
                .filter(|c| c.kind == ConnectorKind::South)
                .map(|c| (labels(c), c.failed_items.len() as f64))
                .collect(),
        )
        .encode(&mut encoder)?;
        for (name, help, unit, value) in cache_gauges() {
            Family {
                name,
                help,
                unit,
                counter: false,
                series: all
                    .iter()
                    .filter_map(|c| Some((labels(c), value(c.cache.as_ref()?))))
                    .collect(),
            }
            .encode(&mut encoder)?;
        }

        let live = self
            .0
            .connectors
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let runs: Vec<_> = live
            .iter()
            .filter(|c| c.kind == ConnectorKind::South)
            .map(|c| {
                let l = vec![
                    ("connector", c.id.clone()),
                    ("type", c.type_id.clone()),
                    ("kind", c.kind.to_string()),
                ];
                (l, c.run_durations.read())
            })
            .collect();
        histogram(
            &mut encoder,
            ("south_run_duration", "how long South runs took"),
            &runs,
        )?;
        let commits = {
            let h = self.0.latency.lock().unwrap_or_else(|p| p.into_inner());
            commit_latency(&h)
        };
        histogram(
            &mut encoder,
            (
                "store_commit_duration",
                "time from a South handing values over to their durable commit in the store",
            ),
            &[(Vec::new(), commits)],
        )?;

        let mut info = Vec::new();
        for r in &snapshot.plugins {
            let (Some(m), oibus_engine::loader::PluginStatus::Ok) = (&r.manifest, &r.status) else {
                continue;
            };
            let file = r
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            info.push((
                vec![
                    ("plugin", m.id.clone()),
                    ("version", m.version.clone()),
                    ("api_version", m.api_version.clone()),
                    (
                        "signer",
                        r.signer
                            .as_ref()
                            .map(|s| s.short())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    ("file", file),
                ],
                1.0,
            ));
        }
        gauge(
            "plugin_info",
            "1 for each plugin file loaded: its id, version, API version, signer and file",
            info,
        )
        .encode(&mut encoder)?;
        let engine = snapshot.engine.clone();
        Family {
            name: "engine_start_time",
            help: "when the engine started, in seconds since the Unix epoch",
            unit: Some(Unit::Seconds),
            counter: false,
            series: vec![(
                vec![("engine", engine)],
                snapshot.started.as_nanos() as f64 / 1e9,
            )],
        }
        .encode(&mut encoder)
    }
}
