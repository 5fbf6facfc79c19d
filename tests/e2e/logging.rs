//! A plugin's `tracing` events reach the host's subscriber inside the connector's span.

use oibus_core::plugin::PluginRegistry;
use oibus_plugin_api::{OibusValue, Timestamp};
use oibus_tests::{AcceptAll, plugin_folder, standalone_connector};
use std::{
    io::Write,
    sync::{Arc, Mutex},
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_events_are_logged_in_the_connector_span() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let plugins = plugin_folder(&["oibus_test_probe"]);
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = PluginRegistry::discover(
        plugins.path(),
        &oibus_core::plugin::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    let c = standalone_connector(
        &registry,
        ("north-7", "probe-north"),
        &serde_json::json!({}),
        cache.path().join("state"),
        Arc::new(AcceptAll),
    );
    c.start().await.unwrap();
    c.handle_values(vec![
        OibusValue::new("a", Timestamp::now(), 1i64),
        OibusValue::new("b", Timestamp::now(), 2i64),
    ])
    .await
    .unwrap();
    c.stop().await.unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("received 2 values"))
        .unwrap_or_else(|| panic!("the plugin's event is missing:\n{text}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(
        line.contains("connector.kind=north") && line.contains("connector.id=\"north-7\""),
        "{line}"
    );
}

#[test]
fn under_a_warn_level_a_plugins_warnings_and_the_engines_still_name_their_connector() {
    use oibus_tests::process::{FAST_RECONNECT, Workspace, acknowledged_probe_south};
    let ws = Workspace::new(&["oibus_test_probe"]);
    // The probe North warns at each send while this file holds an unknown crash; and its first
    // connection fails.
    std::fs::write(ws.path("crash"), "nothing-known").unwrap();
    ws.config(&format!(
        "{FAST_RECONNECT}{}[[north]]\nid = \"rec\"\ntype = \"probe-north\"\nsettings = {{ behaviour = {{ crash_file = \"{{ws}}/crash\", connect_failures = 1 }} }}\ncaching = {{ send_interval = \"100ms\" }}\n",
        acknowledged_probe_south(true)
    ));
    let mut engine = ws.start_with(&[("OIBUS_LOG", "warn")]);
    engine.wait_until("the warnings", std::time::Duration::from_secs(30), |e| {
        e.log().contains("probe: unknown crash")
    });
    let log = engine.log();
    engine.stop();
    let line = |says: &str| {
        log.lines()
            .find(|l| l.contains(says))
            .unwrap_or_else(|| panic!("{says:?} in {log}"))
            .to_string()
    };
    for says in [
        "probe: unknown crash",
        "start failed: probe: connect failure",
    ] {
        let l = line(says);
        assert!(
            l.contains(r#"connector{connector.kind=north connector.id="rec"}"#),
            "{l}"
        );
        assert!(l.contains(" WARN "), "{l}");
    }
}
