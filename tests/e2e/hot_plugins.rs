//! Plugins dropped into, upgraded in and removed from the folder of a running engine.

use oibus_tests::{
    library, library_name, patch_declaration,
    process::{Engine, Workspace, check_acknowledged},
};
use std::{collections::HashSet, fs, io::Write, time::Duration};

const PROBE: &str = "oibus_test_probe";
const PROBE_ID: &str = "oibus-test-probe";

/// The probe library with another version in its declaration.
fn probe_version(version: &str) -> Vec<u8> {
    patch_declaration(
        &fs::read(library(PROBE)).unwrap(),
        PROBE_ID,
        "",
        Some(version),
    )
}

fn plugin_of(engine: &Engine, id: &str) -> String {
    engine
        .connector(id)
        .map(|c| c["plugin"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn state_of(engine: &Engine, id: &str) -> String {
    engine
        .connector(id)
        .map(|c| c["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn report_of(engine: &Engine, file: &str) -> serde_json::Value {
    engine
        .status()
        .and_then(|s| {
            s["plugins"]
                .as_array()?
                .iter()
                .find(|r| r["file"].as_str().is_some_and(|f| f.ends_with(file)))
                .cloned()
        })
        .unwrap_or_default()
}

#[test]
fn a_plugin_dropped_into_the_running_engine_starts_its_waiting_connector() {
    let ws = Workspace::new(&[]);
    ws.config(
        r#"
[[north]]
id = "late"
type = "probe-north"
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("waiting for its plugin", Duration::from_secs(20), |e| {
        state_of(e, "late") == "waiting-for-plugin"
    });
    // Copied slowly, as over a network share: half, a pause, the rest.
    let bytes = fs::read(library(PROBE)).unwrap();
    let target = ws.path("plugins").join(library_name(PROBE));
    let mut f = fs::File::create(&target).unwrap();
    f.write_all(&bytes[..bytes.len() / 2]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    f.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(f);
    engine.wait_until("the connector to start", Duration::from_secs(30), |e| {
        state_of(e, "late") == "connected"
    });
    assert_eq!(report_of(&engine, &library_name(PROBE))["status"], "ok");
    engine.stop();
}

const STREAM: &str = r#"
[engine]
reconnect = { min = "100ms", max = "500ms" }
timeouts = { lifecycle = "3s" }

[[south]]
id = "src"
type = "probe-south"
enabled = {enabled}
settings = { batch_size = 20, interval_ms = 5, ack_file = "{ws}/acks", behaviour = { fail_connect_on_version = "0.3.0" } }
[[south.items]]
name = "a"
scan_mode = "subscription"

[[north]]
id = "dst"
type = "probe-north"
settings = { record_file = "{ws}/received", behaviour = { fail_connect_on_version = "0.3.0" } }
caching = { group_count = 50, send_interval = "20ms" }
"#;

fn acked_lines(ws: &Workspace) -> usize {
    fs::read_to_string(ws.path("acks"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn upgrade_keeps_every_value_rolls_back_a_broken_version_and_refuses_a_downgrade() {
    upgrade_scenario("");
}

#[test]
fn isolated_connectors_are_upgraded_and_rolled_back_the_same_way() {
    upgrade_scenario("\n[engine.plugins]\nisolation = \"process\"\n");
}

/// The upgrade scenario, with `extra` appended to the configuration.
fn upgrade_scenario(extra: &str) {
    let ws = Workspace::new(&[PROBE]);
    let config =
        |south: bool| ws.config(&(STREAM.replace("{enabled}", &south.to_string()) + extra));
    config(true);
    let plugins = ws.path("plugins");
    let mut engine = ws.start();
    engine.wait_until("values flowing on 0.1.0", Duration::from_secs(30), |e| {
        acked_lines(&ws) > 20 && plugin_of(e, "dst") == "oibus-test-probe 0.1.0"
    });

    // v2 under a new file name: both connectors move to it.
    fs::write(plugins.join("probe-v2.so"), probe_version("0.2.0")).unwrap();
    engine.wait_until("the upgrade to 0.2.0", Duration::from_secs(30), |e| {
        ["src", "dst"]
            .iter()
            .all(|c| plugin_of(e, c) == "oibus-test-probe 0.2.0" && state_of(e, c) == "connected")
    });
    // The replaced file waits on standby behind the new one, as it would after a restart.
    let old = report_of(&engine, &library_name(PROBE));
    assert_eq!(old["status"], "standby", "{old}");
    assert_eq!(report_of(&engine, "probe-v2.so")["status"], "ok");
    let before = acked_lines(&ws);
    engine.wait_until("values flowing on 0.2.0", Duration::from_secs(30), |_| {
        acked_lines(&ws) > before + 20
    });
    let log = engine.log();
    if !extra.is_empty() {
        assert!(
            log.contains("plugin host process started"),
            "isolated: {log}"
        );
    }
    let downtimes: Vec<&str> = log.lines().filter(|l| l.contains("(downtime")).collect();
    assert_eq!(downtimes.len(), 2, "{log}");
    eprintln!("{}", downtimes.join("\n"));

    // A broken v3 (fails at connect): rolled back to v2, with the reason.
    fs::write(plugins.join("probe-v3.so"), probe_version("0.3.0")).unwrap();
    engine.wait_until("v3 to be refused", Duration::from_secs(60), |e| {
        report_of(e, "probe-v3.so")["status"] == "refused"
    });
    let reason = report_of(&engine, "probe-v3.so")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("rolled back") && reason.contains("configured to fail at connect"),
        "{reason}"
    );
    engine.wait_until("running 0.2.0 again", Duration::from_secs(30), |e| {
        ["src", "dst"]
            .iter()
            .all(|c| plugin_of(e, c) == "oibus-test-probe 0.2.0" && state_of(e, c) == "connected")
    });

    // A lower version waits on standby.
    fs::write(plugins.join("probe-old.so"), probe_version("0.0.9")).unwrap();
    engine.wait_until(
        "the lower version on standby",
        Duration::from_secs(30),
        |e| report_of(e, "probe-old.so")["status"] == "standby",
    );
    let reason = report_of(&engine, "probe-old.so")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("0.2.0 (from") && reason.contains("is in use"),
        "{reason}"
    );
    assert_eq!(plugin_of(&engine, "dst"), "oibus-test-probe 0.2.0");

    // Every version stays mapped until the process exits, and is reported.
    let versions = engine.status().unwrap()["loaded_versions"].clone();
    let listed: HashSet<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains("0.1.0") && listed.contains("0.2.0") && listed.contains("0.3.0"),
        "{versions}"
    );
    engine.stop();

    // Every acknowledged value arrived (drain the cache with the South off).
    // The restart chose as the running engine did: 0.2.0, not the rolled-back 0.3.0.
    config(false);
    ws.drain("dst");
    let log = fs::read_to_string(ws.path("engine.log")).unwrap();
    assert!(
        log.contains("probe-v3.so: plugin oibus-test-probe 0.3.0: upgrade from 0.2.0 rolled back")
            && log.contains("(recorded; replace the file, or force it)"),
        "{log}"
    );
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(d.acknowledged > 100, "{d:?}");
}

#[test]
fn a_removed_plugin_stops_its_connectors_until_it_comes_back() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[[north]]
id = "n"
type = "probe-north"
"#,
    );
    let file = ws.path("plugins").join(library_name(PROBE));
    let mut engine = ws.start();
    engine.wait_until("connected", Duration::from_secs(20), |e| {
        state_of(e, "n") == "connected"
    });
    let bytes = fs::read(&file).unwrap();
    fs::remove_file(&file).unwrap();
    engine.wait_until("plugin removed", Duration::from_secs(20), |e| {
        state_of(e, "n") == "plugin-removed"
    });
    fs::write(ws.path("plugins").join("probe-again.so"), bytes).unwrap();
    engine.wait_until("connected again", Duration::from_secs(20), |e| {
        state_of(e, "n") == "connected"
    });
    engine.stop();
}

#[test]
fn an_upgrade_during_a_scan_lets_the_scan_finish_on_the_old_version() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[[scan_modes]]
name = "every-second"
cron = "* * * * * *"

[[south]]
id = "src"
type = "probe-south"
query = "last-point"
settings = { batch_size = 5, query_delay_ms = 1500, ack_file = "{ws}/acks", behaviour = { journal = "{ws}/journal" } }
items = [{ name = "a", scan_mode = "every-second" }]

[[north]]
id = "dst"
type = "probe-north"
caching = { send_interval = "50ms" }
"#,
    );
    let journal = || fs::read_to_string(ws.path("journal")).unwrap_or_default();
    let mut engine = ws.start();
    // A scan in progress (each takes 1.5 s, one starts every second when the last is done).
    engine.wait_until("a scan in progress", Duration::from_secs(30), |_| {
        journal().ends_with("last_point_query\n")
    });
    fs::write(
        ws.path("plugins").join("probe-v2.so"),
        probe_version("0.2.0"),
    )
    .unwrap();
    engine.wait_until("the upgrade to 0.2.0", Duration::from_secs(30), |e| {
        plugin_of(e, "src") == "oibus-test-probe 0.2.0" && state_of(e, "src") == "connected"
    });
    let src = engine.connector("src").unwrap();
    engine.stop();
    // The old instance finished its scan, then stopped.
    let calls: Vec<String> = journal().lines().map(str::to_string).collect();
    let stop = calls
        .iter()
        .position(|c| c == "stop")
        .expect("the old one stopped");
    assert_eq!(calls[stop - 1], "last_point_query done", "{calls:?}");
    assert!(
        src["counters"]["runs_awaited_at_stop"].as_u64() >= Some(1),
        "{src}"
    );
}

#[test]
fn hostile_files_dropped_into_a_running_engine_are_refused_without_running() {
    use oibus_tests::{ABORTING_CONSTRUCTOR, c_library};
    let ws = Workspace::new(&[PROBE]);
    ws.config("[[north]]\nid = \"dst\"\ntype = \"probe-north\"\n");
    let mut engine = ws.start();
    engine.wait_until("dst connected", Duration::from_secs(20), |e| {
        state_of(e, "dst") == "connected"
    });
    let plugins = ws.path("plugins");
    let size = std::mem::size_of::<oibus_plugin_api::ffi::PluginDeclaration>();
    // Built elsewhere, then moved in whole, as an operator copies a file.
    let staging = ws.path("staging");
    fs::create_dir_all(&staging).unwrap();
    c_library(&staging, "aborts.so", ABORTING_CONSTRUCTOR);
    c_library(
        &staging,
        "zeros.so",
        &format!("{ABORTING_CONSTRUCTOR}const char oibus_plugin_declaration[{size}] = {{0}};\n"),
    );
    for f in ["aborts.so", "zeros.so"] {
        fs::rename(staging.join(f), plugins.join(f)).unwrap();
    }
    fs::create_dir(plugins.join("folder.so")).unwrap();
    engine.wait_until("the three refusals", Duration::from_secs(30), |e| {
        ["aborts.so", "zeros.so", "folder.so"]
            .iter()
            .all(|f| report_of(e, f)["status"] == "refused")
    });
    assert!(
        report_of(&engine, "aborts.so")["reason"]
            .as_str()
            .unwrap()
            .contains("not an oibus plugin")
    );
    assert!(
        report_of(&engine, "folder.so")["reason"]
            .as_str()
            .unwrap()
            .contains("a directory")
    );
    // Still alive and serving.
    assert_eq!(state_of(&engine, "dst"), "connected");
    engine.stop();
}

#[test]
fn an_idle_engine_does_not_wake_itself_by_reading_its_plugins_folder() {
    let ws = Workspace::new(&[PROBE]);
    ws.config("[[north]]\nid = \"dst\"\ntype = \"probe-north\"\n");
    let mut engine = ws.start();
    engine.wait_until("dst connected", Duration::from_secs(20), |e| {
        state_of(e, "dst") == "connected"
    });
    let looks = |e: &Engine| e.log().matches("looking at the plugins folder").count();
    let before = looks(&engine);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        looks(&engine),
        before,
        "an idle engine looked at its plugins folder (its own reads woke it, or a timer)"
    );
    // A real change is still seen at once, and the engine's reads of it do not loop.
    fs::write(
        ws.path("plugins").join("probe-v2.so"),
        probe_version("0.2.0"),
    )
    .unwrap();
    engine.wait_until("the upgrade to 0.2.0", Duration::from_secs(20), |e| {
        plugin_of(e, "dst") == "oibus-test-probe 0.2.0"
    });
    std::thread::sleep(Duration::from_secs(1));
    let after = looks(&engine);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        looks(&engine),
        after,
        "the rescans went on after the change"
    );
    engine.stop();
}

#[test]
fn at_start_up_the_highest_version_runs_whatever_the_file_names() {
    for (low, high) in [("a-probe.so", "b-probe.so"), ("b-probe.so", "a-probe.so")] {
        let ws = Workspace::new(&[]);
        let plugins = ws.path("plugins");
        fs::write(plugins.join(low), probe_version("0.1.0")).unwrap();
        fs::write(plugins.join(high), probe_version("0.2.0")).unwrap();
        ws.config("[[north]]\nid = \"dst\"\ntype = \"probe-north\"\n");
        // Started twice: the choice is the same at every start.
        for _ in 0..2 {
            let mut engine = ws.start();
            engine.wait_until("dst connected", Duration::from_secs(30), |e| {
                state_of(e, "dst") == "connected"
            });
            assert_eq!(
                plugin_of(&engine, "dst"),
                "oibus-test-probe 0.2.0",
                "{low} / {high}"
            );
            assert_eq!(report_of(&engine, high)["status"], "ok");
            let standby = report_of(&engine, low);
            assert_eq!(standby["status"], "standby", "{standby}");
            // Counted as `oibus plugins list` counts: a version on standby is not refused.
            assert!(
                engine.log().contains(": 1 ok, 1 standby, 0 refused"),
                "{}",
                engine.log()
            );
            engine.stop();
        }
    }
}

#[test]
fn a_renamed_or_copied_plugin_file_keeps_its_connectors_running() {
    let ws = Workspace::new(&[PROBE]);
    ws.config("[[north]]\nid = \"dst\"\ntype = \"probe-north\"\n");
    let plugins = ws.path("plugins");
    let mut engine = ws.start();
    engine.wait_until("dst connected", Duration::from_secs(20), |e| {
        state_of(e, "dst") == "connected"
    });
    let connects = |e: &Engine| e.counter("dst", "connects");
    let before = connects(&engine);
    // Renamed, as `mv` does.
    fs::rename(
        plugins.join(library_name(PROBE)),
        plugins.join("renamed.so"),
    )
    .unwrap();
    engine.wait_until("the renamed file in use", Duration::from_secs(20), |e| {
        report_of(e, "renamed.so")["status"] == "ok"
    });
    // Copied to a second name, then the first one deleted.
    fs::copy(plugins.join("renamed.so"), plugins.join("copy.so")).unwrap();
    engine.wait_until("the copy seen", Duration::from_secs(20), |e| {
        report_of(e, "copy.so")["status"] == "ok"
    });
    fs::remove_file(plugins.join("renamed.so")).unwrap();
    engine.wait_until("the original forgotten", Duration::from_secs(20), |e| {
        report_of(e, "renamed.so").is_null()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state_of(&engine, "dst"), "connected");
    assert_eq!(connects(&engine), before, "the connector never restarted");
    assert!(
        !engine.log().contains("its connectors stop"),
        "{}",
        engine.log()
    );
    engine.stop();
}

#[test]
fn a_pinned_connector_keeps_its_version_while_the_others_move() {
    let ws = Workspace::new(&[]);
    let plugins = ws.path("plugins");
    fs::write(plugins.join("probe-1.so"), probe_version("0.1.0")).unwrap();
    fs::write(plugins.join("probe-2.so"), probe_version("0.2.0")).unwrap();
    ws.config(
        "[[north]]\nid = \"pinned\"\ntype = \"probe-north\"\nplugin_version = \"=0.1.0\"\n\n\
         [[north]]\nid = \"free\"\ntype = \"probe-north\"\n",
    );
    let mut engine = ws.start();
    engine.wait_until("both connected", Duration::from_secs(30), |e| {
        state_of(e, "pinned") == "connected" && state_of(e, "free") == "connected"
    });
    assert_eq!(plugin_of(&engine, "pinned"), "oibus-test-probe 0.1.0");
    assert_eq!(plugin_of(&engine, "free"), "oibus-test-probe 0.2.0");
    assert_eq!(engine.connector("pinned").unwrap()["plugin_pin"], "=0.1.0");
    // An upgrade moves the free one only.
    fs::write(plugins.join("probe-3.so"), probe_version("0.3.0")).unwrap();
    engine.wait_until("free on 0.3.0", Duration::from_secs(30), |e| {
        plugin_of(e, "free") == "oibus-test-probe 0.3.0" && state_of(e, "free") == "connected"
    });
    assert_eq!(plugin_of(&engine, "pinned"), "oibus-test-probe 0.1.0");
    assert_eq!(state_of(&engine, "pinned"), "connected");
    engine.stop();
    // A requirement that is not one is named.
    ws.config("[[north]]\nid = \"bad\"\ntype = \"probe-north\"\nplugin_version = \"about 1\"\n");
    let (code, out) = ws.run_to_end();
    assert_ne!(code, 0);
    assert!(
        out.contains("north \"bad\".plugin_version: \"about 1\" is not a version requirement"),
        "{out}"
    );
}

#[test]
fn a_plugin_file_overwritten_in_place_with_another_plugin_is_said_and_its_connectors_stop() {
    let ws = Workspace::new(&[PROBE, "oibus_north_console"]);
    ws.config(
        r#"
[[north]]
id = "n"
type = "probe-north"

[[north]]
id = "out"
type = "console"
"#,
    );
    let probe = ws.path("plugins").join(library_name(PROBE));
    let mut engine = ws.start();
    engine.wait_until("connected", Duration::from_secs(20), |e| {
        state_of(e, "n") == "connected" && state_of(e, "out") == "connected"
    });
    // The probe's file is overwritten, in place (same inode), with a newer simulator.
    let simulator = patch_declaration(
        &fs::read(library("oibus_south_simulator")).unwrap(),
        "oibus-south-simulator",
        "",
        Some("0.9.0"),
    );
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&probe)
        .unwrap();
    f.write_all(&simulator).unwrap();
    drop(f);
    engine.wait_until(
        "the probe's connector stopped",
        Duration::from_secs(30),
        |e| state_of(e, "n") == "plugin-removed",
    );
    let log = engine.log();
    assert!(
        log.lines().any(|l| l.contains("plugin loaded")
            && l.contains("plugin=oibus-south-simulator")
            && l.contains("version=0.9.0")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "plugin oibus-test-probe 0.1.0 overwritten by oibus-south-simulator 0.9.0 ({}): its connectors stop until it comes back",
            probe.display()
        )),
        "{log}"
    );
    // The plugins of the other files go on.
    assert_eq!(state_of(&engine, "out"), "connected");
    engine.stop();
}
