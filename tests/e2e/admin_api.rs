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
    if let Err(e) = oibus_engine::schema::validate(&format!("{method} {path} {code}"), &root, body)
    {
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
    // Each entry says why, when, what points and how big.
    for e in cache["errors"].as_array().unwrap() {
        assert!(
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("probe: permanent fault"))
                && e["failed_at"].is_string()
                && e["bytes"].as_u64() > Some(0)
                && e["points"].as_array().is_some_and(|p| !p.is_empty()),
            "{e}"
        );
    }
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
    // Deleting `stuck` would delete the values it holds: refused, saying what they are, until
    // asked with discard_queue; then its cache goes with it and a North created again under
    // that id starts empty.
    assert!(ws.data().join("cache/stuck").is_dir());
    let (code, e) = api.send("DELETE", "/api/north/stuck", None, None);
    assert_eq!(code, 409, "{e}");
    let why = e["error"].as_str().unwrap();
    assert!(
        why.contains("still holds")
            && why.contains("queued value(s)")
            && why.contains("discard_queue=true"),
        "{why}"
    );
    assert_eq!(api.get("/api/north/stuck").0, 200);
    assert_eq!(
        api.send("DELETE", "/api/north/stuck?discard_queue=maybe", None, None)
            .0,
        400
    );
    assert_eq!(
        api.send("DELETE", "/api/north/stuck?discard_queue=true", None, None)
            .0,
        204
    );
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

/// The report of the file `name` in an upload's answer (every file's report).
fn report_named(answer: &str, name: &str) -> Value {
    serde_json::from_str::<Value>(answer)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with(name))
        .cloned()
        .unwrap_or_else(|| panic!("no report of {name} in {answer}"))
}

/// The value of header `name` of an answer.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[test]
fn a_console_session_reads_freely_but_changes_only_with_its_csrf_token_from_its_own_origin() {
    let ws = Workspace::new(&["oibus_test_probe"]);
    ws.config(CONFIG);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let json_body = [("content-type", "application/json")];

    // The page itself, with a policy that loads nothing from elsewhere.
    let (code, headers, page) = api.raw("GET", "/console/", &[], b"");
    assert_eq!(code, 200);
    assert!(page.contains("/console/app.js"), "{page}");
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(api.raw("GET", "/console/app.js", &[], b"").0, 200);
    assert_eq!(api.raw("GET", "/console/no-such.js", &[], b"").0, 404);

    // A wrong token, or a form instead of JSON, opens no session.
    let (code, headers, body) = api.raw(
        "POST",
        "/console-session",
        &json_body,
        br#"{"token": "guess"}"#,
    );
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("admin-token"), "{body}");
    assert!(header(&headers, "set-cookie").is_empty());
    let form = format!("token={}", api.token);
    let (code, _, _) = api.raw(
        "POST",
        "/console-session",
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(code, 400);

    // The right token: a strict, HttpOnly cookie, and the CSRF token in the body.
    let sign_in = json!({ "token": api.token }).to_string();
    let (code, headers, body) = api.raw("POST", "/console-session", &json_body, sign_in.as_bytes());
    assert_eq!(code, 200, "{body}");
    let set_cookie = header(&headers, "set-cookie");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let host = api.url.trim_start_matches("http://").to_string();
    let with_cookie = [("cookie", cookie.as_str())];
    assert_eq!(api.raw("GET", "/api/status", &with_cookie, b"").0, 200);

    // A change needs the CSRF token, and no foreign Origin.
    let live_state = || api.get("/api/status/page?q=rec").1["connectors"][0]["state"].clone();
    engine.wait_until("rec connected", Duration::from_secs(30), |_| {
        live_state() == "connected"
    });
    let stop = "/api/north/rec/stop";
    let (code, _, body) = api.raw("POST", stop, &with_cookie, b"");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let (code, _, _) = api.raw(
        "POST",
        stop,
        &[
            ("cookie", &cookie),
            ("x-csrf-token", "0123"),
            ("host", &host),
        ],
        b"",
    );
    assert_eq!(code, 403);
    let (code, _, _) = api.raw(
        "POST",
        stop,
        &[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("origin", "http://evil.example"),
        ],
        b"",
    );
    assert_eq!(code, 403);
    assert_eq!(live_state(), "connected", "a refused change stopped it");
    let (code, _, body) = api.raw(
        "POST",
        stop,
        &[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("origin", &format!("http://{host}")),
        ],
        b"",
    );
    assert_eq!(code, 204, "{body}");

    // A stream opened with the session: it ends when the session does.
    let stream = {
        let url = format!("{}/api/status/stream?interval_ms=200", api.url);
        let cookie = cookie.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            let mut r = agent.get(&url).header("cookie", &cookie).call().unwrap();
            let mut reader = std::io::BufReader::new(r.body_mut().as_reader());
            let mut events = 0;
            let mut line = String::new();
            while std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) > 0 {
                if line.starts_with("event: status") {
                    events += 1;
                    if events == 1 {
                        let _ = tx.send("first");
                    }
                }
                line.clear();
            }
            let _ = tx.send("ended");
        });
        rx
    };
    assert_eq!(stream.recv_timeout(Duration::from_secs(10)), Ok("first"));

    // Signing out needs the token too, and ends the session.
    assert_eq!(
        api.raw("DELETE", "/console-session", &with_cookie, b"").0,
        403
    );
    let (code, headers, _) = api.raw(
        "DELETE",
        "/console-session",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        b"",
    );
    assert_eq!(code, 204);
    assert!(header(&headers, "set-cookie").contains("Max-Age=0"));
    assert_eq!(api.raw("GET", "/api/status", &with_cookie, b"").0, 401);
    assert_eq!(api.raw("GET", "/console-session", &with_cookie, b"").0, 401);
    assert_eq!(
        stream.recv_timeout(Duration::from_secs(10)),
        Ok("ended"),
        "the stream of a signed-out session goes on"
    );
    engine.stop();
}

