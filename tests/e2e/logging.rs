//! A plugin's `tracing` events reach the host's subscriber inside the connector's span.

use oibus_engine::loader::PluginRegistry;
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
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
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

#[test]
fn the_admin_api_serves_the_recent_records_filtered_and_follows_new_ones() {
    use oibus_tests::process::{FAST_RECONNECT, Workspace, acknowledged_probe_south};
    use std::io::BufRead as _;
    let ws = Workspace::new(&["oibus_test_probe"]);
    ws.config(&format!(
        "{}log_records = 50\n{}[[north]]\nid = \"rec\"\ntype = \"probe-north\"\nsettings = {{ behaviour = {{ crash_file = \"{{ws}}/crash\", connect_failures = 1 }} }}\ncaching = {{ send_interval = \"100ms\" }}\n",
        FAST_RECONNECT,
        acknowledged_probe_south(true)
    ));
    let mut engine = ws.start();
    let api = oibus_tests::api::Api::of(&ws, &mut engine);
    let records = |query: &str| -> Vec<serde_json::Value> {
        let (code, body) = api.get(&format!("/api/logs{query}"));
        assert_eq!(code, 200, "{query}: {body}");
        body["records"].as_array().unwrap().clone()
    };
    // The connect failure, asked for as soon as it is logged: the ring keeps only 50
    // records, and the North logs one at debug for each batch it sends, so on a slow machine the
    // failure at start-up would be pushed out before the crash warnings below are all logged.
    engine.wait_until(
        "the connect failure",
        std::time::Duration::from_secs(30),
        |e| e.log().contains("probe: connect failure 1 of 1"),
    );
    let failed = records("?connector=rec&level=warn");
    assert!(
        failed.iter().any(|r| r["message"]
            .as_str()
            .unwrap()
            .contains("probe: connect failure 1 of 1")),
        "{failed:?}"
    );
    // The probe warns once for each time the file is there.
    for n in 1..=3 {
        std::fs::write(ws.path("crash"), "nothing-known").unwrap();
        engine.wait_until("the warnings", std::time::Duration::from_secs(30), |e| {
            e.log().matches("probe: unknown crash").count() >= n
        });
    }
    // One connector's warnings and errors: the plugin's and the engine's, each with it.
    let warned = records("?connector=rec&level=warn");
    assert!(!warned.is_empty());
    assert!(
        warned
            .iter()
            .all(|r| r["connector"] == "rec" && r["kind"] == "north")
    );
    assert!(
        warned
            .iter()
            .all(|r| r["level"] == "WARN" || r["level"] == "ERROR")
    );
    assert!(
        warned.iter().any(|r| r["message"]
            .as_str()
            .unwrap()
            .contains("probe: unknown crash")),
        "{warned:?}"
    );
    // Text (letter case ignored) and limit; a future instant gives nothing; a bad level is named.
    let two = records("?text=UNKNOWN%20CRASH&limit=2");
    assert_eq!(two.len(), 2);
    assert!(
        two.iter()
            .all(|r| r["message"].as_str().unwrap().contains("unknown crash"))
    );
    assert!(records("?since=2999-01-01T00:00:00Z").is_empty());
    let (code, body) = api.get("/api/logs?level=loud");
    assert_eq!(code, 400);
    assert!(
        body["error"].as_str().unwrap().contains("\"loud\""),
        "{body}"
    );
    // The ring keeps engine.log_records.
    let all = records("?limit=10000");
    assert!(all.len() <= 50 && all.len() >= 20, "{}", all.len());
    assert!(
        all.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    // The stream: a crash warning logged after the last one kept arrives as an event.
    let last = two.last().unwrap()["seq"].as_u64().unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let response = agent
        .get(format!(
            "{}/api/logs/stream?connector=rec&text=unknown%20crash&after={last}",
            api.url
        ))
        .header("Authorization", format!("Bearer {}", api.token))
        .call()
        .unwrap();
    assert!(
        response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"))
    );
    std::fs::write(ws.path("crash"), "nothing-known").unwrap();
    let reader = std::io::BufReader::new(response.into_body().into_reader());
    let event = reader
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            let r: serde_json::Value = serde_json::from_str(l.strip_prefix("data: ")?).ok()?;
            (r["seq"].as_u64()? > last).then_some(r)
        })
        .expect("a new record within 30 s");
    assert!(
        event["message"].as_str().unwrap().contains("unknown crash"),
        "{event}"
    );
    assert_eq!(event["connector"], "rec");
    // Without the token, nothing.
    assert_eq!(api.send("GET", "/api/logs", None, Some("wrong")).0, 401);
    engine.stop();
}

#[test]
fn the_log_file_rotates_by_size_and_keeps_the_files_it_says() {
    use oibus_tests::process::{RECORDING_NORTH, Workspace, acknowledged_probe_south};
    let ws = Workspace::new(&["oibus_test_probe"]);
    ws.config(&format!(
        "[engine.log_file]\npath = \"logs/oibus.log\"\nmax_size = \"4KB\"\nkeep = 2\n{}{RECORDING_NORTH}",
        acknowledged_probe_south(true)
    ));
    // At debug, the engine logs every batch: kilobytes a second.
    let mut engine = ws.start_with(&[("OIBUS_LOG", "debug")]);
    let logs = ws.data().join("logs");
    engine.wait_until("two rotations", std::time::Duration::from_secs(30), |_| {
        logs.join("oibus.log.2").exists()
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    engine.stop();
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["oibus.log", "oibus.log.1", "oibus.log.2"]);
    for name in ["oibus.log.1", "oibus.log.2"] {
        let text = std::fs::read_to_string(logs.join(name)).unwrap();
        // Rotated once past the size, at a line's end.
        assert!(
            text.len() >= 4000 && text.len() < 4000 + 2000,
            "{name}: {}",
            text.len()
        );
        assert!(text.ends_with('\n'));
        assert!(!text.contains('\u{1b}'), "no colours in the file");
    }
    let current = std::fs::read_to_string(logs.join("oibus.log.1")).unwrap();
    assert!(current.contains("connector{connector.kind="), "{current}");
}

#[test]
fn a_log_file_that_cannot_be_written_stops_the_engine_naming_it() {
    use oibus_tests::process::Workspace;
    let ws = Workspace::new(&[]);
    ws.config("[engine.log_file]\npath = \"/proc/no-such-place/oibus.log\"\n");
    let (code, err) = ws.run_to_end();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("engine.log_file: cannot write /proc/no-such-place/oibus.log"),
        "{err}"
    );
}
