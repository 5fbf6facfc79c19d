//! Process isolation attacked in a real `oibus run`: isolated probe connectors that segfault,
//! abort, exit with code 0, exhaust their memory limit or hang while values stream, beside
//! in-process connectors that must not notice. Every value the South saw acknowledged must reach
//! the North, and the engine must go on.

use oibus_tests::process::{Engine, Workspace, check_acknowledged};
use std::{fs, time::Duration};

const PROBE: &str = "oibus_test_probe";

/// An isolated probe pair `src` → `dst` whose crash files are `<ws>/crash-src` and
/// `<ws>/crash-dst`, and an in-process pair `calm` → `calm-dst`.
fn config(extra_engine: &str, souths: bool) -> String {
    format!(
        r#"
[engine]
reconnect = {{ min = "100ms", max = "300ms" }}
timeouts = {{ lifecycle = "10s", data = "3s" }}
{extra_engine}

[[south]]
id = "src"
type = "probe-south"
enabled = {souths}
isolation = "process"
settings = {{ batch_size = 20, interval_ms = 5, ack_file = "{{ws}}/acks", behaviour = {{ crash_file = "{{ws}}/crash-src" }} }}
items = [{{ name = "a", scan_mode = "subscription" }}]

[[north]]
id = "dst"
type = "probe-north"
isolation = "process"
subscriptions = ["src"]
settings = {{ record_file = "{{ws}}/received", behaviour = {{ crash_file = "{{ws}}/crash-dst" }} }}
caching = {{ send_interval = "50ms", retry_interval = "50ms" }}

{}"#,
        calm_pair(souths, 5)
    )
}

/// An in-process probe pair `calm` → `calm-dst`, the South sending every `interval_ms`.
fn calm_pair(enabled: bool, interval_ms: u32) -> String {
    format!(
        r#"
[[south]]
id = "calm"
type = "probe-south"
enabled = {enabled}
settings = {{ batch_size = 20, interval_ms = {interval_ms}, ack_file = "{{ws}}/calm-acks" }}
items = [{{ name = "b", scan_mode = "subscription" }}]

[[north]]
id = "calm-dst"
type = "probe-north"
subscriptions = ["calm"]
settings = {{ record_file = "{{ws}}/calm-received" }}
caching = {{ send_interval = "50ms" }}
"#
    )
}

/// Waits up to `secs` seconds for `calm-dst` to send `more` values than it had sent so far.
fn calm_goes_on(engine: &mut Engine, what: &str, more: u64, secs: u64) {
    let sent = engine.counter("calm-dst", "values_sent");
    engine.wait_until(what, Duration::from_secs(secs), |e| {
        e.counter("calm-dst", "values_sent") > sent + more
    });
}

/// The state of the probe plugin's runtime in the engine's process, from the status.
fn probe_runtime(engine: &Engine) -> Option<serde_json::Value> {
    engine.status()?["loaded_versions"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == "oibus-test-probe")
        .map(|p| p["runtime"].clone())
}

/// Writes a crash file aside, then renames it: the probe, which polls for it, must never read
/// it half-written (empty: an unknown crash, and no crash at all).
fn write_whole(path: &std::path::Path, text: &str) {
    let aside = path.with_extension("part");
    fs::write(&aside, text).unwrap();
    fs::rename(&aside, path).unwrap();
}

/// Makes connector `who` (`src` or `dst`) crash as `how` says, and waits until the engine has
/// logged its end with `described` and the connector sends again; the in-process pair must have
/// gone on meanwhile.
fn crash(ws: &Workspace, engine: &mut Engine, who: &str, how: &str, described: &str) {
    let calm_before = engine.counter("calm-dst", "values_sent");
    let sent_before = engine.counter("dst", "values_sent");
    write_whole(&ws.path(&format!("crash-{who}")), how);
    engine.wait_until(
        &format!("the end of {who}'s child ({how}) to be logged"),
        Duration::from_secs(30),
        |e| {
            e.log().lines().any(|l| {
                l.contains(&format!("connector.id=\"{who}\""))
                    && l.contains("the plugin host process")
                    && l.contains(described)
            })
        },
    );
    engine.wait_until(
        &format!("{who} to run again after {how}"),
        Duration::from_secs(30),
        |e| e.counter("dst", "values_sent") > sent_before + 500,
    );
    assert!(
        engine.counter("calm-dst", "values_sent") > calm_before + 100,
        "the in-process connectors went on sending while {who} crashed"
    );
}