#[test]
fn secrets_stay_in_the_gateway_uploads_land_whole_and_the_status_comes_in_pages() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt"]);
    ws.config(CONFIG);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let (_, doc) = api.get("/api/openapi.json");

    // A password is saved, never shown, kept by a replacement without it, cleared by null.
    let north = json!({
        "id": "broker", "type": "mqtt-north",
        "settings": {"broker": {"host": "127.0.0.1", "port": 1, "username": "u", "password": "pw-1st"}},
    });
    let (code, body) = api.post("/api/north", &north);
    assert_eq!(code, 201, "{body}");
    let (_, shown) = api.get("/api/north/broker");
    assert_eq!(shown["settings"]["broker"]["username"], "u");
    assert!(
        shown["settings"]["broker"].get("password").is_none(),
        "{shown}"
    );
    let (_, all) = api.get("/api/north");
    assert!(!all.to_string().contains("pw-1st"), "{all}");
    let config = || fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(config().contains("pw-1st"));
    let replace = |north: &Value| {
        let (code, body) = api.send("PUT", "/api/north/broker", Some(&north.to_string()), None);
        assert_eq!(code, 204, "{body}");
    };
    let mut replacement = shown.clone();
    replacement["settings"]["topic"] = json!("plant/{pointId}");
    replace(&replacement);
    assert!(config().contains("pw-1st") && config().contains("plant/{pointId}"));
    replacement["settings"]["broker"]["password"] = Value::Null;
    replace(&replacement);
    assert!(!config().contains("pw-1st"), "{}", config());

    // Uploads: only plain plugin file names, never empty, written whole.
    let auth = format!("Bearer {}", api.token);
    let bearer = [("authorization", auth.as_str())];
    for (name, why) in [
        ("..%2Fescape.so", "not a plugin file name"),
        ("notes.txt", "not a plugin file name"),
        (".hidden.so", "not a plugin file name"),
        ("empty.so", "empty"),
    ] {
        let body: &[u8] = if name == "empty.so" { b"" } else { b"x" };
        let (code, _, answer) =
            api.raw("PUT", &format!("/api/plugins/files/{name}"), &bearer, body);
        assert_eq!(code, 400, "{name}: {answer}");
        assert!(answer.contains(why), "{name}: {answer}");
    }
    assert!(!ws.dir.path().join("escape.so").exists());
    let copy = oibus_tests::patch_declaration(
        &fs::read(oibus_tests::library("oibus_test_probe")).unwrap(),
        "oibus-test-probe",
        "",
        Some("0.1.1"),
    );
    let (code, _, answer) = api.raw("PUT", "/api/plugins/files/probe-copy.so", &bearer, &copy);
    assert_eq!(code, 200, "{answer}");
    let reports: Value = serde_json::from_str(&answer).unwrap();
    conforms(&doc, "/api/plugins/files/{name}", "put", 200, &reports);
    assert_eq!(report_named(&answer, "probe-copy.so")["status"], "ok");
    assert_eq!(
        fs::read(ws.path("plugins/probe-copy.so")).unwrap().len(),
        copy.len()
    );
    // Garbage is refused at once and not kept; a plugin the engine cannot take (built for a
    // newer API) is kept and reported refused (an upload is whole: no waiting for a copy to
    // settle).
    let (code, _, answer) = api.raw("PUT", "/api/plugins/files/junk.so", &bearer, &[7u8; 4096]);
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("not kept"), "{answer}");
    assert!(!ws.path("plugins/junk.so").exists());
    let newer = fs::read(oibus_tests::library("oibus_test_newer_api")).unwrap();
    let (code, _, answer) = api.raw("PUT", "/api/plugins/files/junk.so", &bearer, &newer);
    assert_eq!(code, 200, "{answer}");
    let junk = report_named(&answer, "junk.so");
    assert_eq!(junk["status"], "refused", "{junk}");
    assert!(
        fs::read_dir(ws.path("plugins"))
            .unwrap()
            .flatten()
            .all(|f| !f.file_name().to_string_lossy().ends_with(".upload"))
    );

    // The status in pages: totals of every connector, a filter, and bounds named.
    let (code, page) = api.get("/api/status/page?kind=north&limit=1");
    assert_eq!(code, 200, "{page}");
    conforms(&doc, "/api/status/page", "get", 200, &page);
    assert_eq!(
        (page["total"].as_u64(), page["matching"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["connectors"].as_array().unwrap().len(), 1);
    assert_eq!(page["refused_plugins"], 1, "junk.so");
    let (_, second) = api.get("/api/status/page?kind=north&limit=1&offset=1");
    assert_ne!(
        page["connectors"][0]["id"], second["connectors"][0]["id"],
        "{second}"
    );
    let (_, found) = api.get("/api/status/page?q=BROK");
    assert_eq!(found["matching"], 1, "{found}");
    assert_eq!(found["connectors"][0]["id"], "broker");
    let (code, refused) = api.get("/api/status/page?limit=0");
    assert_eq!(code, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("limit"),
        "{refused}"
    );
    // The stream sends the same page as an event.
    let (code, kind, text) = {
        let url = format!("{}/api/status/stream?limit=1", api.url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut r = agent
            .get(&url)
            .header("authorization", &auth)
            .call()
            .unwrap();
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        let mut first = String::new();
        let mut reader = std::io::BufReader::new(r.body_mut().as_reader());
        while !first.contains("\n\n") {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut reader, &mut line).unwrap() == 0 {
                break;
            }
            first.push_str(&line);
        }
        (200, kind, first)
    };
    assert_eq!(code, 200);
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    assert!(text.starts_with("event: status\ndata: {"), "{text}");
    engine.stop();
}

/// Two replacements of one connector sent at once, one changing its password and one leaving
/// the password out (as the console's form does): whichever the engine applies last, the new
/// password stays. The secrets a replacement leaves out are filled in the engine's main loop in
/// the same step as the save, not read by the API beforehand (a read that the other edit could
/// make stale, which put the old password back).
#[test]
fn overlapping_replacements_keep_the_newest_secret() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_mqtt"]);
    ws.config(CONFIG);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let north = |password: Option<&str>, topic: &str| {
        let mut broker = json!({"host": "127.0.0.1", "port": 1, "username": "u"});
        if let Some(p) = password {
            broker["password"] = json!(p);
        }
        json!({
            "id": "broker", "type": "mqtt-north",
            "settings": {"broker": broker, "topic": topic},
        })
    };
    let (code, body) = api.post("/api/north", &north(Some("pw-0"), "t-0"));
    assert_eq!(code, 201, "{body}");
    let config = || fs::read_to_string(ws.path("oibus.toml")).unwrap();
    for round in 1..=12 {
        let password = format!("pw-{round}");
        let with_password = north(Some(&password), "t-0").to_string();
        let without = north(None, &format!("t-{round}")).to_string();
        std::thread::scope(|scope| {
            for body in [&with_password, &without] {
                let api = &api;
                scope.spawn(move || {
                    let (code, answer) = api.send("PUT", "/api/north/broker", Some(body), None);
                    assert_eq!(code, 204, "{answer}");
                });
            }
        });
        let text = config();
        assert!(
            text.contains(&format!("\"{password}\"")),
            "round {round}: the password set by one replacement was lost to the other:\n{text}"
        );
        let (_, shown) = api.get("/api/north/broker");
        assert!(!shown.to_string().contains(&password), "{shown}");
    }
}

