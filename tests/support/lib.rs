//! Helpers for the end-to-end tests: build the plugin crates with cargo, copy the library files
//! into temporary plugin folders, find the `oibus` binary.

pub mod api;
pub mod process;
pub mod servers;
pub mod target;

pub use target::target;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

/// The plugin crates of the workspace: package name and library base name.
pub const PLUGINS: &[(&str, &str)] = &[
    ("oibus-south-simulator", "oibus_south_simulator"),
    ("oibus-south-folder-scanner", "oibus_south_folder_scanner"),
    ("oibus-north-file-writer", "oibus_north_file_writer"),
    ("oibus-north-console", "oibus_north_console"),
    ("oibus-test-probe", "oibus_test_probe"),
    ("oibus-test-newer-api", "oibus_test_newer_api"),
    ("oibus-test-not-a-plugin", "oibus_test_not_a_plugin"),
    ("oibus-test-bench", "oibus_test_bench"),
    ("oibus-south-modbus", "oibus_south_modbus"),
    ("oibus-south-mqtt", "oibus_south_mqtt"),
    ("oibus-north-mqtt", "oibus_north_mqtt"),
    ("oibus-north-nats", "oibus_north_nats"),
    ("oibus-south-sql", "oibus_south_sql"),
    ("oibus-opcua", "oibus_opcua"),
    ("oibus-south-s7", "oibus_south_s7"),
    ("oibus-rest", "oibus_rest"),
    ("oibus-south-odbc", "oibus_south_odbc"),
    ("oibus-sftp", "oibus_sftp"),
    ("oibus-south-ftp", "oibus_south_ftp"),
    ("oibus-kafka", "oibus_kafka"),
    ("oibus-object-storage", "oibus_object_storage"),
    ("oibus-influxdb", "oibus_influxdb"),
];

/// The four product plugins.
pub const PRODUCT_PLUGINS: &[&str] = &[
    "oibus_south_simulator",
    "oibus_south_folder_scanner",
    "oibus_north_file_writer",
    "oibus_north_console",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn release() -> bool {
    std::env::current_exe()
        .map(|p| p.components().any(|c| c.as_os_str() == "release"))
        .unwrap_or(false)
}

/// The folder holding the built libraries and binaries (same profile as the running test).
pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let target = match &target::target().triple {
        Some(triple) => target.join(triple),
        None => target,
    };
    target.join(if release() { "release" } else { "debug" })
}

/// The plugin crates built for another platform than this machine's ([`target::Target`]): the
/// product plugins that need no C library of the target, and the test fixtures.
pub const CROSS_PLUGINS: &[&str] = &[
    "oibus-south-simulator",
    "oibus-south-folder-scanner",
    "oibus-north-file-writer",
    "oibus-north-console",
    "oibus-test-probe",
];

/// Builds every plugin crate and the `oibus` binary once per test process (a no-op when cargo finds
/// them up to date), and returns [`artifacts`].
pub fn build() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace())
            .args(["build", "--quiet", "-p", "oibus"]);
        match &target::target().triple {
            Some(triple) => {
                cmd.args(["--target", triple]);
                for package in CROSS_PLUGINS {
                    cmd.args(["-p", package]);
                }
            }
            None => {
                for (package, _) in PLUGINS {
                    cmd.args(["-p", package]);
                }
            }
        }
        if release() {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("cannot run cargo");
        assert!(
            out.status.success(),
            "building the plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        artifacts()
    })
}

/// The file name of a library on the platform under test (`libx.so`, `x.dll`, `libx.dylib`).
pub fn library_name(base: &str) -> String {
    target::target().library_name(base)
}

/// The built library of plugin crate `base` (built first if needed).
pub fn library(base: &str) -> PathBuf {
    build().join(library_name(base))
}

/// A fresh temporary folder holding copies of these plugins.
pub fn plugin_folder(bases: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for base in bases {
        copy_plugin(base, dir.path());
    }
    dir
}

/// Copies plugin `base` into `folder` under its usual name; returns the copy.
pub fn copy_plugin(base: &str, folder: &Path) -> PathBuf {
    let target = folder.join(library_name(base));
    fs::copy(library(base), &target).expect("copy plugin");
    target
}

/// Compiles C `source` into the shared library `folder/name` with the system's C compiler.
pub fn c_library(folder: &Path, name: &str, source: &str) {
    let src = folder.join(format!("{name}.c"));
    fs::write(&src, source).unwrap();
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(folder.join(name))
        .arg(&src)
        .status()
        .expect("cc (gcc, on every machine of this kind)");
    assert!(status.success(), "cc failed on {name}");
    fs::remove_file(src).unwrap();
}

/// C source of a library whose constructor aborts the process the moment it is opened.
pub const ABORTING_CONSTRUCTOR: &str =
    "#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) { abort(); }\n";

