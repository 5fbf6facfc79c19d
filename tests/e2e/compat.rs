//! The API-evolution promise, attacked with a real old plugin: `tests/compat/api-1.0` holds a
//! frozen copy of plugin API 1.0 and a plugin built against it. The test compiles that plugin
//! out of the workspace, then loads and runs it in the current engine, whose API has gained
//! capabilities (`test_item` in 1.1, `browse` in 1.2) and a host function (`plugin_dir`) since.

use oibus_tests::{
    api::Api,
    process::{Workspace, recorded_values},
};
use serde_json::json;
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

const OLD: &str = "liboibus_test_api_1_0.so";

/// Builds the old plugin once per test process, from a copy of its folder outside the
/// repository, in the workspace's target folder (its dependencies are built there already).
fn old_plugin() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        oibus_tests::build();
        let source = oibus_tests::workspace().join("tests/compat/api-1.0");
        let copy = tempfile::tempdir().unwrap().keep();
        copy_tree(&source, &copy);
        // The workspace's versions of the dependencies (cargo drops the ones not used).
        fs::copy(
            oibus_tests::workspace().join("Cargo.lock"),
            copy.join("Cargo.lock"),
        )
        .unwrap();
        let artifacts = oibus_tests::artifacts();
        let target = artifacts.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "oibus-test-api-1-0"])
            .current_dir(&copy)
            .env("CARGO_TARGET_DIR", target);
        if artifacts.ends_with("release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("cargo");
        assert!(
            out.status.success(),
            "building the API 1.0 plugin failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = fs::read_to_string(copy.join("oibus-plugin-api/Cargo.toml")).unwrap();
        assert!(
            manifest.contains("version = \"1.0.0\""),
            "the frozen copy is API 1.0.0"
        );
        artifacts.join(OLD)
    })
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The host really is newer than the plugin: otherwise this file proves nothing.
fn host_is_newer_than_1_0() {
    let host = semver::Version::parse(oibus_plugin_api::API_VERSION).unwrap();
    assert!(
        host.major == 1 && host.minor >= 2,
        "host API {host} must be a later 1.x than the frozen 1.0"
    );
}

