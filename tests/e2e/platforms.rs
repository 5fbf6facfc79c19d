//! What every platform the gateway ships for must pass, as a user would see it: plugins listed,
//! signed and unsigned; values flowing; a crashing isolated child; a hot upgrade; small and large
//! files through the cache across a kill; a plugin calling `exit`; the admin API; the engine as a
//! Windows service (and, elsewhere, the service commands pointing to systemd).
//!
//! The suite runs these on this machine's build like every other test; `scripts/cross` runs them
//! again on the Windows build under Wine and on the ARM64 build under qemu ([`oibus_tests::target`]).

use oibus_tests::{
    api::Api,
    copy_plugin, library, library_name, oibus_command, patch_declaration,
    process::{
        RECORDING_NORTH, Workspace, acknowledged_probe_south, check_acknowledged,
        folder_scanner_south,
    },
};
use std::{collections::BTreeMap, fs, path::Path, time::Duration};

const PRODUCT: &[&str] = &[
    "oibus_south_simulator",
    "oibus_south_folder_scanner",
    "oibus_north_file_writer",
    "oibus_north_console",
];
const PROBE: &str = "oibus_test_probe";

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Runs `oibus args…` on the platform under test: exit code, standard output, standard error.
/// The output goes through files, not pipes (a process the command starts may keep a pipe open:
/// Wine's service manager, when the command is the first Windows process), and the command has
/// two minutes.
fn oibus(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let mut child = oibus_command()
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .expect("run oibus");
    let began = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for oibus") {
            break status;
        }
        if began.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!(
                "oibus {args:?} did not end within 120 s:\n{}",
                fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        fs::read_to_string(&out).unwrap_or_default(),
        fs::read_to_string(&err).unwrap_or_default(),
    )
}