fn run(how: &str, described: &str, extra_engine: &str, whom: &[&str]) {
    let ws = Workspace::new(&[PROBE]);
    ws.config(&config(extra_engine, true));
    let mut engine = ws.start();
    engine.wait_until("values to flow", Duration::from_secs(30), |e| {
        e.counter("dst", "values_sent") > 200 && e.counter("calm-dst", "values_sent") > 200
    });
    for who in whom {
        crash(&ws, &mut engine, who, how, described);
    }
    let log = engine.log();
    let code = engine.terminate();
    assert_eq!(code, 0, "the engine stops cleanly after the crashes: {log}");
    // What was still queued when it stopped is sent at the next start.
    ws.config(&config(extra_engine, false));
    let mut engine = ws.start();
    engine.wait_until("the caches to drain", Duration::from_secs(60), |e| {
        ["dst", "calm-dst"].iter().all(|n| {
            e.connector(n)
                .is_some_and(|c| c["state"] == "connected" && c["cache"]["queued_values"] == 0)
        })
    });
    engine.stop();
    let isolated = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    let calm = check_acknowledged(&ws.path("calm-acks"), &ws.path("calm-received"));
    assert!(
        isolated.acknowledged > 500 && calm.acknowledged > 500,
        "{isolated:?} {calm:?}"
    );
    // The crash is named with the plugin file.
    assert!(
        log.contains("liboibus_test_probe"),
        "the plugin file is named: {log}"
    );
    // The folder the plugin's connectors share (API 1.1's `plugin_dir`) is the same for
    // isolated and in-process ones, in the data folder: each connection of each is noted there.
    let noted = fs::read_to_string(ws.data().join("plugin-data/oibus-test-probe/connections"))
        .unwrap_or_default();
    for id in ["src", "dst", "calm", "calm-dst"] {
        assert!(noted.lines().any(|l| l == id), "{id} in {noted:?}");
    }
}

#[test]
fn a_segfault_of_an_isolated_south_or_north_loses_no_acknowledged_value() {
    run(
        "segfault",
        "killed by signal 11 (SIGSEGV",
        "",
        &["dst", "src"],
    );
}

#[test]
fn an_abort_of_an_isolated_south_or_north_loses_no_acknowledged_value() {
    run("abort", "killed by signal 6 (SIGABRT", "", &["dst", "src"]);
}

#[test]
fn an_isolated_plugin_calling_exit_0_is_a_crash_not_a_stop() {
    run("exit0", "exited with code 0", "", &["dst", "src"]);
}

#[test]
fn an_isolated_plugin_exhausting_its_memory_limit_is_restarted() {
    run(
        "oom",
        "out of memory (max_memory = 1024 MiB)",
        "[engine.plugins]\nmax_memory = \"1GiB\"",
        &["dst", "src"],
    );
}

#[test]
fn an_isolated_call_past_its_time_out_kills_the_child_instead_of_leaking_a_thread() {
    run(
        "hang",
        "it did not answer handle_values within 3s, so the engine killed it",
        "",
        &["dst"],
    );
}

#[test]
fn an_isolated_connector_crashing_in_a_loop_is_quarantined_and_not_restarted() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(
        r#"
[engine]
reconnect = { min = "50ms", max = "100ms" }
[engine.plugins]
crash_limit = 3
crash_window = "1m"

[[north]]
id = "dst"
type = "probe-north"
isolation = "process"
settings = { behaviour = { connect_exits = 3 } }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("dst to be quarantined", Duration::from_secs(30), |e| {
        e.connector("dst")
            .is_some_and(|c| c["state"] == "quarantined")
    });
    let dst = engine.connector("dst").unwrap();
    let error = dst["last_error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("3 crashes within 1m") && error.contains("exited with code 3"),
        "{dst}"
    );
    // It stays quarantined: no new child is started.
    let starts = |e: &Engine| e.log().matches("plugin host process started").count();
    let before = starts(&engine);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        starts(&engine),
        before,
        "a quarantined connector is not restarted"
    );
    let code = engine.terminate();
    assert_eq!(code, 0);
}

