//! Connectors of real plugin files driven by the engine's `Connector` handle: call order, data
//! handed to the engine, and plugin failures (errors, panics, hangs) turned into typed errors while
//! the host keeps running.

use futures_util::future::BoxFuture;
use oibus_engine::{
    connector::{self, ConnectorError, ConnectorHandle, ConnectorSpec, DataSink, Timeouts},
    loader::PluginRegistry,
};
use oibus_plugin_api::{ErrorKind, Item, OibusValue, PluginError, Timestamp};
use oibus_tests::plugin_folder;
use serde_json::json;
use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Records what connectors hand to the engine.
#[derive(Default)]
struct Recorder {
    values: Mutex<Vec<(String, OibusValue)>>,
}

impl DataSink for Recorder {
    fn add_values(
        &self,
        connector: &str,
        values: Vec<OibusValue>,
    ) -> BoxFuture<'static, Result<(), PluginError>> {
        let mut all = self.values.lock().unwrap();
        all.extend(values.into_iter().map(|v| (connector.to_string(), v)));
        Box::pin(async { Ok(()) })
    }
    fn add_file(&self, _: &str, _: PathBuf) -> BoxFuture<'static, Result<(), PluginError>> {
        Box::pin(async { Err(PluginError::permanent("no files in this test")) })
    }
}

struct Env {
    _plugins: tempfile::TempDir,
    _cache: tempfile::TempDir,
    dir: tempfile::TempDir,
    registry: PluginRegistry,
    sink: Arc<Recorder>,
}