#[test]
fn a_plugin_built_against_api_1_0_is_listed_ok_by_the_newer_host() {
    host_is_newer_than_1_0();
    let folder = tempfile::tempdir().unwrap();
    fs::copy(old_plugin(), folder.path().join(OLD)).unwrap();
    let (code, out, err) =
        oibus_tests::run_oibus(&["plugins", "list", "--dir", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let row = out.lines().find(|l| l.starts_with(OLD)).unwrap();
    for part in [
        "oibus-test-api-1-0",
        " 1.0.0 ",
        "api10-counter (south: QueriesLastPoint)",
        "api10-recorder (north: HandlesValues)",
    ] {
        assert!(row.contains(part), "{part:?} in {row}");
    }
    assert!(row.trim_end().ends_with(" ok"), "{row}");
}

const CONFIG: &str = r#"
[engine]
reconnect = { min = "100ms", max = "300ms" }

[[scan_modes]]
name = "fast"
cron = "* * * * * *"

[[south]]
id = "old-in"
type = "api10-counter"
settings = { step = 2 }
items = [
  { name = "a", scan_mode = "fast", settings = { start = 100 } },
  { name = "broken", scan_mode = "fast", settings = { fail = true } },
]

[[south]]
id = "old-iso"
type = "api10-counter"
isolation = "process"
items = [{ name = "b", scan_mode = "fast", settings = { start = 1000 } }]

[[north]]
id = "out"
type = "api10-recorder"
settings = { file = "{ws}/recorded" }
caching = { send_interval = "100ms" }

[[north]]
id = "out-iso"
type = "api10-recorder"
isolation = "process"
settings = { file = "{ws}/recorded-iso" }
caching = { send_interval = "100ms" }
"#;

fn points(file: &Path) -> Vec<String> {
    recorded_values(file)
        .into_iter()
        .map(|v| v.point_id.to_string())
        .collect()
}

#[test]
fn a_plugin_built_against_api_1_0_runs_in_process_and_isolated_and_answers_not_supported_for_item_tests()
 {
    host_is_newer_than_1_0();
    let ws = Workspace::new(&[]);
    fs::copy(old_plugin(), ws.path("plugins").join(OLD)).unwrap();
    ws.config(CONFIG);
    let mut engine = ws.start();
    // Values of both Souths (one in a child process) reach both Norths (one in a child).
    engine.wait_until(
        "values of both Souths in both Norths",
        Duration::from_secs(60),
        |_| {
            ["recorded", "recorded-iso"].iter().all(|f| {
                let p = points(&ws.path(f));
                p.iter().filter(|p| *p == "a").count() >= 2
                    && p.iter().filter(|p| *p == "b").count() >= 2
            })
        },
    );
    let values = recorded_values(&ws.path("recorded"));
    let a: Vec<f64> = values
        .iter()
        .filter(|v| v.point_id.as_str() == "a")
        .map(|v| match v.value {
            oibus_plugin_api::DataValue::Float(f) => f,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(a[0], 102.0, "start 100 + step 2 at the first scan");
    // Item states and the state folder of API 1.0 work in the newer host.
    let south = engine.connector("old-in").unwrap();
    assert!(
        south.to_string().contains("this item is set to fail"),
        "{south}"
    );
    assert!(ws.data().join("connectors/old-in/scans").exists());
    assert!(ws.data().join("connectors/old-iso/scans").exists());

    // The capability added in 1.1: a clear refusal, and the engine goes on.
    let api = Api::of(&ws, &mut engine);
    let (code, answer) = api.post(
        "/api/south/test-item",
        &json!({"type": "api10-counter", "settings": {}, "item": {"name": "a", "settings": {"start": 1}}}),
    );
    assert_eq!(code, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    for part in [
        "not-supported",
        "api10-counter",
        "oibus-test-api-1-0 1.0.0",
        "API 1.0.0",
        "API 1.1",
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    // The capability added in 1.2 likewise.
    let (code, answer) = api.post(
        "/api/south/browse",
        &json!({"type": "api10-counter", "settings": {}}),
    );
    assert_eq!(code, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("not-supported") && error.contains("browsing arrived in API 1.2"),
        "{error}"
    );
    let before = points(&ws.path("recorded")).len();
    engine.wait_until("values still flowing", Duration::from_secs(30), |_| {
        points(&ws.path("recorded")).len() > before + 2
    });
    assert_eq!(engine.connector("old-in").unwrap()["state"], "connected");
    engine.stop();

    // The same from the command line.
    let (code, out, err) = oibus_tests::run_oibus(&[
        "test-item",
        "--plugins",
        ws.path("plugins").to_str().unwrap(),
        "--type",
        "api10-counter",
        "--settings",
        "{}",
        "--item",
        r#"{"name": "a"}"#,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("not-supported") && err.contains("API 1.0.0"),
        "{err}"
    );
}

/// Even when a host skips the manifest check and calls the newer function on the old vtable,
/// the default body answers: `not-supported`, no crash.
#[test]
fn calling_a_newer_capability_on_an_old_vtable_answers_not_supported() {
    host_is_newer_than_1_0();
    let folder = tempfile::tempdir().unwrap();
    fs::copy(old_plugin(), folder.path().join(OLD)).unwrap();
    let options = oibus_engine::loader::LoadOptions::unchecked(folder.path().join("cache"));
    let (registry, reports) =
        oibus_engine::loader::PluginRegistry::discover(folder.path(), &options).unwrap();
    assert!(
        reports
            .iter()
            .all(|r| matches!(r.status, oibus_engine::loader::PluginStatus::Ok)),
        "{reports:?}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let state = folder.path().join("state");
        fs::create_dir_all(&state).unwrap();
        let c = oibus_tests::standalone_connector(
            &registry,
            ("old", "api10-counter"),
            &json!({}),
            state,
            std::sync::Arc::new(oibus_tests::AcceptAll),
        );
        c.connect().await.unwrap();
        let e = c
            .test_item(oibus_plugin_api::Item {
                name: "a".into(),
                enabled: true,
                scan_mode: "test".into(),
                settings: "{}".into(),
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not-supported") && e.contains("test_item"),
            "{e}"
        );
        // The connector still works after it.
        c.last_point_query(vec![oibus_plugin_api::Item {
            name: "a".into(),
            enabled: true,
            scan_mode: "fast".into(),
            settings: "{}".into(),
        }])
        .await
        .unwrap();
    });
}