#[test]
fn a_plugin_uploaded_with_its_signature_loads_where_signatures_are_required() {
    let ws = Workspace::new(&[]);
    ws.config("[engine.plugins]\nsignatures = \"require\"\n");
    let keys = ws.path("keys");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(oibus_tests::oibus())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    run(&[
        "plugins",
        "keygen",
        "--out",
        keys.to_str().unwrap(),
        "--name",
        "vendor",
        "--no-password",
    ]);
    fs::create_dir_all(ws.data().join("trusted-keys")).unwrap();
    fs::copy(
        keys.join("vendor.pub"),
        ws.data().join("trusted-keys/vendor.pub"),
    )
    .unwrap();
    let library = ws.path("probe.so");
    fs::copy(oibus_tests::library("oibus_test_probe"), &library).unwrap();
    run(&[
        "plugins",
        "sign",
        library.to_str().unwrap(),
        "--key",
        keys.join("vendor.key").to_str().unwrap(),
    ]);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let auth = format!("Bearer {}", api.token);
    let bearer = [("authorization", auth.as_str())];
    let bytes = fs::read(&library).unwrap();

    // Without its signature, the library is refused, saying why.
    let (code, _, answer) = api.raw("PUT", "/api/plugins/files/unsigned.so", &bearer, &bytes);
    assert_eq!(code, 200, "{answer}");
    let unsigned = report_named(&answer, "unsigned.so");
    assert_eq!(unsigned["status"], "refused", "{unsigned}");
    assert!(
        unsigned["reason"]
            .as_str()
            .unwrap()
            .contains("no unsigned.so.minisig beside it"),
        "{unsigned}"
    );

    // The signature first, then the library: loaded, signed by the trusted key.
    let signature = fs::read(ws.path("probe.so.minisig")).unwrap();
    let (code, _, answer) = api.raw(
        "PUT",
        "/api/plugins/files/probe.so.minisig",
        &bearer,
        &signature,
    );
    assert_eq!(code, 200, "{answer}");
    let (code, _, answer) = api.raw("PUT", "/api/plugins/files/probe.so", &bearer, &bytes);
    assert_eq!(code, 200, "{answer}");
    let signed = report_named(&answer, "probe.so");
    assert_eq!(signed["status"], "ok", "{signed}");
    assert_eq!(signed["signer"]["signature"], "trusted", "{signed}");
    let (_, types) = api.get("/api/connector-types");
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "probe-north"),
        "{types}"
    );
    engine.stop();
}