#[test]
fn in_process_calls_stuck_past_their_time_out_do_not_starve_the_plugins_other_connectors() {
    let ws = Workspace::new(&[PROBE]);
    // Every connector in the engine's process, all of one plugin (two runtime threads).
    let text = config("", true).replace("isolation = \"process\"\n", "");
    ws.config(&text.replace(
        "timeouts = { lifecycle = \"10s\", data = \"3s\" }",
        "timeouts = { lifecycle = \"2s\", data = \"1s\" }",
    ));
    // One runtime thread: a single stuck call would hold all of it.
    let mut engine = ws.start_with(&[("OIBUS_PLUGIN_THREADS", "1")]);
    engine.wait_until("values to flow", Duration::from_secs(30), |e| {
        e.counter("dst", "values_sent") > 200 && e.counter("calm-dst", "values_sent") > 200
    });
    // A send of `dst` blocks its thread for an hour.
    write_whole(&ws.path("crash-dst"), "hang");
    engine.wait_until("the stuck send", Duration::from_secs(30), |e| {
        e.log().contains("handle_values timed out")
    });
    calm_goes_on(
        &mut engine,
        "the plugin's other connectors to go on",
        500,
        30,
    );
    engine.wait_until(
        "the status to show the stuck threads",
        Duration::from_secs(10),
        |e| {
            probe_runtime(e).is_some_and(|r| {
                r["degraded"] == true
                    && r["stuck_calls"].as_u64() >= Some(1)
                    && r["replacements"].as_u64() >= Some(1)
            })
        },
    );
    let code = engine.terminate();
    assert_eq!(
        code, 0,
        "SIGTERM stops the engine despite the stuck threads"
    );
}

#[test]
fn an_item_test_of_an_isolated_plugin_runs_in_a_child_and_answers_its_values() {
    let ws = Workspace::new(&["oibus_south_simulator", PROBE]);
    ws.config(
        "[engine.plugins]\nisolation = \"process\"\n\n[[north]]\nid = \"rec\"\ntype = \"probe-north\"\nsettings = { record_file = \"{ws}/received\" }\n",
    );
    let mut engine = ws.start();
    let api = oibus_tests::api::Api::of(&ws, &mut engine);
    let (code, answer) = api.post(
        "/api/south/test-item",
        &serde_json::json!({
            "type": "simulator",
            "settings": {"seed": 7},
            "item": {"name": "ramp", "settings": {"signal": {"type": "ramp", "min": 10, "max": 20}}}
        }),
    );
    assert_eq!(code, 200, "{answer}");
    let values = answer["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{answer}");
    assert_eq!(values[0]["pointId"], "ramp");
    let v = values[0]["data"]["value"].as_f64().unwrap();
    assert!((10.0..20.0).contains(&v), "{v}");
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("plugin host process started for connect"),
        "the test ran in a child: {log}"
    );
    assert_eq!(
        fs::read_to_string(ws.path("received")).unwrap_or_default(),
        ""
    );
}

#[test]
fn two_connects_that_block_their_threads_neither_starve_a_sibling_nor_hold_up_a_stop() {
    let ws = Workspace::new(&[PROBE]);
    // All of one plugin, in the engine's process, on its two runtime threads and the default
    // time-outs: `stuck-1` and `stuck-2` block a thread each in `connect`, which never returns.
    let stuck = |id: &str| {
        format!(
            "[[north]]\nid = \"{id}\"\ntype = \"probe-north\"\nsubscriptions = [\"calm\"]\nsettings = {{ behaviour = {{ connect_blocks = true }} }}\n"
        )
    };
    ws.config(&format!(
        r#"
[engine]
reconnect = {{ min = "100ms", max = "300ms" }}
{}
{}
{}"#,
        calm_pair(true, 20),
        stuck("stuck-1"),
        stuck("stuck-2")
    ));
    let mut engine = ws.start();
    // The sibling flows long before the stuck calls' 30 s time-out.
    engine.wait_until(
        "the sibling's values to flow",
        Duration::from_secs(15),
        |e| e.counter("calm-dst", "values_sent") > 200,
    );
    calm_goes_on(
        &mut engine,
        "the sibling's values to go on flowing",
        200,
        10,
    );
    engine.wait_until(
        "the status to show the runtime replaced",
        Duration::from_secs(10),
        |e| probe_runtime(e).is_some_and(|r| r["replacements"].as_u64() >= Some(1)),
    );
    // SIGTERM: nothing waits for the blocked calls, and nothing is retried once stopping.
    let log_file = engine.log_file();
    let began = std::time::Instant::now();
    let code = engine.terminate();
    let took = began.elapsed();
    let log = fs::read_to_string(log_file).unwrap();
    assert_eq!(code, 0, "{log}");
    assert!(
        took < Duration::from_secs(5),
        "the stop took {took:?}:\n{log}"
    );
    let after = &log[log
        .find("INFO oibus_engine::engine: stopping")
        .expect("stopping")..];
    assert!(
        !after.contains("next connection attempt") && !after.contains("handle: start"),
        "{after}"
    );
}