fn env() -> Env {
    let plugins = plugin_folder(&["oibus_test_probe", "oibus_south_simulator"]);
    let cache = tempfile::tempdir().unwrap();
    let (registry, reports) = PluginRegistry::discover(
        plugins.path(),
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    assert_eq!(registry.plugins().count(), 2, "{reports:#?}");
    Env {
        _plugins: plugins,
        _cache: cache,
        dir: tempfile::tempdir().unwrap(),
        registry,
        sink: Arc::default(),
    }
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn create(
        &self,
        id: &str,
        type_id: &str,
        settings: serde_json::Value,
        lifecycle: Duration,
    ) -> Result<ConnectorHandle, ConnectorError> {
        connector::create(
            &self.registry,
            ConnectorSpec {
                id,
                type_id,
                settings: &settings,
                state_dir: self.path(&format!("state-{id}")),
                plugins_data: self.path("plugin-data"),
                timeouts: Timeouts {
                    lifecycle,
                    data: Duration::from_secs(10),
                },
                reports: Default::default(),
                isolation: None,
            },
            self.sink.clone(),
            tokio::runtime::Handle::current(),
        )
    }
}

fn journal(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn item(name: &str, settings: serde_json::Value) -> Item {
    serde_json::from_value(json!({"name": name, "scanMode": "every-second", "settings": settings}))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_north_runs_through_its_lifecycle_in_order() {
    let env = env();
    let journal_file = env.path("north.journal");
    let record = env.path("north.record");
    let north = env
        .create(
            "n1",
            "probe-north",
            json!({"behaviour": {"journal": journal_file}, "record_file": record}),
            Duration::from_secs(5),
        )
        .unwrap();
    north.start().await.unwrap();
    let values = vec![
        OibusValue::new("a", Timestamp::from_millis(1), 1.5),
        OibusValue::new("b", Timestamp::from_millis(2), "on"),
    ];
    north.handle_values(values.clone()).await.unwrap();
    north.stop().await.unwrap();
    assert_eq!(
        journal(&journal_file),
        ["start", "connect", "handle_values", "stop", "disconnect"]
    );
    let received: Vec<OibusValue> = fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(received, values, "values cross the boundary intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_south_hands_its_values_to_the_engine() {
    let env = env();
    let south = env
        .create(
            "s1",
            "simulator",
            json!({"seed": 1, "sample_interval_ms": 1000, "batch_size": 5}),
            Duration::from_secs(5),
        )
        .unwrap();
    south.start().await.unwrap();
    let items = vec![item(
        "t",
        json!({"signal": {"type": "ramp", "period_s": 100.0}}),
    )];
    let start = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
    let end = Timestamp::parse("2024-01-01T00:00:12Z").unwrap();
    let newest = south.history_query(items, start, end).await.unwrap();
    south.stop().await.unwrap();
    assert_eq!(
        newest,
        Some(Timestamp::parse("2024-01-01T00:00:11Z").unwrap())
    );
    let got = env.sink.values.lock().unwrap().clone();
    assert_eq!(got.len(), 12);
    assert!(
        got.iter()
            .all(|(c, v)| c == "s1" && v.point_id.as_str() == "t")
    );
    assert_eq!(got[0].1.timestamp, start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_connect_is_an_error_and_the_host_survives() {
    let env = env();
    let c = env
        .create(
            "p1",
            "probe-north",
            json!({"behaviour": {"connect_panics": true}}),
            Duration::from_secs(5),
        )
        .unwrap();
    let e = c.start().await.unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Panicked { op: "start", .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("connect panics as configured"),
        "{e}"
    );
    assert!(e.to_string().contains("\"p1\""), "names the connector: {e}");
    // The same plugin still serves other connectors, and the failed one can be stopped.
    c.stop().await.unwrap();
    let ok = env
        .create("p2", "probe-north", json!({}), Duration::from_secs(5))
        .unwrap();
    ok.start().await.unwrap();
    ok.handle_values(vec![OibusValue::new("x", Timestamp::now(), 1i64)])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_connect_times_out_and_releases_the_connector() {
    let env = env();
    let journal_file = env.path("hang.journal");
    let c = env
        .create(
            "h1",
            "probe-north",
            json!({"behaviour": {"connect_hangs": true, "journal": journal_file}}),
            Duration::from_millis(300),
        )
        .unwrap();
    let began = Instant::now();
    let e = c.connect().await.unwrap_err();
    assert!(
        matches!(e, ConnectorError::TimedOut { op: "connect", after, .. } if after == Duration::from_millis(300)),
        "{e}"
    );
    assert!(began.elapsed() < Duration::from_secs(10));
    // The hung call was cancelled inside the plugin: the next call is served.
    c.disconnect().await.unwrap();
    assert_eq!(journal(&journal_file), ["connect", "disconnect"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn north_errors_keep_their_kind() {
    let env = env();
    let fault = env.path("fault");
    let c = env
        .create(
            "f1",
            "probe-north",
            json!({"fault_file": fault}),
            Duration::from_secs(5),
        )
        .unwrap();
    c.start().await.unwrap();
    let batch = || vec![OibusValue::new("x", Timestamp::now(), 1i64)];
    fs::write(&fault, "transient").unwrap();
    let e = c.handle_values(batch()).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    fs::write(&fault, "permanent").unwrap();
    let e = c.handle_values(batch()).await.unwrap_err();
    match &e {
        ConnectorError::Plugin { error, .. } => assert_eq!(error.kind, ErrorKind::PERMANENT),
        other => panic!("{other}"),
    }
    assert!(!e.is_retryable());
    fs::remove_file(&fault).unwrap();
    c.handle_values(batch()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_capabilities_and_bad_settings_are_refused() {
    let env = env();
    let north = env
        .create("n", "probe-north", json!({}), Duration::from_secs(5))
        .unwrap();
    let e = north.last_point_query(vec![]).await.unwrap_err();
    match &e {
        ConnectorError::Plugin { error, .. } => assert_eq!(error.kind, ErrorKind::NOT_SUPPORTED),
        other => panic!("{other}"),
    }
    let e = env
        .create(
            "bad",
            "simulator",
            json!({"batch_size": "many"}),
            Duration::from_secs(5),
        )
        .err()
        .unwrap();
    assert!(
        matches!(e, ConnectorError::InvalidSettings(_)) && e.to_string().contains("/batch_size"),
        "{e}"
    );
    let e = env
        .create("u", "no-such-type", json!({}), Duration::from_secs(5))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("probe-north"),
        "lists the types: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_are_counted_then_connect_succeeds() {
    let env = env();
    let c = env
        .create(
            "r1",
            "probe-north",
            json!({"behaviour": {"connect_failures": 2}}),
            Duration::from_secs(5),
        )
        .unwrap();
    for attempt in 1..=2 {
        let e = c.connect().await.unwrap_err();
        assert!(e.is_retryable());
        assert!(
            e.to_string().contains(&format!("failure {attempt} of 2")),
            "{e}"
        );
    }
    c.connect().await.unwrap();
}

// A plugin calling exit(0): tests/e2e/platforms.rs, which every shipped platform runs.