/// C source of a library with a valid declaration of plugin `id` 1.0.0 for this host's API (so it
/// passes every check made on its bytes), followed by `body` (a constructor that misbehaves, a
/// garbage root module…).
pub fn declared_c_library(id: &str, body: &str) -> String {
    let v = semver::Version::parse(oibus_plugin_api::API_VERSION).expect("API version");
    format!(
        "struct decl {{ unsigned char magic[16]; unsigned int version, major, minor, patch; \
         char id[64]; char plugin_version[64]; }};\n\
         __attribute__((visibility(\"default\"))) const struct decl oibus_plugin_declaration = \
         {{ \"oibus-rs-plugin\", 1, {}, {}, {}, \"{id}\", \"1.0.0\" }};\n{body}\n",
        v.major, v.minor, v.patch
    )
}

/// Libraries that pass every check made on their bytes and misbehave once opened: constructors
/// that abort, exit with 3, exit with 0 and sleep 30 s, and an abi_stable root module that is
/// garbage. Written into `folder` by [`c_library`]; returns (file name, what its refusal says).
pub fn hostile_constructors(folder: &Path) -> Vec<(&'static str, &'static str)> {
    let ctor = |code: &str| {
        format!(
            "#include <stdlib.h>\n#include <unistd.h>\n__attribute__((constructor)) static void c(void) {{ {code} }}"
        )
    };
    let cases = [
        (
            "ctor-abort.so",
            "ctor-abort",
            ctor("abort();"),
            "killed by signal 6 (SIGABRT)",
        ),
        (
            "ctor-exit3.so",
            "ctor-exit3",
            ctor("exit(3);"),
            "exited the process with code 3",
        ),
        (
            "ctor-exit0.so",
            "ctor-exit0",
            ctor("exit(0);"),
            "without an answer (exit code 0",
        ),
        (
            "ctor-sleep.so",
            "ctor-sleep",
            ctor("sleep(30);"),
            "did not finish within",
        ),
        (
            "garbage-root.so",
            "garbage-root",
            format!(
                "__attribute__((visibility(\"default\"))) const unsigned long {} = 0xdeadbeefdeadbeefUL;",
                abi_stable::library::ROOT_MODULE_LOADER_NAME
            ),
            "ABI check failed",
        ),
    ];
    cases
        .into_iter()
        .map(|(file, id, body, says)| {
            c_library(folder, file, &declared_c_library(id, &body));
            (file, says)
        })
        .collect()
}

/// The `oibus` binary.
pub fn oibus() -> PathBuf {
    build().join(target::target().exe_name("oibus"))
}

