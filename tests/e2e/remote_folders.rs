//! The `sftp` plugin against Debian's OpenSSH server and `south-ftp` against Debian's vsftpd
//! (plain and explicit FTPS), both started on 127.0.0.1 by the tests: the folder-scanner's rules
//! on a server (delete, preserve, move without overwriting, names kept), a file growing while it
//! is read, a name that would leave the folder, the server restarted, what log-in refuses; and
//! `sftp-north` writing values and files whole through a restart of its server.

use oibus_tests::{
    process::{
        Engine, FAST_RECONNECT, Workspace, acknowledged_probe_south, check_acknowledged,
        folder_scanner_south, written_values,
    },
    servers::{Sshd, TestPki, Vsftpd, free_port, open_to_test_user},
};
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

/// The server-side folders of one test: `in/` (collected) and `moved/` (where `.dat` files go),
/// readable and writable by the servers' account.
struct Remote {
    _dir: tempfile::TempDir,
    input: PathBuf,
    moved: PathBuf,
}

fn remote() -> Remote {
    let dir = tempfile::tempdir().expect("temp dir");
    let (input, moved) = (dir.path().join("in"), dir.path().join("moved"));
    fs::create_dir(&input).expect("in");
    fs::create_dir(&moved).expect("moved");
    open_to_test_user(&input);
    open_to_test_user(&moved);
    Remote {
        _dir: dir,
        input,
        moved,
    }
}

