//! The web console in a real browser: Debian's Chromium, driven by Playwright
//! (`tests/browser/console.mjs`, installed by `scripts/test` with `npm ci`), against the real
//! engine with real plugin files and a real mosquitto broker. The script clicks through an
//! operator's day; this test then checks, through the API and the files, that every click did
//! what the page said. Screenshots land in `target/console-screenshots/`.

use oibus_tests::{
    api::Api,
    library, patch_declaration,
    process::{Engine, Workspace, recorded_values},
    servers::Mosquitto,
    workspace,
};
use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

const PROBE: &str = "oibus_test_probe";

fn config() -> String {
    r#"
[engine]
name = "console-test"
reconnect = { min = "50ms", max = "500ms" }

[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "plant-simulator"
type = "simulator"
query = "last-point"
settings = { seed = 42 }
items = [
  { name = "boiler.temperature", scan_mode = "every-second", settings = { signal = { type = "sine", amplitude = 15.0, period_s = 60.0, offset = 80.0 } } },
  { name = "boiler.pressure", scan_mode = "every-second", settings = { signal = { type = "random", min = 1.8, max = 2.2 } } },
  { name = "conveyor.position", scan_mode = "every-second", settings = { signal = { type = "ramp", min = 0.0, max = 100.0, period_s = 20.0 } } },
]

[[south]]
id = "counter"
type = "probe-south"
settings = { batch_size = 10, batches = 3, ack_file = "{ws}/acks" }
retention = { max_size = "1MB" }
items = [{ name = "a", scan_mode = "subscription" }]

[[north]]
id = "json-files"
type = "file-writer"
subscriptions = ["plant-simulator"]
settings = { output_folder = "{ws}/out", prefix = "plant-" }
caching = { send_interval = "1s" }

[[north]]
id = "doomed"
type = "probe-north"
subscriptions = ["plant-simulator"]
settings = { fault_file = "{ws}/doomed-fault" }
caching = { send_interval = "100ms", retry_interval = "1s", retry_count = 100000 }

[[north]]
id = "flaky"
type = "probe-north"
subscriptions = ["plant-simulator"]
settings = { fault_file = "{ws}/flaky-fault" }
caching = { send_interval = "100ms", retry_interval = "100ms", retry_count = 100000 }

[[north]]
id = "refusing"
type = "probe-north"
subscriptions = ["counter"]
settings = { record_file = "{ws}/received", refuse_values = [7] }
caching = { group_count = 100, send_interval = "50ms", retry_interval = "20ms", retry_count = 1 }
"#
    .into()
}

/// Where the browser scripts write their screenshots.
fn screenshots() -> PathBuf {
    oibus_tests::artifacts()
        .parent()
        .expect("target folder")
        .join("console-screenshots")
}

/// Runs the browser script `script` of `tests/browser` against the engine; fails with what it
/// said and the engine's log.
fn browse(script: &str, api: &Api, ws: &Workspace, engine: &Engine, env: &[(&str, &str)]) {
    let browser = workspace().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: scripts/test runs `npm ci` in tests/browser"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Chromium is not installed: scripts/test installs Debian's chromium"
    );
    let out = Command::new("node")
        .arg(browser.join(script))
        .current_dir(&browser)
        .env("OIBUS_URL", &api.url)
        .env("OIBUS_TOKEN_FILE", ws.data().join("admin-token"))
        .env("SCREENSHOTS", screenshots())
        .envs(env.iter().copied())
        .output()
        .expect("node (scripts/test installs nodejs when it is missing)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{said}");
    assert!(
        out.status.success(),
        "{script} failed (screenshots in {}):\n{said}\nengine log:\n{}",
        screenshots().display(),
        engine.log()
    );
}

#[test]
fn an_operator_starts_from_an_empty_gateway_without_traps() {
    let ws = Workspace::new(&["oibus_south_simulator", "oibus_north_file_writer", PROBE]);
    ws.config(
        "[engine]\nname = \"operator-test\"\nreconnect = { min = \"50ms\", max = \"500ms\" }\n\
         [[scan_modes]]\nname = \"every-second\"\ncron = \"* * * * * *\"\n",
    );
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let out = ws.path("out");
    browse(
        "operator.mjs",
        &api,
        &ws,
        &engine,
        &[("OUT", out.to_string_lossy().as_ref())],
    );
    // The scan mode made in the browser is in the configuration file, with its items' South.
    let saved = fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(
        saved.contains("name = \"every-10s\"") && saved.contains("every = \"10s\""),
        "{saved}"
    );
    let (code, cache) = api.get("/api/north/refusing/cache");
    assert_eq!(code, 200);
    assert_eq!(cache["errors"].as_array().map(Vec::len), Some(1), "{cache}");
    engine.stop();
}