#[test]
fn every_text_the_api_sets_is_bounded_and_never_echoed_whole() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_south_folder_scanner"]);
    ws.config(CONFIG);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let big = "x".repeat(200_000);
    // The whole answer is small: nothing is echoed whole.
    let refused = |code: u16, answer: &Value, says: &str| {
        assert_eq!(
            code,
            400,
            "{}",
            &answer.to_string()[..answer.to_string().len().min(500)]
        );
        let text = answer.to_string();
        assert!(text.len() < 4_000, "an answer of {} bytes", text.len());
        assert!(text.contains(says), "{text}");
    };
    // An id, an item name, a folder path and a point id (a key of the settings).
    let (code, a) = api.post(
        "/api/north",
        &json!({"id": big, "type": "probe-north", "settings": {}}),
    );
    refused(
        code,
        &a,
        "an id of 200000 bytes is longer than the 128 bytes allowed",
    );
    let (code, a) = api.post(
        "/api/south",
        &json!({"id": "files", "type": "folder-scanner",
            "settings": {"input_folder": big},
            "items": [{"name": "all", "scan_mode": "every-second", "settings": {}}]}),
    );
    refused(code, &a, "/settings/input_folder");
    assert!(a.to_string().contains("65536 bytes allowed"), "{a}");
    let (code, a) = api.post(
        "/api/south",
        &json!({"id": "files", "type": "folder-scanner",
            "settings": {"input_folder": "/tmp"},
            "items": [{"name": "x".repeat(1000), "scan_mode": "every-second", "settings": {}}]}),
    );
    refused(code, &a, "/items/0/name");
    assert!(a.to_string().contains("512 bytes allowed"), "{a}");
    let (code, a) = api.post(
        "/api/north",
        &json!({"id": "points", "type": "probe-north", "settings": {"record_file": big}}),
    );
    refused(code, &a, "/settings/record_file");
    // In a path, a query, an item test.
    let (code, a) = api.get(&format!("/api/north/{}", "y".repeat(1000)));
    refused(code, &a, "a path segment of 1000 bytes");
    let (code, a) = api.get(&format!("/api/logs?q={}", "z".repeat(10_000)));
    refused(code, &a, "a query string of");
    let (code, a) = api.post(
        "/api/south/test-item",
        &json!({"type": "folder-scanner", "settings": {"input_folder": "/tmp"},
            "item": {"name": big}}),
    );
    refused(code, &a, "/item/name: an item name of 200000 bytes");
    // Nothing of it was saved.
    let saved = fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(
        !saved.contains("xxxxxxxxxx"),
        "saved: {} bytes",
        saved.len()
    );
    engine.stop();
}
