//! The release artefacts of `scripts/release`, unpacked and run as a user would: the archive of
//! the platform under test (`.tar.gz`, or the Windows `.zip`) starts its engine with every product
//! plugin loaded and signed by the release key its `oibus.toml` trusts; the `.deb` holds the
//! engine, the signed plugins, the configuration and a systemd unit that systemd accepts, and its
//! engine runs from where the package puts it.
//!
//! The suite packages this machine's debug build; `scripts/cross` runs the file again for the
//! Windows and ARM64 builds ([`oibus_tests::target`]).

use oibus_tests::{process::Engine, target, workspace};
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// The release's name of the platform under test.
fn platform() -> &'static str {
    let triple = target()
        .triple
        .clone()
        .unwrap_or_else(|| format!("{}-unknown-linux-gnu", std::env::consts::ARCH));
    if triple.contains("windows") {
        "windows-x86_64"
    } else if triple.starts_with("aarch64") {
        "linux-arm64"
    } else {
        "linux-x86_64"
    }
}

/// The product plugins, as `scripts/release` ships them: every crate of plugins/connectors/.
fn product_count() -> usize {
    fs::read_dir(workspace().join("plugins/connectors"))
        .expect("plugins/connectors")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().join("Cargo.toml").is_file())
        })
        .count()
}

/// Runs `scripts/release --debug` for the platform under test into `out`; returns the files made.
fn release(out: &Path) -> Vec<PathBuf> {
    let run = Command::new(workspace().join("scripts/release"))
        .args(["--debug", "--platform", platform(), "--out"])
        .arg(out)
        .output()
        .expect("run scripts/release");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "scripts/release failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Without OIBUS_RELEASE_KEY it says it signs with a throwaway key.
    assert!(stdout.contains("throwaway key"), "{stdout}");
    stdout
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Runs an engine of `exe` on `config` until its log (in `data`) says how its plugins loaded;
/// stops it the way its platform asks and returns that log.
fn run_until_plugins_loaded(
    exe: &Path,
    config: &Path,
    data: &Path,
    plugins: Option<&Path>,
) -> String {
    let mut command = target().command(exe);
    command
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["--admin-listen", "127.0.0.1:0"]);
    if let Some(plugins) = plugins {
        command.arg("--plugins").arg(plugins);
    }
    let output = data.with_extension("out");
    let engine = Engine::spawn(command, data.to_path_buf(), output.clone());
    let log_file = data.join("oibus.log");
    let began = Instant::now();
    let log = loop {
        let log = fs::read_to_string(&log_file).unwrap_or_default();
        if log.contains("engine \"oibus\" running") {
            break log;
        }
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "the release's engine did not start within 120 s:\n{log}\n{}",
            fs::read_to_string(&output).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    engine.stop();
    log
}

/// What a release's engine must say at start: signatures required, one trusted key, every
/// product plugin loaded, none refused.
fn assert_all_plugins_signed_and_loaded(log: &str) {
    assert!(
        log.contains("plugin signatures: Require, 1 trusted key(s)"),
        "{log}"
    );
    let loaded = format!("{} ok, 0 standby, 0 refused", product_count());
    assert!(log.contains(&loaded), "expected {loaded:?}:\n{log}");
    assert!(!log.contains("not signed"), "{log}");
}

fn unpack(archive: &Path, into: &Path) {
    fs::create_dir_all(into).unwrap();
    let status = if archive.extension().is_some_and(|e| e == "zip") {
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(archive)
            .arg(into)
            .status()
    } else {
        Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(into)
            .status()
    };
    assert!(
        status.expect("unpack").success(),
        "cannot unpack {}",
        archive.display()
    );
}

/// One run of the release script, its artefacts checked one after the other (they are large:
/// the folder goes when the test ends).
#[test]
fn the_release_artefacts_unpack_install_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let files = release(&tmp.path().join("dist"));
    archive_runs_its_engine_with_every_plugin_signed_and_trusted(
        &files,
        &tmp.path().join("archive"),
    );
    if !target().is_windows() {
        // Windows ships the zip only.
        deb_holds_the_engine_its_signed_plugins_and_a_systemd_unit(&files, &tmp.path().join("deb"));
    }
}