#[test]
fn an_operator_runs_the_gateway_from_the_console() {
    let broker = Mosquitto::start(Some(("plant", "s3cret-pass")));
    let ws = Workspace::new(&[
        "oibus_south_simulator",
        "oibus_north_file_writer",
        "oibus_north_mqtt",
        PROBE,
    ]);
    ws.config(&config());
    // `doomed` cannot send: the simulator's values wait in its queue. `flaky` cannot either,
    // until its destination comes back.
    fs::write(ws.path("doomed-fault"), "transient").unwrap();
    fs::write(ws.path("flaky-fault"), "transient").unwrap();
    let upload = ws.path("probe-v2.so");
    fs::write(
        &upload,
        patch_declaration(
            &fs::read(library(PROBE)).unwrap(),
            "oibus-test-probe",
            "",
            Some("0.2.0"),
        ),
    )
    .unwrap();
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    engine.wait_until(
        "the refused value in the error store",
        Duration::from_secs(30),
        |e| e.counter("refusing", "values_to_error") == 1,
    );
    engine.wait_until("flaky failing", Duration::from_secs(30), |e| {
        e.connector("flaky")
            .is_some_and(|c| c["failing"] == true && c["last_error"].is_string())
    });
    fs::remove_file(ws.path("flaky-fault")).unwrap();
    engine.wait_until("flaky working again", Duration::from_secs(30), |e| {
        e.connector("flaky")
            .is_some_and(|c| c["failing"] == false && c["last_error"].is_string())
    });
    engine.wait_until("values queued for doomed", Duration::from_secs(30), |e| {
        e.connector("doomed")
            .is_some_and(|c| c["cache"]["queued_values"].as_u64() > Some(0))
    });
    let port = broker.port.to_string();
    let upload_path = upload.to_string_lossy().into_owned();
    browse(
        "console.mjs",
        &api,
        &ws,
        &engine,
        &[
            ("BROKER_PORT", port.as_str()),
            ("BROKER_USER", "plant"),
            ("BROKER_PASSWORD", "s3cret-pass"),
            ("UPLOAD_FILE", upload_path.as_str()),
        ],
    );

    // What the clicks did, as the API and the files see it.
    assert_eq!(api.get("/api/north/doomed").0, 404);
    assert!(!ws.data().join("cache/doomed").exists());
    assert!(
        engine
            .log()
            .contains("north \"doomed\" deleted on request; its cache ("),
        "{}",
        engine.log()
    );
    let (code, north) = api.get("/api/north/browser-mqtt");
    assert_eq!(code, 200, "{north}");
    assert_eq!(north["settings"]["broker"]["username"], "plant", "{north}");
    assert!(
        north["settings"]["broker"].get("password").is_none(),
        "the API showed a secret: {north}"
    );
    let saved = fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(
        saved.contains("s3cret-pass"),
        "the password typed in the form was not saved"
    );
    engine.wait_until("the new North publishing", Duration::from_secs(30), |e| {
        e.counter("browser-mqtt", "values_sent") > 0
    });
    engine.wait_until(
        "the retried value delivered",
        Duration::from_secs(30),
        |_| {
            recorded_values(&ws.path("received"))
                .iter()
                .any(|v| v.value == oibus_plugin_api::DataValue::Int(7))
        },
    );
    // The replay asked in the page: 29 values sent, the refused one retried, then the 30 again.
    engine.wait_until("the replayed values", Duration::from_secs(30), |_| {
        recorded_values(&ws.path("received")).len() >= 60
    });
    // The status file is written every second: the request the page made may not be in it yet.
    engine.wait_until(
        "the history request done in the status",
        Duration::from_secs(10),
        |e| {
            e.connector("plant-simulator")
                .is_some_and(|c| c["history_request"]["state"] == "done")
        },
    );
    let counter = engine.connector("counter").unwrap();
    assert_eq!(counter["plugin"], "oibus-test-probe 0.2.0", "{counter}");
    assert!(
        fs::read_dir(ws.path("plugins"))
            .unwrap()
            .flatten()
            .all(|f| !f.file_name().to_string_lossy().ends_with(".upload")),
        "an upload left its temporary file"
    );
    let (_, south) = api.get("/api/south/plant-simulator");
    let items: Vec<&str> = south["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        [
            "boiler.temperature",
            "boiler.pressure",
            "conveyor.position",
            "conveyor.speed",
            "boiler.level"
        ]
    );
    assert_eq!(
        south["items"][3]["settings"],
        serde_json::json!({"signal": {"type": "random", "min": 0.5, "max": 1.5}})
    );
    assert_eq!(
        south["items"][4]["settings"],
        serde_json::json!({"signal": {"type": "random", "min": 0, "max": 5}})
    );
    engine.stop();
}

#[test]
fn the_console_shows_a_site_of_1000_connectors_one_page_at_a_time() {
    let ws = Workspace::new(&[PROBE]);
    let mut config = String::new();
    for i in 0..500 {
        let _ = write!(
            config,
            "[[south]]\nid = \"south-{i:04}\"\ntype = \"probe-south\"\n\n\
             [[north]]\nid = \"north-{i:04}\"\ntype = \"probe-north\"\nsubscriptions = [\"south-{i:04}\"]\n\n"
        );
    }
    ws.config(&config);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    engine.wait_until("1,000 connectors connected", Duration::from_secs(60), |e| {
        e.status().is_some_and(|s| {
            s["connectors"]
                .as_array()
                .is_some_and(|c| c.len() == 1000 && c.iter().all(|c| c["state"] == "connected"))
        })
    });
    browse("scale.mjs", &api, &ws, &engine, &[]);
    engine.stop();
}

#[test]
fn the_console_csv_of_items_survives_what_spreadsheets_write() {
    let browser = workspace().join("tests/browser");
    let out = Command::new("node")
        .args(["--test", "csv.test.mjs"])
        .current_dir(&browser)
        .output()
        .expect("node (scripts/test installs nodejs when it is missing)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("# pass 5") && said.contains("# fail 0"),
        "{said}"
    );
}

#[test]
fn every_connector_type_of_the_project_gets_a_form_of_fields() {
    let ws = Workspace::new(&[
        "oibus_south_simulator",
        "oibus_south_folder_scanner",
        "oibus_south_modbus",
        "oibus_south_mqtt",
        "oibus_south_sql",
        "oibus_opcua",
        "oibus_north_file_writer",
        "oibus_north_console",
        "oibus_north_mqtt",
        "oibus_north_nats",
    ]);
    ws.config("");
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let (_, types) = api.get("/api/connector-types");
    assert_eq!(types.as_array().map(Vec::len), Some(13), "{types}");
    browse("forms.mjs", &api, &ws, &engine, &[]);
    engine.stop();
}
