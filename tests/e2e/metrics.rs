//! `GET /metrics` of a running engine, read by Prometheus's own Python parser (the OpenMetrics
//! one, which refuses any deviation from the format), its counters checked against the status.

use oibus_tests::process::{EVERY_SECOND, RECORDING_NORTH, Workspace, acknowledged_probe_south};
use serde_json::Value;
use std::{collections::BTreeSet, io::Write as _, time::Duration};

/// The samples of an OpenMetrics text, parsed by `prometheus_client.openmetrics.parser`:
/// `[{"family", "type", "name", "labels", "value"}]`.
fn parse(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test installs prometheus_client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of sample `name` with labels including `labels`.
fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[test]
fn metrics_parse_as_openmetrics_and_agree_with_the_status() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_simulator"]);
    ws.config(&format!(
        "[engine.admin]\nmetrics_token = \"scrape-only-metrics\"\n{EVERY_SECOND}{}[[south]]\nid = \"sim\"\ntype = \"simulator\"\nquery = \"last-point\"\nitems = [{{ name = \"s1\", scan_mode = \"every-second\", settings = {{ signal = {{ type = \"ramp\", min = 0, max = 1, period_s = 10 }} }} }}]\n{RECORDING_NORTH}",
        acknowledged_probe_south(true)
    ));
    let mut engine = ws.start();
    let api = oibus_tests::api::Api::of(&ws, &mut engine);
    engine.wait_until("values sent and runs done", Duration::from_secs(60), |e| {
        e.counter("rec", "values_sent") >= 100 && e.counter("sim", "runs") >= 3
    });
    // The live status (not the document written every second), just before and after.
    let before = api.get("/api/status").1;
    let (code, kind, text) = api.get_text("/metrics", Some("scrape-only-metrics"));
    let after = api.get("/api/status").1;
    assert_eq!(code, 200, "{text}");
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let samples = parse(&text);
    let counter = |status: &Value, id: &str, name: &str| {
        status["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["counters"][name].as_f64())
            .unwrap()
    };
    // Each counter lies between the status before and after the scrape.
    for (metric, id, name) in [
        ("oibus_south_values_in_total", "src", "values_in"),
        ("oibus_south_values_in_total", "sim", "values_in"),
        ("oibus_south_runs_total", "sim", "runs"),
        ("oibus_north_values_sent_total", "rec", "values_sent"),
        ("oibus_connector_connects_total", "rec", "connects"),
    ] {
        let v = value(&samples, metric, &[("connector", id)]);
        let (low, high) = (counter(&before, id, name), counter(&after, id, name));
        assert!(
            low <= v && v <= high,
            "{metric} {id}: {low} <= {v} <= {high}"
        );
        assert!(v > 0.0, "{metric} {id}");
    }
    // Up, and exactly one state per connector.
    for id in ["src", "sim", "rec"] {
        assert_eq!(
            value(&samples, "oibus_connector_up", &[("connector", id)]),
            1.0
        );
        let states: Vec<f64> = samples
            .iter()
            .filter(|s| s["name"] == "oibus_connector_state" && s["labels"]["connector"] == id)
            .map(|s| s["value"].as_f64().unwrap())
            .collect();
        assert_eq!(states.len(), 9, "{id}");
        assert_eq!(states.iter().sum::<f64>(), 1.0, "{id}");
        assert_eq!(
            value(
                &samples,
                "oibus_connector_state",
                &[("connector", id), ("state", "connected")]
            ),
            1.0
        );
    }
    // The South's runs in its histogram; the store's commits in theirs.
    let runs = value(
        &samples,
        "oibus_south_run_duration_seconds_count",
        &[("connector", "sim")],
    );
    assert!(runs >= 3.0, "{runs}");
    let inf = value(
        &samples,
        "oibus_south_run_duration_seconds_bucket",
        &[("connector", "sim"), ("le", "+Inf")],
    );
    assert_eq!(inf, runs);
    assert!(value(&samples, "oibus_store_commit_duration_seconds_count", &[]) > 0.0);
    // The plugins, with their API version and signer.
    let probe = value(
        &samples,
        "oibus_plugin_info",
        &[("plugin", "oibus-test-probe"), ("signer", "unsigned")],
    );
    assert_eq!(probe, 1.0);
    // Labels name connectors, never points or items.
    let keys: BTreeSet<String> = samples
        .iter()
        .flat_map(|s| {
            s["labels"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    let allowed = [
        "connector",
        "type",
        "kind",
        "state",
        "le",
        "plugin",
        "version",
        "api_version",
        "signer",
        "file",
        "engine",
    ];
    assert!(
        keys.iter().all(|k| allowed.contains(&k.as_str())),
        "{keys:?}"
    );
    assert!(!text.contains("\"s1\""), "no item in a label");
    // The admin token opens /metrics too; the metrics token opens nothing else; a wrong one
    // nothing.
    assert_eq!(api.get_text("/metrics", None).0, 200);
    assert_eq!(
        api.send("GET", "/api/status", None, Some("scrape-only-metrics"))
            .0,
        401
    );
    assert_eq!(api.get_text("/metrics", Some("guess")).0, 401);
    engine.stop();
}
