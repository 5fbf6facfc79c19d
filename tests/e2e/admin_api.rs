//! The admin REST API of a running engine, with a real HTTP client.

use oibus_tests::{
    api::Api,
    process::{Engine, Workspace},
};
use serde_json::{Value, json};
use std::{fs, time::Duration};

const CONFIG: &str = r#"
# Test plant: the operator's comments survive changes made through the API.
[engine]
reconnect = { min = "100ms", max = "500ms" }  # quick reconnection for tests

[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

# Records what it gets; fails while the fault file exists.
[[north]]
id = "rec"
type = "probe-north"
settings = { record_file = "{ws}/received", fault_file = "{ws}/fault" }
caching = { group_count = 1, send_interval = "50ms", retry_interval = "50ms", retry_count = 0 }
"#;

/// Checks that `body`, answered with `code` to `method` on `path` (as the document writes it),
/// matches the schema the OpenAPI document gives for it.
fn conforms(doc: &Value, path: &str, method: &str, code: u16, body: &Value) {
    let schema = &doc["paths"][path][method]["responses"][code.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        schema.is_object(),
        "the document has no body for {method} {path} {code}"
    );
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    if let Err(e) = oibus_core::schema::validate(&format!("{method} {path} {code}"), &root, body) {
        panic!("{e}\n{body}");
    }
}

#[test]
fn the_admin_api_guards_validates_persists_and_operates() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_simulator"]);
    ws.config(CONFIG);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);

    // Auth on everything but the OpenAPI document.
    let (code, doc) = api.send("GET", "/api/openapi.json", None, Some("wrong"));
    assert_eq!(code, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/south/{id}"].is_object());
    for path in [
        "/api/status",
        "/api/plugins",
        "/api/south",
        "/api/connector-types",
    ] {
        let (code, body) = api.send("GET", path, None, Some("wrong"));
        assert_eq!(code, 401, "{path}");
        conforms(&doc, path, "get", 401, &body);
    }
    let (code, _) = api.send("POST", "/api/plugins/rescan", None, Some(""));
    assert_eq!(code, 401);

    // Plugins and connector types.
    let (code, plugins) = api.get("/api/plugins");
    assert_eq!(code, 200);
    conforms(&doc, "/api/plugins", "get", 200, &plugins);
    conforms(
        &doc,
        "/api/connector-types",
        "get",
        200,
        &api.get("/api/connector-types").1,
    );
    assert_eq!(plugins["plugins"].as_array().unwrap().len(), 2, "{plugins}");
    let (code, t) = api.get("/api/connector-types/simulator");
    assert_eq!(code, 200);
    conforms(&doc, "/api/connector-types/{type}", "get", 200, &t);
    assert!(
        t["settings_schema"].is_object() && t["plugin"] == "oibus-south-simulator",
        "{t}"
    );
    assert_eq!(api.get("/api/connector-types/nope").0, 404);

    // Create a South: schema errors name the field with a JSON pointer.
    let bad = json!({"id": "sim", "type": "simulator", "query": "last-point",
        "settings": {"sample_interval_ms": "fast"},
        "items": [{"name": "t", "scan_mode": "every-second", "settings": {"signal": {"type": "square"}}}]});
    let (code, e) = api.post("/api/south", &bad);
    assert_eq!(code, 400, "{e}");
    conforms(&doc, "/api/south", "post", 400, &e);
    let pointers: Vec<&str> = e["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/settings/sample_interval_ms"), "{e}");
    assert!(
        pointers.iter().any(|p| p.starts_with("/items/0/settings")),
        "{e}"
    );
    // Malformed JSON, unknown ids, oversize bodies.
    assert_eq!(
        api.send("POST", "/api/south", Some("{not json"), None).0,
        400
    );
    assert_eq!(api.get("/api/south/nope").0, 404);
    assert_eq!(api.send("DELETE", "/api/north/nope", None, None).0, 404);
    assert_eq!(api.post("/api/south/nope/start", &json!({})).0, 404);
    // Just over the 1 MiB limit: the whole body fits in the socket buffers, so the client always
    // gets to read the answer.
    let huge = format!("{{\"id\": \"{}\"}}", "x".repeat((1 << 20) + 100));
    assert_eq!(api.send("POST", "/api/south", Some(&huge), None).0, 413);

    let good = json!({"id": "sim", "type": "simulator", "query": "last-point",
        "settings": {"seed": 1},
        "items": [{"name": "t", "scan_mode": "every-second", "settings": {"signal": {"type": "ramp"}}}]});
    let (code, e) = api.post("/api/south", &good);
    assert_eq!(code, 201, "{e}");
    assert_eq!(api.post("/api/south", &good).0, 409, "exists already");
    engine.wait_until("values from the new South", Duration::from_secs(30), |e| {
        e.counter("rec", "values_sent") >= 2
    });
    let (_, status) = api.get("/api/status");
    conforms(&doc, "/api/status", "get", 200, &status);
    conforms(&doc, "/api/south", "get", 200, &api.get("/api/south").1);
    conforms(
        &doc,
        "/api/north/{id}",
        "get",
        200,
        &api.get("/api/north/rec").1,
    );
    let sim = status["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "sim")
        .unwrap()
        .clone();
    assert_eq!(sim["state"], "connected");
    assert_eq!(sim["plugin"], "oibus-south-simulator 0.1.0");

    // Cache inspection: failures go to the error store, retried on request.
    fs::write(ws.path("fault"), "permanent").unwrap();
    engine.wait_until("errors", Duration::from_secs(30), |e| {
        e.counter("rec", "values_to_error") >= 2
    });
    fs::remove_file(ws.path("fault")).unwrap();
    let (code, cache) = api.get("/api/north/rec/cache");
    assert_eq!(code, 200);
    conforms(&doc, "/api/north/{id}/cache", "get", 200, &cache);
    let errors = cache["errors"].as_array().unwrap().len();
    assert!(errors >= 2, "{cache}");
    let (code, r) = api.post("/api/north/rec/cache/errors/retry", &json!({}));
    assert_eq!(code, 200, "{r}");
    conforms(&doc, "/api/north/{id}/cache/errors/retry", "post", 200, &r);
    assert!(r["entries"].as_u64().unwrap() >= 2);
    let (_, cache) = api.get("/api/north/rec/cache");
    assert!(
        cache["errors"].as_array().unwrap().len() < errors,
        "{cache}"
    );
    assert_eq!(api.get("/api/north/nope/cache").0, 404);

    // A North fed only by `sim`, which cannot send: its values wait in its cache.
    fs::write(ws.path("stuck-fault"), "transient").unwrap();
    let stuck = json!({"id": "stuck", "type": "probe-north", "subscriptions": ["sim"],
        "settings": {"fault_file": ws.path("stuck-fault")}});
    let (code, e) = api.post("/api/north", &stuck);
    assert_eq!(code, 201, "{e}");
    engine.wait_until("values queued for stuck", Duration::from_secs(30), |e| {
        e.connector("stuck")
            .is_some_and(|c| c["cache"]["queued_values"].as_u64() > Some(0))
    });
    // Deleting `sim` would leave `stuck` with no subscription, that is every South: refused.
    let (code, e) = api.send("DELETE", "/api/south/sim", None, None);
    assert_eq!(code, 409, "{e}");
    assert!(e["error"].as_str().unwrap().contains("\"stuck\""), "{e}");
    // Deleting `stuck` deletes its cache: a North created again under that id starts empty.
    assert!(ws.data().join("cache/stuck").is_dir());
    assert_eq!(api.send("DELETE", "/api/north/stuck", None, None).0, 204);
    assert!(!ws.data().join("cache/stuck").exists());
    assert!(engine.log().contains("its cache ("), "{}", engine.log());

    // History over a range, as the engine reads it.
    let (code, h) = api.post(
        "/api/south/sim/history",
        &json!({"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:30Z"}),
    );
    assert_eq!(code, 200, "{h}");
    assert_eq!(h["windows"], 1);
    conforms(&doc, "/api/south/{id}/history", "post", 200, &h);

    // Test connection.
    let (code, _) = api.post(
        "/api/north/test-connection",
        &json!({"type": "probe-north", "settings": {}}),
    );
    assert_eq!(code, 200);
    let (code, e) = api.post(
        "/api/north/test-connection",
        &json!({"type": "probe-north", "settings": {"behaviour": {"test_connection_error": "no route to PLC"}}}),
    );
    assert_eq!(code, 422);
    assert!(
        e["error"].as_str().unwrap().contains("no route to PLC"),
        "{e}"
    );

    // Update and stop/start.
    let mut changed = good.clone();
    changed["settings"]["seed"] = json!(9);
    assert_eq!(
        api.send("PUT", "/api/south/sim", Some(&changed.to_string()), None)
            .0,
        204
    );
    assert_eq!(api.post("/api/south/sim/stop", &json!({})).0, 204);
    engine.wait_until("stopped", Duration::from_secs(20), |e| {
        e.connector("sim").is_some_and(|c| c["state"] == "stopped")
    });
    assert_eq!(api.post("/api/south/sim/start", &json!({})).0, 204);
    engine.stop();

    // Persisted across a restart.
    let saved = fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(
        saved.contains("sim") && saved.contains("seed = 9"),
        "{saved}"
    );
    for comment in [
        "# Test plant: the operator's comments survive changes made through the API.\n[engine]",
        "# quick reconnection for tests",
        "# Records what it gets; fails while the fault file exists.\n[[north]]",
    ] {
        assert!(saved.contains(comment), "{comment:?} lost:\n{saved}");
    }
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let (code, sim) = api.get("/api/south/sim");
    assert_eq!(code, 200);
    assert_eq!(sim["settings"]["seed"], 9);
    assert_eq!(api.send("DELETE", "/api/south/sim", None, None).0, 204);
    assert_eq!(api.get("/api/south/sim").0, 404);
    engine.stop();
    assert!(
        !fs::read_to_string(ws.path("oibus.toml"))
            .unwrap()
            .contains("\"sim\"")
    );
}

