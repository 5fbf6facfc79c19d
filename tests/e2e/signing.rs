//! Signed plugins, as a vendor makes them with `oibus plugins keygen | sign | verify` and as an
//! operator's engine judges them under each signature policy: a trusted signature, no signature,
//! a key that is not trusted, a file modified after signing, and another file's signature.

use oibus_tests::{copy_plugin, run_oibus};
use std::{fs, path::Path};

fn oibus_ok(args: &[&str]) -> String {
    let (code, out, err) = run_oibus(args);
    assert_eq!(code, 0, "oibus {args:?}: {err}\n{out}");
    out + &err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The key id `keygen` printed.
fn key_id(keygen_output: &str) -> String {
    keygen_output
        .lines()
        .find_map(|l| l.strip_prefix("key id "))
        .expect("keygen prints the key id")
        .trim()
        .to_string()
}

#[test]
fn a_vendor_following_the_guide_gets_an_ok_row_with_their_key_id() {
    let tmp = tempfile::tempdir().unwrap();
    let (keys, plugins, data) = (
        tmp.path().join("keys"),
        tmp.path().join("plugins"),
        tmp.path().join("data"),
    );
    fs::create_dir_all(&plugins).unwrap();
    // An encrypted key, with the password from the environment (a build machine's way).
    let out = std::process::Command::new(oibus_tests::oibus())
        .args(["plugins", "keygen", "--out", s(&keys), "--name", "acme"])
        .env("OIBUS_SIGNING_PASSWORD", "correct horse")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = key_id(&String::from_utf8_lossy(&out.stdout));
    let secret = fs::read_to_string(keys.join("acme.key")).unwrap();
    assert!(!secret.contains("correct horse"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(keys.join("acme.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    }
    let lib = copy_plugin("oibus_north_console", &plugins);
    let sign = |password: &str| {
        std::process::Command::new(oibus_tests::oibus())
            .args([
                "plugins",
                "sign",
                s(&lib),
                "--key",
                s(&keys.join("acme.key")),
            ])
            .env("OIBUS_SIGNING_PASSWORD", password)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = sign("correct horse");
    assert!(out.status.success(), "{out:?}");
    // A wrong password signs nothing.
    let wrong = sign("wrong");
    assert!(!wrong.status.success(), "{wrong:?}");
    let verified = oibus_ok(&[
        "plugins",
        "verify",
        s(&lib),
        "--key",
        s(&keys.join("acme.pub")),
    ]);
    assert!(
        verified.contains(&format!("good signature by key {id}")),
        "{verified}"
    );
    // The operator trusts the vendor's public key.
    fs::create_dir_all(data.join("trusted-keys")).unwrap();
    fs::copy(keys.join("acme.pub"), data.join("trusted-keys/acme.pub")).unwrap();
    let list = oibus_ok(&["plugins", "list", "--dir", s(&plugins), "--data", s(&data)]);
    let row = list
        .lines()
        .find(|l| l.starts_with("liboibus_north_console"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains(&id) && row.trim_end().ends_with("ok"), "{row}");
    // The guide's test-connection, with --data: the key is trusted, no warning. Without it,
    // the warning says the key is not trusted, and the help says where trusted keys come from.
    let settings = [
        "--plugins",
        s(&plugins),
        "--type",
        "console",
        "--settings",
        "{}",
    ];
    let (code, out, err) =
        run_oibus(&[&["test-connection"][..], &settings, &["--data", s(&data)]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("not trusted"), "{err}");
    let (code, out, err) = run_oibus(&[&["test-connection"][..], &settings].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("signed by key {id}, which is not trusted")),
        "{err}"
    );
    let (_, help, _) = run_oibus(&["test-connection", "--help"]);
    assert!(help.contains("DATA/trusted-keys"), "{help}");
    // Tampering after signing: `verify` says so.
    let mut bytes = fs::read(&lib).unwrap();
    bytes.push(0);
    fs::write(&lib, bytes).unwrap();
    let (code, out, _) = run_oibus(&[
        "plugins",
        "verify",
        s(&lib),
        "--key",
        s(&keys.join("acme.pub")),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("bad signature by key") && out.contains(&id),
        "{out}"
    );
}

#[test]
fn each_signature_case_under_each_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let (keys, plugins) = (tmp.path().join("keys"), tmp.path().join("plugins"));
    fs::create_dir_all(&plugins).unwrap();
    let trusted = key_id(&oibus_ok(&[
        "plugins",
        "keygen",
        "--out",
        s(&keys),
        "--name",
        "trusted",
        "--no-password",
    ]));
    let stranger = key_id(&oibus_ok(&[
        "plugins",
        "keygen",
        "--out",
        s(&keys),
        "--name",
        "stranger",
        "--no-password",
    ]));
    let sign = |lib: &Path, key: &str| {
        oibus_ok(&[
            "plugins",
            "sign",
            s(lib),
            "--key",
            s(&keys.join(format!("{key}.key"))),
        ]);
    };
    let good = copy_plugin("oibus_north_console", &plugins);
    sign(&good, "trusted");
    let unsigned = copy_plugin("oibus_north_file_writer", &plugins);
    let unknown = copy_plugin("oibus_south_simulator", &plugins);
    sign(&unknown, "stranger");
    let modified = copy_plugin("oibus_north_mqtt", &plugins);
    sign(&modified, "trusted");
    let mut bytes = fs::read(&modified).unwrap();
    bytes.extend_from_slice(b"patched");
    fs::write(&modified, bytes).unwrap();
    let borrowed = copy_plugin("oibus_south_mqtt", &plugins);
    fs::copy(
        format!("{}.minisig", good.display()),
        format!("{}.minisig", borrowed.display()),
    )
    .unwrap();
    let files = [
        (&good, "good"),
        (&unsigned, "unsigned"),
        (&unknown, "unknown"),
        (&modified, "modified"),
        (&borrowed, "borrowed"),
    ];

    for policy in ["require", "warn", "off"] {
        let data = tmp.path().join(format!("data-{policy}"));
        fs::create_dir_all(data.join("trusted-keys")).unwrap();
        fs::copy(
            keys.join("trusted.pub"),
            data.join("trusted-keys/trusted.pub"),
        )
        .unwrap();
        let config = tmp.path().join(format!("{policy}.toml"));
        fs::write(
            &config,
            format!("[engine.plugins]\nsignatures = \"{policy}\"\n"),
        )
        .unwrap();
        let (_, out, err) = run_oibus(&[
            "check",
            "--config",
            s(&config),
            "--data",
            s(&data),
            "--plugins",
            s(&plugins),
        ]);
        let row = |lib: &Path| {
            let name = lib.file_name().unwrap().to_str().unwrap();
            out.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{policy}: no row for {name}:\n{out}\n{err}"))
                .to_string()
        };
        for (lib, case) in files {
            let row = row(lib);
            let ok = row.trim_end().ends_with(" ok");
            let expected_ok = matches!(
                (policy, case),
                ("off", _) | (_, "good") | ("warn", "unsigned" | "unknown")
            );
            assert_eq!(ok, expected_ok, "{policy}/{case}: {row}");
            let says = match (policy, case) {
                ("off", _) => "-",
                (_, "good") => trusted.as_str(),
                ("warn", "unsigned") => "unsigned",
                ("warn", "unknown") => "untrusted",
                ("require", "unsigned") => "unsigned (no liboibus_north_file_writer.so.minisig",
                ("require", "unknown") => "which is not trusted",
                (_, "modified" | "borrowed") => "bad signature by key",
                _ => unreachable!(),
            };
            assert!(row.contains(says), "{policy}/{case}: {row}");
            if case == "unknown" && policy != "off" {
                assert!(
                    row.contains(&stranger),
                    "{policy}/{case} names the key: {row}"
                );
            }
        }
        if policy == "warn" {
            assert!(
                err.contains("is not signed; it was opened first in a throwaway process"),
                "{err}"
            );
        }
    }
}

#[test]
fn signatures_of_the_reference_minisign_tool_are_accepted_and_ours_verify_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (plugins, data) = (tmp.path().join("plugins"), tmp.path().join("data"));
    fs::create_dir_all(data.join("trusted-keys")).unwrap();
    fs::create_dir_all(&plugins).unwrap();
    let lib = copy_plugin("oibus_north_console", &plugins);
    let minisign = |args: &[&str]| {
        let out = std::process::Command::new("minisign")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("minisign (installed by scripts/test)");
        assert!(out.status.success(), "minisign {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    // A key pair without a password (-W), and a signature of the plugin, by minisign itself.
    let (pk, sk) = (tmp.path().join("vendor.pub"), tmp.path().join("vendor.key"));
    minisign(&["-G", "-W", "-p", s(&pk), "-s", s(&sk)]);
    minisign(&["-S", "-s", s(&sk), "-m", s(&lib)]);
    fs::copy(&pk, data.join("trusted-keys/vendor.pub")).unwrap();
    let list = oibus_ok(&["plugins", "list", "--dir", s(&plugins), "--data", s(&data)]);
    let row = list
        .lines()
        .find(|l| l.starts_with("liboibus_north_console"))
        .unwrap_or_else(|| panic!("{list}"));
    // minisign names its key id in the public key's comment.
    let pub_text = fs::read_to_string(&pk).unwrap();
    let id = pub_text
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .to_string();
    assert!(
        row.contains(&id) && row.trim_end().ends_with(" ok"),
        "{id}: {row}"
    );
    let (code, out, _) = run_oibus(&["plugins", "verify", s(&lib), "--key", s(&pk)]);
    assert_eq!(code, 0, "{out}");

    // The other way: a file signed by `oibus plugins sign` verifies with minisign.
    let keys = tmp.path().join("keys");
    oibus_ok(&[
        "plugins",
        "keygen",
        "--out",
        s(&keys),
        "--name",
        "ours",
        "--no-password",
    ]);
    oibus_ok(&[
        "plugins",
        "sign",
        s(&lib),
        "--key",
        s(&keys.join("ours.key")),
    ]);
    let verified = minisign(&["-V", "-p", s(&keys.join("ours.pub")), "-m", s(&lib)]);
    assert!(
        verified.contains("Signature and comment signature verified"),
        "{verified}"
    );
}
