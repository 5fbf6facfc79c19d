//! Files that pass every check made on their bytes but whose code misbehaves when the library is
//! opened: each is opened first in a throwaway process and refused with one line naming it, under
//! `plugins list`, `oibus run` and a drop into a running engine, with the engine alive and the
//! good plugins loaded.

use oibus_tests::{copy_plugin, hostile_constructors, process::Workspace, run_oibus};
use std::time::Duration;

fn refusal<'a>(text: &'a str, file: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.contains(file) && l.contains("refused"))
}

#[test]
fn plugins_list_refuses_misbehaving_constructors_from_a_throwaway_process() {
    let dir = tempfile::tempdir().unwrap();
    let cases = hostile_constructors(dir.path());
    copy_plugin("oibus_north_console", dir.path());
    let data = tempfile::tempdir().unwrap();
    let (code, out, err) = run_oibus(&[
        "plugins",
        "list",
        "--dir",
        dir.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "plugins list survives: {err}\n{out}");
    for (file, says) in cases {
        let row = refusal(&out, file).unwrap_or_else(|| panic!("no refusal for {file}:\n{out}"));
        assert!(row.contains(says), "{file}: {row}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("liboibus_north_console") && l.ends_with("ok")),
        "{out}"
    );
}

#[test]
fn oibus_run_and_a_hot_drop_refuse_misbehaving_constructors_and_run_the_rest() {
    let ws = Workspace::new(&["oibus_north_console"]);
    let mut cases = hostile_constructors(&ws.path("plugins"));
    // And files refused from their bytes alone, present at start-up.
    let plugins = ws.path("plugins");
    let abort = oibus_tests::ABORTING_CONSTRUCTOR;
    let size = std::mem::size_of::<oibus_plugin_api::ffi::PluginDeclaration>();
    oibus_tests::c_library(&plugins, "no-declaration.so", abort);
    oibus_tests::c_library(
        &plugins,
        "zeros.so",
        &format!("{abort}const char oibus_plugin_declaration[{size}] = {{0}};\n"),
    );
    std::fs::create_dir(plugins.join("a-folder.so")).unwrap();
    std::os::unix::fs::symlink(plugins.join("nothing"), plugins.join("dangling.so")).unwrap();
    cases.extend([
        ("no-declaration.so", "not an oibus plugin"),
        ("zeros.so", "does not start with the oibus plugin magic"),
        ("a-folder.so", "a directory"),
        ("dangling.so", "leads to no file"),
    ]);
    ws.config(
        "[engine.plugins]\nprobe_timeout = \"2s\"\n\n[[north]]\nid = \"out\"\ntype = \"console\"\n",
    );
    let mut engine = ws.start();
    engine.wait_until("the console North to run", Duration::from_secs(60), |e| {
        e.connector("out")
            .is_some_and(|c| c["state"] == "connected")
    });
    let log = engine.log();
    for (file, says) in &cases {
        let line = log
            .lines()
            .find(|l| l.contains(file) && l.contains("plugin refused"))
            .unwrap_or_else(|| panic!("no refusal line for {file}:\n{log}"));
        assert!(line.contains(says), "{file}: {line}");
    }
    // The same files dropped into the running engine under new names.
    let hot = ws.dir.path().join("hot");
    std::fs::create_dir(&hot).unwrap();
    let dropped = hostile_constructors(&hot);
    for (file, _) in &dropped {
        std::fs::rename(
            hot.join(file),
            ws.path("plugins").join(format!("hot-{file}")),
        )
        .unwrap();
    }
    engine.wait_until(
        "the dropped files to be refused",
        Duration::from_secs(60),
        |e| {
            let log = e.log();
            dropped.iter().all(|(file, says)| {
                log.lines().any(|l| {
                    l.contains(&format!("hot-{file}"))
                        && l.contains("plugin refused")
                        && l.contains(says)
                })
            })
        },
    );
    assert!(
        engine
            .connector("out")
            .is_some_and(|c| c["state"] == "connected")
    );
    engine.stop();
}

#[test]
fn files_are_checked_in_parallel_remembered_by_content_and_a_stop_ends_a_check_at_once() {
    let ws = Workspace::new(&["oibus_north_console"]);
    let plugins = ws.path("plugins");
    for id in ["hang-a", "hang-b", "hang-c"] {
        oibus_tests::c_library(
            &plugins,
            &format!("{id}.so"),
            &oibus_tests::declared_c_library(
                id,
                "#include <unistd.h>\n__attribute__((constructor)) static void c(void) { sleep(60); }",
            ),
        );
    }
    let config = |timeout: &str| {
        format!(
            "[engine.plugins]\nprobe_timeout = \"{timeout}\"\n\n[[north]]\nid = \"out\"\ntype = \"console\"\n"
        )
    };
    // The log is appended to across starts: the n-th start is running when the n-th such line is.
    let running = |n: usize| {
        move |e: &oibus_tests::process::Engine| {
            e.log().matches("engine \"oibus\" running").count() >= n
        }
    };
    // First start: the three 3-second checks run together.
    ws.config(&config("3s"));
    let began = std::time::Instant::now();
    let mut engine = ws.start();
    engine.wait_until("the engine to run", Duration::from_secs(30), running(1));
    let first = began.elapsed();
    let log = engine.log();
    engine.stop();
    assert!(
        first < Duration::from_secs(7),
        "three hanging files took {first:?}:\n{log}"
    );
    assert_eq!(log.matches("did not finish within 3s").count(), 3, "{log}");
    // Next start: the verdicts are remembered, nothing hangs again.
    let began = std::time::Instant::now();
    let mut engine = ws.start();
    engine.wait_until("the engine to run", Duration::from_secs(30), running(2));
    let second = began.elapsed();
    let log = engine.log();
    let log = log[log.find("engine \"oibus\" running").unwrap()..].to_string();
    engine.stop();
    assert!(
        second < Duration::from_secs(3),
        "the second start took {second:?}:\n{log}"
    );
    for id in ["hang-a", "hang-b", "hang-c"] {
        assert!(
            log.lines().any(|l| l.contains(&format!("{id}.so"))
                && l.contains("did not finish within 3s")
                && l.contains("remembered")),
            "{id}: {log}"
        );
    }
    // Another time-out: checked again; a stop during the checks ends the engine at once.
    ws.config(&config("20s"));
    let engine = ws.start();
    std::thread::sleep(Duration::from_secs(2));
    let log_file = engine.log_file();
    let began = std::time::Instant::now();
    let code = engine.terminate();
    let took = began.elapsed();
    let log = std::fs::read_to_string(log_file).unwrap();
    assert_eq!(code, 0, "{log}");
    assert!(
        took < Duration::from_secs(3),
        "the stop took {took:?}:\n{log}"
    );
    assert!(
        log.contains("stopping while the plugins are checked"),
        "{log}"
    );
}