fn archive_runs_its_engine_with_every_plugin_signed_and_trusted(files: &[PathBuf], tmp: &Path) {
    let suffix = if target().is_windows() {
        ".zip"
    } else {
        ".tar.gz"
    };
    let archive = files
        .iter()
        .find(|f| f.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} among {files:?}"));
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(suffix))
        .expect("an archive name");
    assert!(
        name.starts_with("oibus-") && name.ends_with(platform()),
        "{name}"
    );
    unpack(archive, &tmp.join("unpacked"));
    let root = tmp.join("unpacked").join(name);
    let exe = root.join(target().exe_name("oibus"));
    assert!(exe.is_file(), "{} missing", exe.display());
    // Each plugin file has its signature beside it.
    let plugins: Vec<_> = fs::read_dir(root.join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let libraries: Vec<_> = plugins
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "so" || e == "dll"))
        .collect();
    assert_eq!(libraries.len(), product_count(), "{plugins:?}");
    for lib in &libraries {
        let mut signature = lib.as_os_str().to_owned();
        signature.push(".minisig");
        assert!(
            Path::new(&signature).is_file(),
            "{} has no signature",
            lib.display()
        );
    }
    // Run from the archive's folder as unpacked: its oibus.toml finds plugins/ beside it.
    let log = run_until_plugins_loaded(&exe, &root.join("oibus.toml"), &root.join("data"), None);
    assert_all_plugins_signed_and_loaded(&log);
}

fn deb_holds_the_engine_its_signed_plugins_and_a_systemd_unit(files: &[PathBuf], tmp: &Path) {
    fs::create_dir_all(tmp).unwrap();
    let deb = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "deb"))
        .unwrap_or_else(|| panic!("no .deb among {files:?}"));
    let arch = if platform() == "linux-arm64" {
        "arm64"
    } else {
        "amd64"
    };
    let field = |name: &str| {
        let out = Command::new("dpkg-deb")
            .args(["--field"])
            .arg(deb)
            .arg(name)
            .output()
            .expect("dpkg-deb");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(field("Package"), "oibus");
    assert_eq!(field("Architecture"), arch);
    assert!(field("Depends").contains("adduser"));
    let root = tmp.join("root");
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&root)
        .status();
    assert!(status.expect("dpkg-deb -x").success());
    let control = tmp.join("control");
    let status = Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(&control)
        .status();
    assert!(status.expect("dpkg-deb -e").success());
    for script in ["postinst", "prerm", "postrm"] {
        let check = Command::new("sh")
            .arg("-n")
            .arg(control.join(script))
            .status();
        assert!(check.expect("sh -n").success(), "{script} is not valid sh");
    }
    assert_eq!(
        fs::read_to_string(control.join("conffiles"))
            .unwrap()
            .trim(),
        "/etc/oibus/oibus.toml"
    );
    let unit = root.join("lib/systemd/system/oibus.service");
    let text = fs::read_to_string(&unit).expect("the systemd unit");
    assert!(
        text.contains(
            "ExecStart=/usr/bin/oibus run --config /etc/oibus/oibus.toml --data /var/lib/oibus"
        ),
        "{text}"
    );
    // systemd's own check of the unit (scripts/test installs systemd-analyze), on a copy whose
    // program is the unpacked one (systemd checks that it exists and is executable).
    let copy = tmp.join("oibus.service");
    let engine = root.join("usr/bin/oibus");
    fs::write(
        &copy,
        text.replace("/usr/bin/oibus", &engine.to_string_lossy()),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (package systemd)");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");
    let libraries = fs::read_dir(root.join("usr/lib/oibus/plugins"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "so")
        })
        .count();
    assert_eq!(libraries, product_count());
    // The package's engine on the package's configuration (its plugins folder moved to where
    // the package was unpacked).
    let log = run_until_plugins_loaded(
        &engine,
        &root.join("etc/oibus/oibus.toml"),
        &tmp.join("data"),
        Some(&root.join("usr/lib/oibus/plugins")),
    );
    assert_all_plugins_signed_and_loaded(&log);
}
