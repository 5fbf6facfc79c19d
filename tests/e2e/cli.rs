//! The `oibus` binary as a user runs it.

use oibus_tests::{
    PRODUCT_PLUGINS, c_library, copy_plugin, library_name, plugin_folder, run_oibus as run,
};
use std::{
    fs,
    path::{Path, PathBuf},
};

#[test]
fn plugins_list_shows_four_ok_rows_and_one_refused() {
    let dir = plugin_folder(PRODUCT_PLUGINS);
    fs::write(dir.path().join("garbage.so"), b"definitely not ELF").unwrap();
    let data = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = run(&[
        "plugins",
        "list",
        "--dir",
        d,
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(
        rows[0].starts_with("FILE") && rows[0].contains("STATUS"),
        "{out}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.ends_with(" ok")).count(),
        4,
        "{out}"
    );
    let refused: Vec<&&str> = rows.iter().filter(|r| r.contains("refused:")).collect();
    assert_eq!(refused.len(), 1, "{out}");
    assert!(
        refused[0].starts_with("garbage.so") && refused[0].contains("not a shared library"),
        "{out}"
    );
    for base in PRODUCT_PLUGINS {
        assert!(out.contains(&library_name(base)), "{out}");
    }
    assert!(
        out.contains(
            "simulator (south: QueriesLastPoint+QueriesHistory+QueriesSubscription+TestsItem)"
        ),
        "{out}"
    );

    let (code, json, _) = run(&[
        "plugins",
        "list",
        "--json",
        "--dir",
        d,
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let reports: serde_json::Value = serde_json::from_str(&json).unwrap();
    let statuses: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "ok").count(), 4);
    assert_eq!(statuses.iter().filter(|s| **s == "refused").count(), 1);
}

#[test]
fn plugins_list_fails_only_when_the_folder_is_unreadable() {
    let (code, _, err) = run(&["plugins", "list", "--dir", "/no/such/folder"]);
    assert_ne!(code, 0);
    assert!(err.contains("/no/such/folder"), "{err}");
}

#[test]
fn plugins_inspect_prints_the_manifest() {
    let dir = plugin_folder(&["oibus_north_file_writer"]);
    let data = tempfile::tempdir().unwrap();
    let file = dir.path().join(library_name("oibus_north_file_writer"));
    let (code, out, err) = run(&[
        "plugins",
        "inspect",
        file.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(m["id"], "oibus-north-file-writer");
    assert_eq!(m["api_version"], oibus_plugin_api::API_VERSION);
    assert_eq!(m["connector_types"][0]["id"], "file-writer");
    assert!(
        m["connector_types"][0]["settings_schema"]["properties"]["output_folder"].is_object(),
        "{out}"
    );
}

#[test]
fn test_connection_validates_then_tests() {
    let dir = plugin_folder(PRODUCT_PLUGINS);
    let work = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let data = work.path().join("data");
    let data = data.to_str().unwrap();

    let out_dir = work.path().join("out");
    let settings = serde_json::json!({"output_folder": out_dir}).to_string();
    let (code, out, err) = run(&[
        "test-connection",
        "--plugins",
        d,
        "--data",
        data,
        "--type",
        "file-writer",
        "--settings",
        &settings,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("connection OK"), "{out}");

    // From a file, with a wrong type for a field: the field is named and nothing runs.
    let file = work.path().join("bad.json");
    fs::write(&file, r#"{"output_folder": 12}"#).unwrap();
    let arg = format!("@{}", file.display());
    let (code, _, err) = run(&[
        "test-connection",
        "--plugins",
        d,
        "--data",
        data,
        "--type",
        "file-writer",
        "--settings",
        &arg,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/output_folder"), "{err}");

    // A real failure of the target is reported.
    let blocker = work.path().join("a-file");
    fs::write(&blocker, "x").unwrap();
    let settings = serde_json::json!({"output_folder": blocker.join("sub")}).to_string();
    let (code, _, err) = run(&[
        "test-connection",
        "--plugins",
        d,
        "--data",
        data,
        "--type",
        "file-writer",
        "--settings",
        &settings,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("connection FAILED") && err.contains("output_folder"),
        "{err}"
    );

    // Unknown type: the available ones are listed.
    let (code, _, err) = run(&[
        "test-connection",
        "--plugins",
        d,
        "--data",
        data,
        "--type",
        "nope",
        "--settings",
        "{}",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("folder-scanner"), "{err}");
}

#[test]
fn check_accepts_the_demos_and_names_every_problem_of_a_bad_configuration() {
    let plugins = plugin_folder(&[
        "oibus_south_simulator",
        "oibus_north_console",
        "oibus_north_file_writer",
        "oibus_south_mqtt",
        "oibus_north_mqtt",
        "oibus_south_sql",
        "oibus_opcua",
        "oibus_south_s7",
        "oibus_rest",
        "oibus_south_odbc",
        "oibus_sftp",
        "oibus_south_ftp",
        "oibus_kafka",
        "oibus_object_storage",
        "oibus_influxdb",
        "oibus_south_folder_scanner",
    ]);
    let data = tempfile::tempdir().unwrap();
    let check = |config: Option<&std::path::Path>| {
        let mut args = vec![
            "check".to_string(),
            "--plugins".into(),
            plugins.path().display().to_string(),
            "--data".into(),
            data.path().display().to_string(),
        ];
        if let Some(c) = config {
            args.extend(["--config".into(), c.display().to_string()]);
        }
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // The embedded demo, and every example the README points to.
    let (code, out, err) = check(None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("embedded demo configuration: ok"), "{out}");
    let examples = oibus_tests::workspace().join("examples");
    for example in fs::read_dir(&examples).unwrap() {
        let path = example.unwrap().path();
        let (code, out, err) = check(Some(&path));
        assert_eq!(code, 0, "{}: {out}{err}", path.display());
        assert!(out.contains(": ok ("), "{out}");
    }
    // A connector whose type no plugin of the folder provides: the engine would start and let
    // it wait, and the check says so, naming it, with exit code 1.
    let waiting = data.path().join("waiting.toml");
    fs::write(
        &waiting,
        "[[north]]\nid = \"files\"\ntype = \"file-writer-pro\"\nsettings = {}\n",
    )
    .unwrap();
    let (code, out, err) = check(Some(&waiting));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(r#"1 connector(s) would wait for a plugin that provides their type: north "files" (type "file-writer-pro")"#)
            && !out.contains(": ok"),
        "{out}"
    );
    // A bad configuration: every problem, each naming the connector and the field.
    let bad = data.path().join("bad.toml");
    let text = fs::read_to_string(examples.join("mqtt-demo.toml"))
        .unwrap()
        .replace("mqtt://", "http://");
    fs::write(&bad, text).unwrap();
    let (code, out, err) = check(Some(&bad));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(r#"south "from-broker" settings.broker.url"#)
            && err.contains(r#"north "to-broker" settings.broker.url"#),
        "{err}"
    );
}

#[test]
fn hostile_files_are_refused_from_their_bytes_before_any_of_their_code_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Each library aborts the process the moment the system loader opens it.
    let abort = oibus_tests::ABORTING_CONSTRUCTOR;
    let size = std::mem::size_of::<oibus_plugin_api::ffi::PluginDeclaration>();
    c_library(d, "no-declaration.so", abort);
    c_library(
        d,
        "declaration-is-code.so",
        &format!("{abort}void oibus_plugin_declaration(void) {{}}\n"),
    );
    c_library(
        d,
        "declaration-too-small.so",
        &format!("{abort}const char oibus_plugin_declaration[10] = \"OIBUS\";\n"),
    );
    c_library(
        d,
        "declaration-of-zeros.so",
        &format!("{abort}const char oibus_plugin_declaration[{size}] = {{0}};\n"),
    );
    c_library(
        d,
        "declaration-uninitialised.so",
        &format!("{abort}char oibus_plugin_declaration[{size}];\n"),
    );
    fs::create_dir(d.join("a-folder.so")).unwrap();
    std::os::unix::fs::symlink(d.join("nothing-here"), d.join("dangling.so")).unwrap();
    std::os::unix::fs::symlink(d.join("loop.so"), d.join("loop.so")).unwrap();
    copy_plugin("oibus_north_console", d);
    let data = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&[
        "plugins",
        "list",
        "--dir",
        d.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "the engine must survive: {err}\n{out}");
    let row = |file: &str| {
        out.lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("no row for {file}:\n{out}"))
            .to_string()
    };
    assert!(
        row("no-declaration.so").contains("not an oibus plugin"),
        "{out}"
    );
    // A function, not data: its size gives it away first.
    assert!(
        row("declaration-is-code.so").contains("malformed plugin declaration"),
        "{out}"
    );
    assert!(
        row("declaration-too-small.so").contains("is 10 bytes"),
        "{out}"
    );
    assert!(
        row("declaration-of-zeros.so").contains("does not start with the oibus plugin magic"),
        "{out}"
    );
    assert!(
        row("declaration-uninitialised.so").contains("not in data"),
        "{out}"
    );
    assert!(row("a-folder.so").contains("a directory"), "{out}");
    assert!(row("dangling.so").contains("leads to no file"), "{out}");
    assert!(
        row("loop.so").contains("Too many levels of symbolic links"),
        "{out}"
    );
    assert!(
        row(&library_name("oibus_north_console")).ends_with(" ok"),
        "{out}"
    );
}

#[test]
fn a_library_planted_in_the_shared_temporary_folder_is_never_loaded() {
    use std::os::unix::fs::MetadataExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    fs::create_dir(&plugins).unwrap();
    let real = copy_plugin("oibus_north_console", &plugins);
    // Where earlier versions kept their cache without --data: $TMPDIR/oibus-plugin-cache. Plant
    // there, under the real plugin's hash and at its length, a library that aborts when opened.
    let sum = std::process::Command::new("sha256sum")
        .arg(&real)
        .output()
        .expect("sha256sum");
    let sha = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let shared = tmp.path().join("oibus-plugin-cache");
    fs::create_dir(&shared).unwrap();
    c_library(&shared, "planted.so", oibus_tests::ABORTING_CONSTRUCTOR);
    let planted = shared.join(format!("{sha}.so"));
    fs::rename(shared.join("planted.so"), &planted).unwrap();
    fs::File::options()
        .write(true)
        .open(&planted)
        .unwrap()
        .set_len(fs::metadata(&real).unwrap().len())
        .unwrap();
    let home = tmp.path().join("home");
    let out = std::process::Command::new(oibus_tests::oibus())
        .args(["plugins", "list", "--dir"])
        .arg(&plugins)
        .env("TMPDIR", tmp.path())
        .env("HOME", &home)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().any(|l| l.ends_with(" ok")), "{text}");
    // The cache is this user's own, private folder.
    let cache = home.join(".cache/oibus/plugin-cache");
    assert_eq!(fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
    assert!(cache.join(format!("{sha}.so")).exists());
}

#[test]
fn a_command_whose_reader_goes_away_ends_quietly() {
    use std::io::BufRead as _;
    // Every product plugin: about 60 KB of manifests, far more than the pipe below holds.
    let dir = plugin_folder(PRODUCT_PLUGINS);
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(oibus_tests::oibus())
        .args(["plugins", "list", "--json", "--dir"])
        .arg(dir.path())
        .arg("--data")
        .arg(data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A pipe smaller than the output (its 60 KB would fit Linux's default 64 KiB), read one
    // line of, as `head -1` does, and closed.
    let stdout = child.stdout.take().unwrap();
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: a plain fcntl on a descriptor this test owns.
        let size = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
        assert!(size >= 4096, "F_SETPIPE_SZ");
    }
    let mut out = std::io::BufReader::new(stdout);
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    drop(out);
    let result = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(first.starts_with('['), "{first}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// The API crate as a vendor receives it: the `.crate` file `cargo package` makes, unpacked in
/// `into`, outside the repository. Returns the unpacked folder.
fn packaged_api(into: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args([
            "package",
            "-p",
            "oibus-plugin-api",
            "--no-verify",
            "--allow-dirty",
        ])
        .current_dir(oibus_tests::workspace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = format!("oibus-plugin-api-{}", oibus_plugin_api::API_VERSION);
    let tarball = oibus_tests::artifacts()
        .parent()
        .unwrap()
        .join("package")
        .join(format!("{name}.crate"));
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success(), "tar xzf {}", tarball.display());
    let unpacked = into.join(name);
    // The packaged manifest stands alone: nothing is inherited from a workspace.
    let manifest = fs::read_to_string(unpacked.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("workspace"), "{manifest}");
    assert!(manifest.contains("rust-version = \"1.85\""), "{manifest}");
    unpacked
}

#[test]
fn a_crate_made_by_plugins_new_against_the_packaged_api_builds_tests_and_loads_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let api = packaged_api(tmp.path());
    let plugins = tmp.path().join("plugins");
    fs::create_dir_all(&plugins).unwrap();
    // The build shares the workspace's target folder: the dependencies of the API crate are
    // already built there (in debug; the South is built for release, as a vendor ships it).
    let target = oibus_tests::artifacts().parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (name, kind, lib, types, profile) in [
        (
            "acme-gauge",
            "--south",
            "libacme_gauge.so",
            "acme-gauge (south: QueriesLastPoint)",
            "release",
        ),
        (
            "acme-jsonl",
            "--north",
            "libacme_jsonl.so",
            "acme-jsonl (north: HandlesValues)",
            "debug",
        ),
    ] {
        let (code, out, err) = run(&[
            "plugins",
            "new",
            name,
            kind,
            "--dir",
            tmp.path().to_str().unwrap(),
            "--api",
            api.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let krate = tmp.path().join(name);
        // As the vendor guide says: a cdylib only, and how to add a second connector type.
        let manifest = fs::read_to_string(krate.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("crate-type = [\"cdylib\"]\n"),
            "{manifest}"
        );
        let source = fs::read_to_string(krate.join("src/lib.rs")).unwrap();
        assert!(source.contains("A second type in this crate"), "{source}");
        // The workspace's versions of the dependencies, already built (cargo drops the rest).
        fs::copy(
            oibus_tests::workspace().join("Cargo.lock"),
            krate.join("Cargo.lock"),
        )
        .unwrap();
        let build: &[&str] = if profile == "release" {
            &["build", "--quiet", "--release"]
        } else {
            &["build", "--quiet"]
        };
        for step in [&["test", "--quiet"][..], build] {
            let status = std::process::Command::new(&cargo)
                .args(step)
                .current_dir(&krate)
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .unwrap();
            assert!(status.success(), "cargo {step:?} of the new crate {name}");
        }
        fs::copy(target.join(profile).join(lib), plugins.join(lib)).unwrap();
        let (_, list, _) = run(&["plugins", "list", "--dir", plugins.to_str().unwrap()]);
        let row = list
            .lines()
            .find(|l| l.starts_with(lib))
            .unwrap_or_else(|| panic!("{list}"));
        assert!(
            row.contains(types) && row.trim_end().ends_with(" ok"),
            "{row}"
        );
    }
    // A name without a vendor prefix is written, with a warning.
    let (code, _, err) = run(&[
        "plugins",
        "new",
        "gauge",
        "--south",
        "--dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(err.contains("has no vendor prefix"), "{err}");
}

#[test]
fn a_plugin_id_without_a_vendor_prefix_loads_with_a_warning_that_says_why() {
    use oibus_plugin_api::ffi::DECLARATION_TEXT_LEN as LEN;
    let dir = tempfile::tempdir().unwrap();
    let bytes = fs::read(oibus_tests::library("oibus_test_bench")).unwrap();
    // The declared id (the manifest takes it from there) becomes "benchmark", without a prefix.
    let mut field = b"oibus-test-bench".to_vec();
    field.resize(LEN, 0);
    let at = bytes
        .windows(LEN)
        .position(|w| w == field.as_slice())
        .unwrap();
    let mut patched = bytes.clone();
    let mut id = b"benchmark".to_vec();
    id.resize(LEN, 0);
    patched[at..at + LEN].copy_from_slice(&id);
    fs::write(dir.path().join("libbenchmark.so"), patched).unwrap();
    let (code, out, err) = run(&["plugins", "list", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("libbenchmark.so"))
        .unwrap();
    assert!(
        row.contains(" benchmark ") && row.trim_end().ends_with(" ok"),
        "{row}"
    );
    assert!(
        err.contains("plugin id \"benchmark\" has no vendor prefix")
            && err.contains("libbenchmark.so"),
        "{err}"
    );
}

/// The libraries whose reference block a connector page holds.
fn referenced_libraries(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix("<!-- BEGIN generated by `oibus plugins doc "))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_settings_tables_of_the_connector_pages_are_what_the_plugins_schemas_say() {
    let docs = oibus_tests::workspace().join("docs/connectors");
    let mut referenced = std::collections::BTreeSet::new();
    for entry in fs::read_dir(&docs).unwrap() {
        let page = entry.unwrap().path();
        if page.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&page).unwrap();
        let libraries = referenced_libraries(&text);
        assert!(
            !libraries.is_empty(),
            "{} has no generated reference block",
            page.display()
        );
        for library in libraries {
            let file = oibus_tests::build().join(&library);
            let (code, out, err) = run(&[
                "plugins",
                "doc",
                file.to_str().unwrap(),
                "--out",
                page.to_str().unwrap(),
                "--check",
            ]);
            assert_eq!(
                code, 0,
                "{out}{err}(regenerate every page with scripts/connector-docs)"
            );
            referenced.insert(library);
        }
    }
    // Every product plugin has its reference in a page.
    for (package, base) in oibus_tests::PLUGINS {
        if !package.starts_with("oibus-test-") {
            assert!(
                referenced.contains(&library_name(base)),
                "no page of docs/connectors holds the reference of {base}"
            );
        }
    }
}

#[test]
fn plugins_doc_names_a_stale_page_and_a_page_without_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let library = oibus_tests::library("oibus_south_modbus");
    let page = dir.path().join("modbus.md");
    let original =
        fs::read_to_string(oibus_tests::workspace().join("docs/connectors/south-modbus.md"))
            .unwrap();
    // A description edited by hand inside the block is stale; writing puts the schema's back.
    fs::write(&page, original.replace("| TCP port. |", "| The port. |")).unwrap();
    let args = |check: bool| {
        let mut a = vec![
            "plugins".to_string(),
            "doc".into(),
            library.to_string_lossy().into_owned(),
            "--out".into(),
            page.to_string_lossy().into_owned(),
        ];
        if check {
            a.push("--check".into());
        }
        a
    };
    fn as_str(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let (code, _, err) = run(&as_str(&args(true)));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("modbus.md is stale") && err.contains("oibus plugins doc"),
        "{err}"
    );
    let (code, out, err) = run(&as_str(&args(false)));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fs::read_to_string(&page).unwrap(), original);
    // A page without the block: the two lines to add are given.
    fs::write(&page, "# Modbus\n").unwrap();
    let (code, _, err) = run(&as_str(&args(false)));
    assert_ne!(code, 0);
    assert!(
        err.contains("has no generated block for liboibus_south_modbus.so")
            && err.contains("<!-- BEGIN generated by `oibus plugins doc liboibus_south_modbus.so`"),
        "{err}"
    );
}

#[test]
fn an_admin_address_in_use_stops_the_engine_before_any_connector_starts() {
    use oibus_tests::process::{RECORDING_NORTH, Workspace, acknowledged_probe_south};
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let ws = Workspace::new(&["oibus_test_probe"]);
    let config = ws.config(&format!(
        "{}{RECORDING_NORTH}",
        acknowledged_probe_south(true)
    ));
    let out = std::process::Command::new("timeout")
        .arg("60")
        .arg(oibus_tests::oibus())
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(ws.data())
        .arg("--plugins")
        .arg(ws.path("plugins"))
        .args(["--admin-listen", &address])
        .env("OIBUS_LOG", "debug")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("the admin API cannot listen on {address}"))
            && err.contains("Address already in use")
            && err.contains("--admin-listen HOST:PORT")
            && err.contains("[engine.admin]"),
        "{err}"
    );
    // No connector ran: none logged, none acknowledged a value.
    assert!(!err.contains("connector.id"), "{err}");
    assert!(!ws.path("acks").exists());
    drop(taken);
}