#[test]
fn the_cli_rescans_and_forces_a_downgrade_through_the_api() {
    let ws = Workspace::new(&["oibus_test_probe"]);
    ws.config("[[north]]\nid = \"n\"\ntype = \"probe-north\"\n");
    let mut engine = ws.start();
    let _api = Api::of(&ws, &mut engine);
    engine.wait_until("connected", Duration::from_secs(20), |e| {
        e.connector("n").is_some_and(|c| c["state"] == "connected")
    });
    let older = oibus_tests::patch_declaration(
        &fs::read(oibus_tests::library("oibus_test_probe")).unwrap(),
        "oibus-test-probe",
        "",
        Some("0.0.9"),
    );
    fs::write(ws.path("plugins").join("probe-old.so"), older).unwrap();
    // Wait for the file to settle, then rescan from the CLI.
    std::thread::sleep(Duration::from_millis(700));
    let data = ws.data();
    let data = data.to_str().unwrap();
    let (code, text, err) = oibus_tests::run_oibus(&["plugins", "rescan", "--data", data]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.contains("probe-old.so") && text.contains("standby: 0.1.0 (from"),
        "{text}"
    );
    let (code, text, err) =
        oibus_tests::run_oibus(&["plugins", "force", "probe-old.so", "--data", data]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains("ok"), "{text}");
    engine.wait_until("running 0.0.9", Duration::from_secs(20), |e| {
        e.connector("n")
            .is_some_and(|c| c["plugin"] == "oibus-test-probe 0.0.9" && c["state"] == "connected")
    });
    let (_, text, _) = oibus_tests::run_oibus(&["status", "--data", data]);
    assert!(
        text.contains("oibus-test-probe 0.0.9") && text.contains("connected"),
        "{text}"
    );
    assert!(
        engine
            .log()
            .contains("plugin oibus-test-probe downgraded from 0.1.0 to 0.0.9"),
        "{}",
        engine.log()
    );
    engine.stop();

    // The forced choice survives a restart, until it is cleared.
    let running = |e: &Engine, v: &str| {
        e.connector("n").is_some_and(|c| {
            c["plugin"] == format!("oibus-test-probe {v}") && c["state"] == "connected"
        })
    };
    let mut engine = ws.start();
    let _api = Api::of(&ws, &mut engine);
    engine.wait_until("0.0.9 kept after a restart", Duration::from_secs(20), |e| {
        running(e, "0.0.9")
    });
    let (code, text, err) =
        oibus_tests::run_oibus(&["plugins", "unforce", "oibus-test-probe", "--data", data]);
    assert_eq!(code, 0, "{text}{err}");
    engine.wait_until("back to 0.1.0", Duration::from_secs(20), |e| {
        running(e, "0.1.0")
    });
    engine.stop();
    let mut engine = ws.start();
    engine.wait_until(
        "0.1.0 after the next restart",
        Duration::from_secs(20),
        |e| running(e, "0.1.0"),
    );
    engine.stop();
}