#[test]
fn unsigned_plugins_list_ok_and_a_signed_one_names_its_trusted_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (keys, plugins, data) = (
        tmp.path().join("keys"),
        tmp.path().join("plugins"),
        tmp.path().join("data"),
    );
    fs::create_dir_all(&plugins).unwrap();
    for p in PRODUCT {
        copy_plugin(p, &plugins);
    }
    // Unsigned: each opened first in a throwaway child process, then listed ok.
    let (code, list, err) = oibus(&["plugins", "list", "--dir", s(&plugins)], &[]);
    assert_eq!(code, 0, "{list}\n{err}");
    assert!(
        list.contains("4 file(s): 4 ok, 0 standby, 0 refused"),
        "{list}\n{err}"
    );
    assert!(err.contains("opened first in a throwaway process"), "{err}");

    // A vendor's key, a signature, and the operator trusting the key.
    let (code, out, err) = oibus(
        &[
            "plugins",
            "keygen",
            "--out",
            s(&keys),
            "--name",
            "acme",
            "--no-password",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let console = plugins.join(library_name("oibus_north_console"));
    let (code, out, err) = oibus(
        &[
            "plugins",
            "sign",
            s(&console),
            "--key",
            s(&keys.join("acme.key")),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    fs::create_dir_all(data.join("trusted-keys")).unwrap();
    fs::copy(keys.join("acme.pub"), data.join("trusted-keys/acme.pub")).unwrap();
    let (code, list, err) = oibus(
        &[
            "plugins",
            "list",
            "--dir",
            s(&plugins),
            "--data",
            s(&data),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{list}\n{err}");
    let rows: serde_json::Value = serde_json::from_str(&list).expect("JSON rows");
    let rows = rows.as_array().expect("an array of rows");
    assert_eq!(rows.len(), 4, "{list}");
    for row in rows {
        assert_eq!(row["status"], "ok", "{row}");
        let signed = row["file"]
            .as_str()
            .unwrap_or_default()
            .contains("north_console");
        if signed {
            assert_eq!(row["signer"]["signature"], "trusted", "{row}");
        } else {
            assert_eq!(row["signer"]["signature"], "unsigned", "{row}");
        }
    }
}

#[test]
fn values_flow_to_files_and_the_admin_api_answers() {
    let ws = Workspace::new(&["oibus_south_simulator", "oibus_north_file_writer"]);
    ws.config(
        r#"
[[scan_modes]]
name = "fast"
every = "100ms"

[[south]]
id = "sim"
type = "simulator"
query = "last-point"
[[south.items]]
name = "temperature"
scan_mode = "fast"
settings = { signal = { type = "sine", amplitude = 5.0, period_s = 60.0, offset = 15.0 } }

[[north]]
id = "files"
type = "file-writer"
settings = { output_folder = "{ws}/out" }
caching = { send_interval = "200ms" }
"#,
    );
    let mut engine = ws.start();
    engine.wait_until("values in files", Duration::from_secs(60), |_| {
        oibus_tests::process::written_values(&ws.path("out")).len() >= 10
    });
    let api = Api::of(&ws, &mut engine);
    let (code, status) = api.get("/api/status");
    assert_eq!(code, 200, "{status}");
    let files = status["connectors"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "files"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(files["state"], "connected", "{status}");
    // Without the token: refused.
    let (code, _, _) = api.get_text("/api/status", Some("wrong"));
    assert_eq!(code, 401);
    for v in oibus_tests::process::written_values(&ws.path("out")) {
        let oibus_plugin_api::DataValue::Float(x) = v.value else {
            panic!("a simulated temperature is a number: {v:?}");
        };
        assert!((10.0..=20.0).contains(&x), "{v:?}");
    }
    engine.stop();
}

/// The Kafka plugin built for this platform: values reach a broker (tansu, on this machine) and
/// are read back by kafka-python, every acknowledged one.
#[test]
fn values_reach_a_kafka_broker_through_the_kafka_plugin() {
    let broker = oibus_tests::servers::Tansu::start();
    broker.create_topic("oibus.values", 3);
    let ws = Workspace::new(&[PROBE, "oibus_kafka"]);
    let config = |south: bool| {
        format!(
            "{}\n[[north]]\nid = \"k\"\ntype = \"kafka-north\"\nsettings = {{ bootstrap_servers = [\"{}\"], compression = \"gzip\" }}\ncaching = {{ send_interval = \"200ms\" }}\n",
            acknowledged_probe_south(south),
            broker.bootstrap()
        )
    };
    ws.config(&config(true));
    let mut engine = ws.start();
    engine.wait_until("values stored", Duration::from_secs(60), |e| {
        e.counter("k", "values_sent") >= 300
    });
    engine.stop();
    ws.config(&config(false));
    ws.drain("k");
    let records = broker.records("oibus.values");
    oibus_tests::servers::record_values(&records, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(d.acknowledged >= 300, "{d:?}");
}

#[test]
fn an_isolated_north_survives_its_child_crashing_and_loses_nothing() {
    let ws = Workspace::new(&[PROBE]);
    let config = |south: bool| {
        format!(
            "[engine]\nreconnect = {{ min = \"100ms\", max = \"500ms\" }}\n[engine.plugins]\nisolation = \"process\"\n{}\n[[north]]\nid = \"rec\"\ntype = \"probe-north\"\nsettings = {{ record_file = \"{{ws}}/received\", behaviour = {{ crash_file = \"{{ws}}/crash\" }} }}\ncaching = {{ send_interval = \"100ms\" }}\n",
            acknowledged_probe_south(south)
        )
    };
    ws.config(&config(true));
    let mut engine = ws.start();
    engine.wait_until("values received", Duration::from_secs(60), |_| {
        oibus_tests::process::recorded_values(&ws.path("received")).len() > 50
    });
    // The plugin crashes its child process (an access violation on Windows, SIGSEGV on Linux).
    fs::write(ws.path("crash.tmp"), "segfault").unwrap();
    fs::rename(ws.path("crash.tmp"), ws.path("crash")).unwrap();
    let described = if oibus_tests::target().is_windows() {
        "crashed with 0xC0000005 (STATUS_ACCESS_VIOLATION)"
    } else {
        "killed by signal 11 (SIGSEGV"
    };
    engine.wait_until("the crash to be logged", Duration::from_secs(60), |e| {
        e.log().lines().any(|l| {
            l.contains("connector.id=\"rec\"")
                && l.contains("the plugin host process")
                && l.contains(described)
        })
    });
    let before = oibus_tests::process::recorded_values(&ws.path("received")).len();
    engine.wait_until(
        "values received after the crash",
        Duration::from_secs(60),
        |_| oibus_tests::process::recorded_values(&ws.path("received")).len() > before + 50,
    );
    engine.stop();
    // What was acknowledged and still cached is sent at the next start.
    ws.config(&config(false));
    ws.drain("rec");
    check_acknowledged(&ws.path("acks"), &ws.path("received"));
}

#[test]
fn a_dropped_in_version_takes_over_while_values_flow() {
    let ws = Workspace::new(&[PROBE]);
    ws.config(&(acknowledged_probe_south(true) + RECORDING_NORTH));
    let mut engine = ws.start();
    let plugin_of = |e: &oibus_tests::process::Engine, id: &str| {
        e.connector(id)
            .and_then(|c| c["plugin"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    engine.wait_until("values flowing on 0.1.0", Duration::from_secs(60), |e| {
        plugin_of(e, "rec") == "oibus-test-probe 0.1.0"
            && oibus_tests::process::recorded_values(&ws.path("received")).len() > 20
    });
    let v2 = patch_declaration(
        &fs::read(library(PROBE)).unwrap(),
        "oibus-test-probe",
        "",
        Some("0.2.0"),
    );
    fs::write(ws.path("plugins").join(library_name("probe-v2")), v2).unwrap();
    engine.wait_until("the upgrade to 0.2.0", Duration::from_secs(60), |e| {
        ["src", "rec"].iter().all(|c| {
            plugin_of(e, c) == "oibus-test-probe 0.2.0"
                && e.connector(c).is_some_and(|c| c["state"] == "connected")
        })
    });
    let before = oibus_tests::process::recorded_values(&ws.path("received")).len();
    engine.wait_until("values flowing on 0.2.0", Duration::from_secs(60), |_| {
        oibus_tests::process::recorded_values(&ws.path("received")).len() > before + 20
    });
    engine.stop();
    ws.config(&(acknowledged_probe_south(false) + RECORDING_NORTH));
    ws.drain("rec");
    check_acknowledged(&ws.path("acks"), &ws.path("received"));
}

/// Every file of `folder` by name, with its content.
fn files_in(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, fs::read(e.path()).unwrap_or_default())
                })
                .filter(|(name, _)| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn small_and_large_files_reach_the_file_writer_across_a_kill() {
    let ws = Workspace::new(&["oibus_south_folder_scanner", "oibus_north_file_writer"]);
    let input = ws.path("in");
    fs::create_dir_all(&input).unwrap();
    let mut sent = BTreeMap::new();
    for i in 0..1000 {
        let body = format!("file {i}\n").repeat(1 + i % 7).into_bytes();
        sent.insert(format!("small-{i:04}.txt"), body);
    }
    // 3 MB of bytes that do not repeat in a pattern a copy could get wrong unnoticed.
    let big: Vec<u8> = (0u32..3 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    sent.insert("big.bin".into(), big);
    for (name, body) in &sent {
        fs::write(input.join(name), body).unwrap();
    }
    ws.config(&format!(
        "{}\n[[north]]\nid = \"files\"\ntype = \"file-writer\"\nsettings = {{ output_folder = \"{{ws}}/out\" }}\ncaching = {{ send_interval = \"300ms\" }}\n",
        folder_scanner_south(s(&input), "200ms")
    ));
    let mut engine = ws.start();
    // Killed while files are on their way: some in the cache, some delivered.
    engine.wait_until(
        "the first files delivered",
        Duration::from_secs(120),
        |_| !files_in(&ws.path("out")).is_empty(),
    );
    engine.kill();
    let mut engine = ws.start();
    engine.wait_until("every file delivered", Duration::from_secs(300), |_| {
        files_in(&ws.path("out")).len() >= sent.len()
    });
    engine.stop();
    let delivered = files_in(&ws.path("out"));
    for (name, body) in &sent {
        let got = delivered.get(name).unwrap_or_else(|| panic!("{name} lost"));
        assert!(
            got == body,
            "{name}: {} bytes delivered of {}",
            got.len(),
            body.len()
        );
    }
}

#[test]
fn a_plugin_calling_exit_0_makes_the_engine_fail_visibly() {
    let ws = Workspace::new(&[PROBE]);
    let config = |exits: bool| {
        let behaviour = if exits { "connect_exits = 0" } else { "" };
        format!(
            "[[north]]\nid = \"careless\"\ntype = \"probe-north\"\nsettings = {{ behaviour = {{ {behaviour} }} }}\n"
        )
    };
    ws.config(&config(true));
    let (code, out) = ws.run_to_end();
    if oibus_tests::target().exits_run_hooks() {
        assert_eq!(code, 70, "{out}");
        assert!(
            out.contains("ended by exit() while the engine was running"),
            "{out}"
        );
    } else {
        eprintln!("exit code {code}: the exit hook cannot run under Wine; the next start says it");
    }
    // Either way the next start reports that the previous run did not stop cleanly.
    ws.config(&config(false));
    let mut engine = ws.start();
    engine.wait_until("the North connected", Duration::from_secs(60), |e| {
        e.connector("careless")
            .is_some_and(|c| c["state"] == "connected")
    });
    let log = engine.log();
    engine.stop();
    assert!(log.contains("the previous run (pid "), "{log}");
    assert!(log.contains("did not stop cleanly"), "{log}");
    // A clean stop leaves no marker: the run after it reports nothing (the log file is appended
    // across runs: look at this run's part).
    let before = log.len();
    let engine = ws.start();
    std::thread::sleep(Duration::from_millis(500));
    let log = engine.log();
    engine.stop();
    assert!(!log[before..].contains("did not stop cleanly"), "{log}");
}

/// Runs `oibus service args… --name <name>`.
fn service(command: &str, name: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["service", command, "--name", name];
    args.extend_from_slice(extra);
    oibus(&args, &[])
}

/// Stops and removes the test's service even when an assertion fails half-way, so that no
/// service is left registered in the Wine prefix.
struct Registered<'a>(&'a str);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let _ = service("uninstall", self.0, &[]);
    }
}

#[test]
fn the_engine_runs_as_a_windows_service_and_stops_cleanly() {
    let ws = Workspace::new(&["oibus_south_simulator", "oibus_north_file_writer"]);
    // Paths through the engine's own variables: a service runs in the system folder, so the
    // configuration's folders must not depend on the current one.
    let config = ws.config(
        r#"
[engine]
log_file = { path = "oibus.log" }

[[scan_modes]]
name = "fast"
every = "100ms"

[[south]]
id = "sim"
type = "simulator"
query = "last-point"
[[south.items]]
name = "temperature"
scan_mode = "fast"
settings = { signal = { type = "sine", amplitude = 5.0, period_s = 60.0, offset = 15.0 } }

[[north]]
id = "files"
type = "file-writer"
settings = { output_folder = "${config_dir}/out" }
caching = { send_interval = "200ms" }
"#,
    );
    let (data, plugins) = (ws.data(), ws.path("plugins"));
    let install = [
        "--manual",
        "--config",
        s(&config),
        "--data",
        s(&data),
        "--plugins",
        s(&plugins),
        "--admin-listen",
        "127.0.0.1:0",
    ];
    let name = format!("oibus-test-{}", std::process::id());
    if !oibus_tests::target().is_windows() {
        // Elsewhere the service commands say what to use instead, and change nothing.
        let (code, out, err) = service("install", &name, &install);
        assert_eq!(code, 2, "{out}\n{err}");
        assert!(err.contains("systemd"), "{err}");
        return;
    }
    let (code, out, err) = service("install", &name, &install);
    assert_eq!(code, 0, "{out}\n{err}");
    let _registered = Registered(&name);
    assert!(out.contains("installed (manual start)"), "{out}");
    // Installed, not started.
    let (code, out, err) = service("state", &name, &[]);
    assert_eq!(
        (code, out.trim()),
        (0, &*format!("service {name}: stopped")),
        "{err}"
    );
    let (code, out, err) = service("start", &name, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("running"), "{out}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while oibus_tests::process::written_values(&ws.path("out")).len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the service wrote no values within 60 s: {}",
            fs::read_to_string(ws.data().join("oibus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, out, _) = service("state", &name, &[]);
    assert_eq!(
        (code, out.trim()),
        (0, &*format!("service {name}: running"))
    );
    // Stopped through the service manager: the engine's own clean stop, code 0.
    let (code, out, err) = service("stop", &name, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.trim(), format!("service {name}: stopped"), "{err}");
    let log = fs::read_to_string(ws.data().join("oibus.log")).expect("the service's log file");
    assert!(log.contains("oibus_engine::engine: stopped"), "{log}");
    // The next run finds a clean stop behind it, and the values written are whole.
    let values = oibus_tests::process::written_values(&ws.path("out")).len();
    let engine = ws.start();
    std::thread::sleep(Duration::from_millis(500));
    let next = engine.log();
    engine.stop();
    assert!(!next.contains("did not stop cleanly"), "{next}");
    assert!(values >= 10);
    // A configuration that cannot start: `start` says so at once with the exit code.
    fs::write(&config, "[engine\n").unwrap();
    let (code, out, err) = service("start", &name, &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("stopped at once with code 2"), "{err}");
    let (code, out, err) = service("uninstall", &name, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, _, err) = service("state", &name, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is installed") || err.contains("no service named"),
        "{err}"
    );
}

#[test]
fn a_crate_made_by_plugins_new_builds_signs_and_loads_on_this_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let host = |args: &[&str]| {
        let out = std::process::Command::new(oibus_tests::host_oibus())
            .args(args)
            .output()
            .expect("run the build machine's oibus");
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "oibus {args:?}: {said}");
    };
    // The vendor's machine: the crate, as `plugins new` writes it (with its .cargo/config.toml).
    let api = oibus_tests::workspace().join("oibus-plugin-api");
    host(&[
        "plugins",
        "new",
        "acme-gauge",
        "--south",
        "--dir",
        s(tmp.path()),
        "--api",
        s(&api),
    ]);
    let krate = tmp.path().join("acme-gauge");
    let readme = fs::read_to_string(krate.join("README.md")).unwrap();
    assert!(
        readme.contains("--target x86_64-pc-windows-gnu"),
        "{readme}"
    );
    fs::copy(
        oibus_tests::workspace().join("Cargo.lock"),
        krate.join("Cargo.lock"),
    )
    .unwrap();
    // Built for the platform under test, as its README says (the dependencies are shared with
    // the workspace's target folder, already built there).
    let target_dir = oibus_tests::artifacts()
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").is_file())
        .expect("the target folder")
        .to_path_buf();
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()));
    build
        .args(["build", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target_dir);
    let mut built = target_dir.clone();
    if let Some(triple) = &oibus_tests::target().triple {
        build.args(["--target", triple]);
        built.push(triple);
    }
    built.push("debug");
    let status = build.status().expect("cargo build");
    assert!(status.success(), "cargo build of the new crate");
    let lib = library_name("acme_gauge");
    // Signed on the build machine, whatever the file's platform, and trusted by the gateway.
    host(&[
        "plugins",
        "keygen",
        "--out",
        s(&tmp.path().join("keys")),
        "--name",
        "acme",
        "--no-password",
    ]);
    let (plugins, data) = (tmp.path().join("plugins"), tmp.path().join("data"));
    fs::create_dir_all(&plugins).unwrap();
    fs::create_dir_all(data.join("trusted-keys")).unwrap();
    fs::copy(built.join(&lib), plugins.join(&lib)).unwrap();
    let key = tmp.path().join("keys/acme.key");
    host(&["plugins", "sign", s(&plugins.join(&lib)), "--key", s(&key)]);
    fs::copy(
        tmp.path().join("keys/acme.pub"),
        data.join("trusted-keys/acme.pub"),
    )
    .unwrap();
    let (code, list, err) = oibus(
        &[
            "plugins",
            "list",
            "--dir",
            s(&plugins),
            "--data",
            s(&data),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{list}\n{err}");
    let rows: serde_json::Value = serde_json::from_str(&list).expect("JSON rows");
    let row = &rows[0];
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(row["status"], "ok", "{row}");
    assert_eq!(row["signer"]["signature"], "trusted", "{row}");
    assert!(row.to_string().contains("acme-gauge"), "{row}");
}