/// An engine collecting from `remote` with a South of `kind` whose connection settings are
/// `connection` (TOML, without the braces), every 200 ms, into `<ws>/out` (file-writer).
fn collecting(kind: &str, plugin: &str, connection: &str, remote: &Remote) -> (Workspace, Engine) {
    let ws = Workspace::new(&[plugin, "oibus_north_file_writer"]);
    let input = remote.input.display();
    let moved = remote.moved.display();
    ws.config(&format!(
        r#"{FAST_RECONNECT}
[[scan_modes]]
name = "fast"
every = "200ms"

[[south]]
id = "remote"
type = "{kind}"
settings = {{ {connection}, remote_folder = "{input}", timeout_ms = 3000 }}
items = [
  {{ name = "csv", scan_mode = "fast", settings = {{ regex = "\\.csv$", min_age_ms = 0 }} }},
  {{ name = "logs", scan_mode = "fast", settings = {{ regex = "\\.log$", min_age_ms = 0, after_read = {{ mode = "preserve" }} }} }},
  {{ name = "dat", scan_mode = "fast", settings = {{ regex = "\\.dat$", min_age_ms = 0, after_read = {{ mode = "move", folder = "{moved}" }} }} }},
  {{ name = "bin", scan_mode = "fast", settings = {{ regex = "\\.bin$", min_age_ms = 0 }} }},
]

[[north]]
id = "out"
type = "file-writer"
settings = {{ output_folder = "{{ws}}/out" }}
caching = {{ send_interval = "100ms" }}
"#
    ));
    let engine = ws.start();
    (ws, engine)
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every rule of the folder-scanner, on a server; `restart` stops the server, runs the closure
/// it is given while the server is down, and starts it again.
fn every_rule(
    kind: &str,
    plugin: &str,
    connection: &str,
    restart: &mut dyn FnMut(&mut dyn FnMut()),
) {
    let r = remote();
    let put = |name: &str, content: &[u8]| fs::write(r.input.join(name), content).expect("put");
    put("a.csv", b"alpha\n");
    put("b \u{e9} c.csv", b"spaces and accents\n");
    put("keep.log", b"kept\n");
    put("move.dat", b"moved\n");
    put("ignore.txt", b"no item takes it\n");
    // A backslash: a plain name on this server, a path on Windows; never written locally.
    put("evil\\name.csv", b"refused\n");
    fs::write(r.moved.join("move.dat"), b"older").expect("older");

    let (ws, mut engine) = collecting(kind, plugin, connection, &r);
    let out = ws.path("out");
    engine.wait_until("4 files sent", Duration::from_secs(30), |e| {
        e.counter("out", "files_sent") >= 4
    });
    for (name, content) in [
        ("a.csv", &b"alpha\n"[..]),
        ("b \u{e9} c.csv", b"spaces and accents\n"),
        ("keep.log", b"kept\n"),
        ("move.dat", b"moved\n"),
    ] {
        assert_eq!(read(&out.join(name)), content, "{name}");
    }
    // Deleted, preserved, moved beside the older file of the same name, left alone.
    assert!(!r.input.join("a.csv").exists());
    assert!(!r.input.join("b \u{e9} c.csv").exists());
    assert!(r.input.join("keep.log").exists());
    assert!(!r.input.join("move.dat").exists());
    assert!(r.input.join("ignore.txt").exists());
    assert_eq!(read(&r.moved.join("move.dat")), b"older");
    let renamed: Vec<String> = fs::read_dir(&r.moved)
        .expect("moved")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "move.dat")
        .collect();
    assert_eq!(renamed.len(), 1, "{renamed:?}");
    assert!(renamed[0].ends_with("-move.dat"), "{renamed:?}");
    assert_eq!(read(&r.moved.join(&renamed[0])), b"moved\n");
    // The hostile name stays on the server and is named in the log.
    assert!(r.input.join("evil\\name.csv").exists());
    let log = engine.log();
    assert!(
        log.contains(r#"file name "evil\\name.csv" refused: it holds a path separator"#),
        "{log}"
    );

    // A preserved file is sent once, and again once modified.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(engine.counter("remote", "files_in"), 4);
    fs::OpenOptions::new()
        .append(true)
        .open(r.input.join("keep.log"))
        .and_then(|mut f| f.write_all(b"more\n"))
        .expect("append");
    engine.wait_until("keep.log again", Duration::from_secs(30), |e| {
        e.counter("out", "files_sent") >= 5
    });
    assert_eq!(read(&out.join("keep.log")), b"kept\nmore\n");

    // A file growing while it is read is sent once, whole, once it stops growing.
    let growing = r.input.join("grow.bin");
    let mut expected = vec![1u8; 8 << 20];
    fs::write(&growing, &expected).expect("grow.bin");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&growing)
        .expect("grow.bin");
    let until = std::time::Instant::now() + Duration::from_secs(3);
    let mut i = 0u8;
    while std::time::Instant::now() < until {
        i = i.wrapping_add(1);
        let chunk = vec![i; 16 << 10];
        f.write_all(&chunk).expect("append");
        expected.extend_from_slice(&chunk);
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(f);
    engine.wait_until("grow.bin", Duration::from_secs(60), |e| {
        e.counter("out", "files_sent") >= 6
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        engine.counter("remote", "files_in"),
        6,
        "grow.bin sent once"
    );
    assert!(
        read(&out.join("grow.bin")) == expected,
        "grow.bin arrived whole"
    );
    let log = engine.log();
    assert!(
        log.contains("grow.bin: changed while it was read"),
        "the growing file was read while it grew: {log}"
    );

    // The server restarts: the loss is noticed, and collecting resumes.
    restart(&mut || {
        engine.wait_disconnected("remote");
        put("after.csv", b"after the restart\n");
    });
    engine.wait_until("after.csv", Duration::from_secs(60), |e| {
        e.counter("out", "files_sent") >= 7
    });
    assert_eq!(read(&out.join("after.csv")), b"after the restart\n");
    assert!(engine.counter("remote", "connects") >= 2);
    engine.stop();
}

#[test]
fn sftp_collects_with_every_rule_and_comes_back_after_the_server_restarts() {
    let mut sshd = Sshd::start();
    let connection = format!(
        r#"host = "127.0.0.1", port = {}, username = "{}", authentication = {{ type = "private-key", path = "{}" }}"#,
        sshd.port,
        sshd.user().name,
        sshd.key("client_ed25519").display()
    );
    every_rule("sftp", "oibus_sftp", &connection, &mut |down| {
        sshd.stop();
        down();
        sshd.restart();
    });
}

#[test]
fn ftp_collects_with_every_rule_and_comes_back_after_the_server_restarts() {
    let mut ftp = Vsftpd::start();
    let connection = format!(
        r#"host = "127.0.0.1", port = {}, username = "{}", password = "{}""#,
        ftp.port,
        ftp.user().name,
        ftp.user().password
    );
    every_rule("ftp", "oibus_south_ftp", &connection, &mut |down| {
        ftp.stop();
        down();
        ftp.restart();
    });
}

/// A TCP server that accepts connections and never says a word (a hung service): its port.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    (listener, port)
}

/// `oibus test-connection` of the type `kind` (`sftp`, `ftp`, `sftp-north`) with these JSON
/// settings: exit code and errors.
fn test_connection(kind: &str, settings: &str) -> (Option<i32>, String) {
    let plugin = if kind == "ftp" {
        "oibus_south_ftp"
    } else {
        "oibus_sftp"
    };
    oibus_tests::test_connection(plugin, kind, settings)
}

#[test]
fn sftp_log_in_takes_passwords_and_keys_and_checks_the_host_key() {
    let sshd = Sshd::start();
    let r = remote();
    let user = sshd.user();
    let settings = |auth: &str, extra: &str| {
        format!(
            r#"{{"host": "127.0.0.1", "port": {}, "username": "{}", "authentication": {auth}, "remote_folder": "{}", "timeout_ms": 5000{extra}}}"#,
            sshd.port,
            user.name,
            r.input.display()
        )
    };
    let key = |name: &str, passphrase: Option<&str>| {
        let path = sshd.key(name);
        match passphrase {
            Some(p) => format!(
                r#"{{"type": "private-key", "path": "{}", "passphrase": "{p}"}}"#,
                path.display()
            ),
            None => format!(r#"{{"type": "private-key", "path": "{}"}}"#, path.display()),
        }
    };
    oibus_tests::assert_credentials_are_checked("oibus_sftp", "sftp", &user.password, |p| {
        settings(&format!(r#"{{"type": "password", "password": "{p}"}}"#), "")
    });
    for ok in [
        key("client_rsa", None),
        key("client_protected", Some(Sshd::PASSPHRASE)),
    ] {
        let (code, err) = test_connection("sftp", &settings(&ok, ""));
        assert_eq!(code, Some(0), "{ok}: {err}");
    }
    let refused = [
        (
            key("client_protected", None),
            "cannot load the private key: it is protected by a passphrase: set \
             authentication.passphrase",
        ),
        (
            key("client_protected", Some("guess")),
            "cannot load the private key",
        ),
        (key("client_other", None), "refused the credentials"),
        (key("missing", None), "cannot load the private key"),
    ];
    for (auth, says) in refused {
        let (code, err) = test_connection("sftp", &settings(&auth, ""));
        assert_eq!(code, Some(1), "{auth}: {err}");
        assert!(err.contains(says), "{auth}: {err}");
    }
    assert!(
        !test_connection(
            "sftp",
            &settings(&key("client_protected", Some("guess")), "")
        )
        .1
        .contains("guess"),
        "a passphrase is never shown"
    );

    // The host key: the right fingerprint passes, another is refused naming both.
    let ed = key("client_ed25519", None);
    let right = sshd.host_fingerprint();
    let with = |f: &str| format!(r#", "host_key_fingerprint": "{f}""#);
    let (code, err) = test_connection("sftp", &settings(&ed, &with(&right)));
    assert_eq!(code, Some(0), "{err}");
    let wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (code, err) = test_connection("sftp", &settings(&ed, &with(wrong)));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "host key refused: the server shows ssh-ed25519 {right}, host_key_fingerprint is \
             {wrong}"
        )),
        "{err}"
    );

    // Nothing listening; a folder that does not exist.
    let nowhere = settings(&ed, "").replace(&sshd.port.to_string(), &free_port().to_string());
    let (code, err) = test_connection("sftp", &nowhere);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    let missing = settings(&ed, "").replace("/in\"", "/absent\"");
    let (code, err) = test_connection("sftp", &missing);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot list remote_folder"), "{err}");
    // A server that accepts and never answers: the time-out ends the wait, and says so.
    let (_silent, port) = silent_server();
    let hung = settings(&ed, "")
        .replace(&sshd.port.to_string(), &port.to_string())
        .replace("5000", "1000");
    let (code, err) = test_connection("sftp", &hung);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no SSH handshake within 1000 ms"), "{err}");
}

#[test]
fn a_host_key_that_changes_after_the_first_connection_is_refused_and_not_retried() {
    let mut sshd = Sshd::start();
    let r = remote();
    fs::write(r.input.join("a.csv"), b"alpha\n").expect("put");
    let connection = format!(
        r#"host = "127.0.0.1", port = {}, username = "{}", authentication = {{ type = "password", password = "{}" }}"#,
        sshd.port,
        sshd.user().name,
        sshd.user().password
    );
    let (ws, mut engine) = collecting("sftp", "oibus_sftp", &connection, &r);
    engine.wait_until("a.csv", Duration::from_secs(30), |e| {
        e.counter("out", "files_sent") >= 1
    });
    let first = sshd.host_fingerprint();
    sshd.change_host_key();
    fs::write(r.input.join("b.csv"), b"beta\n").expect("put");
    engine.wait_until("the new key refused", Duration::from_secs(30), |e| {
        e.connector("remote")
            .is_some_and(|c| c["state"] == "failed")
    });
    let status = engine.connector("remote").expect("status");
    let error = status["last_error"].as_str().unwrap_or_default();
    let known = ws.data().join("connectors/remote/known-host");
    assert!(
        error.contains(&format!(
            "host key refused: the server shows ssh-ed25519 {}, the key remembered is {first}",
            sshd.host_fingerprint()
        )) && error.contains(&format!("delete {}", known.display())),
        "{status}"
    );
    assert!(
        r.input.join("b.csv").exists(),
        "nothing read from an impostor"
    );
    engine.stop();
}

#[test]
fn ftp_log_in_and_explicit_tls() {
    let plain = Vsftpd::start();
    let pki = TestPki::generate();
    let secured = Vsftpd::start_tls(&pki);
    let r = remote();
    let user = plain.user();
    let settings = |port: u16, password: &str, extra: &str| {
        format!(
            r#"{{"host": "127.0.0.1", "port": {port}, "username": "{}", "password": "{password}", "remote_folder": "{}", "timeout_ms": 5000{extra}}}"#,
            user.name,
            r.input.display()
        )
    };
    oibus_tests::assert_credentials_are_checked("oibus_south_ftp", "ftp", &user.password, |p| {
        settings(plain.port, p, "")
    });
    let tls = |ca: &str| format!(r#", "tls": {{"ca_file": "{}"}}"#, pki.path(ca));
    let (code, err) = test_connection(
        "ftp",
        &settings(secured.port, &user.password, &tls("ca.pem")),
    );
    assert_eq!(code, Some(0), "{err}\n{}", secured.log());
    // Without TLS, the server that requires it refuses; with another authority, the client.
    let (code, err) = test_connection("ftp", &settings(secured.port, &user.password, ""));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("must use encryption"), "{err}");
    let (code, err) = test_connection(
        "ftp",
        &settings(secured.port, &user.password, &tls("other-ca.pem")),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("TLS (AUTH TLS)") && err.contains("certificate"),
        "{err}"
    );
    // Extended passive mode; a folder that does not exist; nothing listening.
    let epsv = r#", "mode": "extended-passive""#;
    let (code, err) = test_connection("ftp", &settings(plain.port, &user.password, epsv));
    assert_eq!(code, Some(0), "{err}");
    let missing = settings(plain.port, &user.password, "").replace("/in\"", "/absent\"");
    let (code, err) = test_connection("ftp", &missing);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot list remote_folder"), "{err}");
    let (code, err) = test_connection("ftp", &settings(free_port(), &user.password, ""));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    let (_silent, port) = silent_server();
    let hung = settings(port, &user.password, "").replace("5000", "1000");
    let (code, err) = test_connection("ftp", &hung);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no FTP greeting within 1000 ms"), "{err}");

    // Files cross the encrypted data connections whole.
    let mut big = Vec::with_capacity(3 << 20);
    for i in 0..(3u32 << 18) {
        big.extend_from_slice(&i.to_le_bytes());
    }
    fs::write(r.input.join("big.csv"), &big).expect("put");
    let connection = format!(
        r#"host = "127.0.0.1", port = {}, username = "{}", password = "{}", tls = {{ ca_file = "{}" }}"#,
        secured.port,
        user.name,
        user.password,
        pki.path("ca.pem")
    );
    let (ws, mut engine) = collecting("ftp", "oibus_south_ftp", &connection, &r);
    engine.wait_until("big.csv", Duration::from_secs(30), |e| {
        e.counter("out", "files_sent") >= 1
    });
    assert!(
        read(&ws.path("out").join("big.csv")) == big,
        "big.csv whole"
    );
    assert!(
        engine.log().contains("collecting ftps://"),
        "{}",
        engine.log()
    );
    engine.stop();
}

/// An engine sending numbered probe values (acknowledged into `<ws>/acks`) and the files dropped
/// into `<ws>/in` to an `sftp-north` writing into `folder`.
fn uploading(connection: &str, folder: &Path, probe: bool) -> String {
    format!(
        "{FAST_RECONNECT}{}{}\n[[north]]\nid = \"up\"\ntype = \"sftp-north\"\nsettings = {{ {connection}, remote_folder = \"{}\", prefix = \"plant-\", timeout_ms = 3000 }}\ncaching = {{ send_interval = \"100ms\" }}\n",
        acknowledged_probe_south(probe),
        folder_scanner_south("{ws}/in", "100ms"),
        folder.display()
    )
}

/// The files of `folder` that are not values (`*.json`): name → content.
fn files_in(folder: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fs::read_dir(folder)
        .map(|d| {
            d.flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .filter(|(n, _)| !n.ends_with(".json"))
                .map(|(n, p)| (n, fs::read(p).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sftp_north_writes_values_and_files_whole_through_a_restart_of_its_server() {
    let mut sshd = Sshd::start();
    let r = remote();
    let connection = format!(
        r#"host = "127.0.0.1", port = {}, username = "{}", authentication = {{ type = "private-key", path = "{}" }}"#,
        sshd.port,
        sshd.user().name,
        sshd.key("client_ed25519").display()
    );
    let ws = Workspace::new(&[
        "oibus_sftp",
        "oibus_test_probe",
        "oibus_south_folder_scanner",
    ]);
    fs::create_dir(ws.path("in")).expect("in");
    let drop_files = |from: usize, to: usize| {
        for i in from..to {
            fs::write(
                ws.path("in").join(format!("r{i}.csv")),
                format!("report {i}\n"),
            )
            .expect("file");
        }
    };
    drop_files(0, 10);
    ws.config(&uploading(&connection, &r.input, true));
    let mut engine = ws.start();
    engine.wait_until("values and files written", Duration::from_secs(30), |e| {
        e.counter("up", "values_sent") >= 500 && e.counter("up", "files_sent") >= 10
    });
    // The server goes away while values and files keep coming, then comes back.
    sshd.stop();
    drop_files(10, 20);
    engine.wait_until("the loss to be noticed", Duration::from_secs(30), |e| {
        e.counter("up", "send_failures") >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    sshd.restart();
    let before = engine.counter("up", "values_sent");
    engine.wait_until("values and files again", Duration::from_secs(60), |e| {
        e.counter("up", "values_sent") >= before + 500 && e.counter("up", "files_sent") >= 20
    });
    engine.stop();
    ws.config(&uploading(&connection, &r.input, false));
    ws.drain("up");

    // Every acknowledged value is in the JSON files on the server; every file arrived whole
    // under its name with the prefix; no temporary file is left.
    let mut received = fs::File::create(ws.path("received")).expect("received");
    for v in written_values(&r.input) {
        writeln!(received, "{}", serde_json::to_string(&v).expect("json")).expect("write");
    }
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(d.acknowledged > 1000, "{d:?}");
    let files = files_in(&r.input);
    for i in 0..20 {
        let name = format!("plant-r{i}.csv");
        assert_eq!(
            files.get(&name).map(Vec::as_slice),
            Some(format!("report {i}\n").as_bytes()),
            "{name} in {:?}",
            files.keys()
        );
    }
    assert!(
        files.keys().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        files.keys()
    );
}

#[test]
fn sftp_north_test_connection_checks_the_folder() {
    let sshd = Sshd::start();
    let r = remote();
    let settings = |folder: &str| {
        format!(
            r#"{{"host": "127.0.0.1", "port": {}, "username": "{}", "authentication": {{"type": "password", "password": "{}"}}, "remote_folder": "{folder}", "timeout_ms": 5000}}"#,
            sshd.port,
            sshd.user().name,
            sshd.user().password
        )
    };
    let (code, err) = test_connection("sftp-north", &settings(&r.input.display().to_string()));
    assert_eq!(code, Some(0), "{err}");
    let file = r.input.join("a-file");
    fs::write(&file, b"x").expect("file");
    let (code, err) = test_connection("sftp-north", &settings(&file.display().to_string()));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not a folder"), "{err}");
    let (code, err) = test_connection("sftp-north", &settings("/nonexistent/out"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("remote_folder /nonexistent/out"), "{err}");
}