#[test]
fn a_history_request_is_bounded_visible_and_ends_with_its_client_or_a_stop() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_simulator"]);
    ws.config(
        r#"
[[scan_modes]]
name = "never"
cron = "0 0 0 1 1 *"

[[south]]
id = "sim"
type = "simulator"
query = "history"
settings = { seed = 1 }
history = { max_read_interval = "1s", read_delay = "100ms", max_request_range = "2h" }
items = [{ name = "t", scan_mode = "never", settings = { signal = { type = "ramp", min = 0.0, max = 1.0, period_s = 10.0 } } }]

[[north]]
id = "rec"
type = "probe-north"
caching = { send_interval = "50ms" }
"#,
    );
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    engine.wait_until("sim connected", Duration::from_secs(20), |e| {
        e.connector("sim")
            .is_some_and(|c| c["state"] == "connected")
    });
    let progress = |e: &Engine| e.connector("sim").unwrap()["history_request"].clone();

    // Longer than max_request_range: refused, naming the setting.
    let (code, e) = api.post(
        "/api/south/sim/history",
        &json!({"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T03:00:00Z"}),
    );
    assert_eq!(code, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("max_request_range"),
        "{e}"
    );

    // An hour in 1 s windows, 100 ms apart: about 6 minutes. The client (curl) gives up
    // after 1 s: the request stops with it.
    let hour = r#"{"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z"}"#;
    let (url, token) = (api.url.clone(), api.token.clone());
    let curl = move |seconds: &str| {
        std::process::Command::new("curl")
            .args(["-s", "--max-time", seconds, "-X", "POST"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/json", "-d", hour])
            .arg(format!("{url}/api/south/sim/history"))
            .status()
            .expect("curl")
    };
    curl("1");
    engine.wait_until(
        "the abandoned request to stop",
        Duration::from_secs(10),
        |e| progress(e)["state"] == "cancelled",
    );
    let done = progress(&engine)["windows_done"].as_u64().unwrap();
    assert!((1..3600).contains(&done), "{}", progress(&engine));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(progress(&engine)["windows_done"].as_u64(), Some(done));

    // Again, and the South is stopped meanwhile: the request ends with it.
    let again = curl.clone();
    let background = std::thread::spawn(move || again("30"));
    engine.wait_until("the request running", Duration::from_secs(10), |e| {
        progress(e)["state"] == "running" && progress(e)["windows_done"].as_u64() >= Some(2)
    });
    assert_eq!(progress(&engine)["windows"], 3600);
    assert_eq!(api.post("/api/south/sim/stop", &json!({})).0, 204);
    engine.wait_until(
        "the request to stop with the South",
        Duration::from_secs(10),
        |e| progress(e)["state"] == "stopped",
    );
    background.join().unwrap();
    engine.stop();
}