/// The `oibus` binary of this machine (built once per test process), whatever the platform under
/// test: for the vendor's side, which runs on the build machine (`plugins new`, `sign`).
pub fn host_oibus() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.current_dir(workspace())
                .args(["build", "--quiet", "-p", "oibus"]);
            if release() {
                cmd.arg("--release");
            }
            let out = cmd.output().expect("cannot run cargo");
            assert!(
                out.status.success(),
                "building oibus failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target"));
            target
                .join(if release() { "release" } else { "debug" })
                .join(format!("oibus{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A command running the `oibus` binary on the platform under test (through its emulator, if
/// any).
pub fn oibus_command() -> Command {
    target::target().command(&oibus())
}

/// Runs the `oibus` binary with `args`: its exit code (-1 if killed), standard output and error.
pub fn run_oibus(args: &[&str]) -> (i32, String, String) {
    let out = oibus_command().args(args).output().expect("run oibus");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rewrites the declaration of a plugin library (plugin id `id`): appends `id_suffix` to the id
/// and, if given, sets the version. Copies of one file so become distinct plugins, or other
/// versions of the same plugin.
pub fn patch_declaration(
    library: &[u8],
    id: &str,
    id_suffix: &str,
    version: Option<&str>,
) -> Vec<u8> {
    use oibus_plugin_api::ffi::DECLARATION_TEXT_LEN as LEN;
    let mut field = id.as_bytes().to_vec();
    field.resize(LEN, 0);
    let at = library
        .windows(field.len())
        .position(|w| w == field.as_slice())
        .expect("the plugin's declaration is in the file");
    let mut out = library.to_vec();
    out[at + id.len()..at + id.len() + id_suffix.len()].copy_from_slice(id_suffix.as_bytes());
    if let Some(v) = version {
        let version_field = &mut out[at + LEN..at + 2 * LEN];
        version_field.fill(0);
        version_field[..v.len()].copy_from_slice(v.as_bytes());
    }
    out
}

/// Rewrites the plugin id in the declaration of a library built from the `test-bench` fixture.
pub fn with_plugin_id_suffix(library: &[u8], suffix: &str) -> Vec<u8> {
    patch_declaration(library, "oibus-test-bench", suffix, None)
}

/// Plugins loaded without signature checks for tests and benchmarks that drive connectors
/// outside an engine: the registry, and the folder of its private copies (where connectors'
/// state folders can go too). The plugins' folder lives as long as it.
pub struct Unchecked {
    /// The loaded plugins.
    pub registry: oibus_engine::loader::PluginRegistry,
    /// The folder of the private copies.
    pub cache: tempfile::TempDir,
    _plugins: tempfile::TempDir,
}

/// Loads the plugins `bases` (library names such as `oibus_opcua`) without signature checks;
/// panics if the folder cannot be read.
pub fn unchecked_plugins(bases: &[&str]) -> Unchecked {
    let plugins = plugin_folder(bases);
    let cache = tempfile::tempdir().expect("temp dir");
    let (registry, reports) = oibus_engine::loader::PluginRegistry::discover(
        plugins.path(),
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .expect("the plugins folder");
    assert_eq!(registry.plugins().count(), bases.len(), "{reports:#?}");
    Unchecked {
        registry,
        cache,
        _plugins: plugins,
    }
}

/// Creates connector `id` of type `type_id` outside an engine, with the default time-outs and
/// `sink` taking its data, for tests and benchmarks that drive one connector. Call it inside a
/// tokio runtime; panics if the type is unknown or the settings are refused.
pub fn standalone_connector(
    registry: &oibus_engine::loader::PluginRegistry,
    (id, type_id): (&str, &str),
    settings: &serde_json::Value,
    state_dir: PathBuf,
    sink: std::sync::Arc<dyn oibus_engine::connector::DataSink>,
) -> oibus_engine::connector::ConnectorHandle {
    oibus_engine::connector::create(
        registry,
        oibus_engine::connector::ConnectorSpec {
            id,
            type_id,
            settings,
            plugins_data: state_dir.join("plugin-data"),
            state_dir,
            timeouts: oibus_engine::connector::Timeouts::default(),
            reports: Default::default(),
            isolation: None,
        },
        sink,
        tokio::runtime::Handle::current(),
    )
    .unwrap_or_else(|e| panic!("cannot create {type_id} connector {id}: {e}"))
}

/// A data sink that accepts everything, for tests and benchmarks that do not look at the data.
pub struct AcceptAll;

impl oibus_engine::connector::DataSink for AcceptAll {
    fn add_values(
        &self,
        _: &str,
        _: Vec<oibus_plugin_api::OibusValue>,
    ) -> futures_util::future::BoxFuture<'static, Result<(), oibus_plugin_api::PluginError>> {
        Box::pin(async { Ok(()) })
    }
    fn add_file(
        &self,
        _: &str,
        _: PathBuf,
    ) -> futures_util::future::BoxFuture<'static, Result<(), oibus_plugin_api::PluginError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS`, `VmHWM`), in MB.
pub fn memory_mb(field: &str) -> f64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `oibus ARGS…` with `--plugins` a fresh folder holding plugin `plugin` (a library name
/// such as `oibus_south_sql`) and `--data` a fresh data folder.
fn run_on_plugin(plugin: &str, args: &[&str]) -> std::process::Output {
    let plugins = plugin_folder(&[plugin]);
    let data = tempfile::tempdir().expect("temp dir");
    oibus_command()
        .args(args)
        .arg("--plugins")
        .arg(plugins.path())
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("run oibus")
}

/// Runs `oibus test-connection` for connector type `type_id` of plugin `plugin` (a library name
/// such as `oibus_south_sql`) with `settings` (JSON): its exit code and error output.
pub fn test_connection(plugin: &str, type_id: &str, settings: &str) -> (Option<i32>, String) {
    let out = run_on_plugin(
        plugin,
        &[
            "test-connection",
            "--type",
            type_id,
            "--timeout",
            "10",
            "--settings",
            settings,
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `oibus test-connection` for connector type `type_id` of plugin `plugin` with the
/// settings `settings(password)`, and checks that a wrong password is refused with a clear message
/// that does not show it, and that `right` works.
pub fn assert_credentials_are_checked(
    plugin: &str,
    type_id: &str,
    right: &str,
    settings: impl Fn(&str) -> String,
) {
    let (code, err) = test_connection(plugin, type_id, &settings("wrong"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(!err.contains("wrong"), "the password is never shown: {err}");
    let (code, err) = test_connection(plugin, type_id, &settings(right));
    assert_eq!(code, Some(0), "{err}");
}

/// From the status document of the engine using `data`: when it was written (seconds since the
/// epoch) and how many values connector `id` has sent. For rates measured by the benchmarks.
pub fn values_sent_at(data: &Path, id: &str) -> (f64, u64) {
    let snap = oibus_engine::engine::read_status(data).expect("status document");
    let sent = snap.connectors.iter().find(|c| c.id == id).map_or(0, |c| {
        c.counters
            .values_sent
            .load(std::sync::atomic::Ordering::Relaxed)
    });
    (snap.updated.as_nanos() as f64 / 1e9, sent)
}

/// Runs `oibus test-item` for connector type `type_id` of plugin `plugin` with `settings` and
/// `item` (JSON) and `extra` arguments: its exit code, standard output and error output.
pub fn test_item(
    plugin: &str,
    type_id: &str,
    settings: &str,
    item: &str,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let mut args = vec![
        "test-item",
        "--type",
        type_id,
        "--timeout",
        "10",
        "--settings",
        settings,
        "--item",
        item,
    ];
    args.extend_from_slice(extra);
    let out = run_on_plugin(plugin, &args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
