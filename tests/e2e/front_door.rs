//! The admin API attacked as a tester would, from outside, against the real engine: a thousand
//! wrong tokens, a token too short to keep anyone out, a foreign `Host` (DNS rebinding), a line
//! break in an upload's name (log forging), uploads too large, or not plugins at all, and the
//! console's cookie over HTTPS (the API's own TLS, and behind a TLS reverse proxy).

use oibus_tests::{
    api::Api,
    library_name,
    process::{EVERY_SECOND, Engine, RECORDING_NORTH, Workspace},
    run_oibus,
};
use std::{
    fs,
    io::{Read as _, Write as _},
    net::TcpStream,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

const SIMULATOR: &str = "oibus_south_simulator";
const PROBE: &str = "oibus_test_probe";

/// A running engine with its log also in `<data>/oibus.log` and `extra` in `[engine.admin]`.
fn start(ws: &Workspace, extra: &str) -> (Engine, Api) {
    ws.config(&format!(
        "[engine]\nlog_file = {{ path = \"oibus.log\" }}\n[engine.admin]\n{extra}\n{EVERY_SECOND}\
         [[south]]\nid = \"sim\"\ntype = \"simulator\"\nquery = \"last-point\"\nitems = [{{ name \
         = \"s1\", scan_mode = \"every-second\", settings = {{ signal = {{ type = \"ramp\", min = \
         0, max = 1, period_s = 10 }} }} }}]\n{RECORDING_NORTH}"
    ));
    let mut e = ws.start();
    let api = Api::of(ws, &mut e);
    (e, api)
}

/// The host and port of the API's URL.
fn authority(api: &Api) -> String {
    api.url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string()
}

/// Sends `head` (request line and headers, without the blank line) and `body` on a new
/// connection; answers the status and the whole answer, read for at most `limit`.
fn raw_http(api: &Api, head: &str, body: &[u8], limit: Duration) -> (u16, String) {
    let mut s = TcpStream::connect(authority(api)).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Lines of the engine's log file that mention wrong tokens.
fn wrong_token_lines(ws: &Workspace) -> usize {
    fs::read_to_string(ws.data().join("oibus.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("wrong"))
        .count()
}

#[test]
fn a_thousand_wrong_tokens_are_answered_429_with_a_few_log_lines_and_the_right_one_passes_later() {
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (engine, api) = start(&ws, "");
    let sign_in = |token: &str| {
        api.raw(
            "POST",
            "/console-session",
            &[("content-type", "application/json")],
            format!("{{\"token\": \"{token}\"}}").as_bytes(),
        )
    };
    let (mut unauthorized, mut limited, mut retry_after) = (0, 0, String::new());
    for i in 0..1000 {
        let (code, headers, _) = if i % 2 == 0 {
            sign_in(&format!("guess-{i}"))
        } else {
            api.raw(
                "GET",
                "/api/status",
                &[("authorization", &format!("Bearer guess-{i}"))],
                b"",
            )
        };
        match code {
            401 => unauthorized += 1,
            429 => {
                limited += 1;
                retry_after = headers
                    .iter()
                    .find(|(k, _)| k == "retry-after")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
            }
            other => panic!("wrong token {i}: {other}"),
        }
    }
    assert_eq!(unauthorized, 10, "the first ten are only wrong");
    assert_eq!(limited, 990);
    let wait: u64 = retry_after.parse().expect("a Retry-After in seconds");
    assert!((1..=7).contains(&wait), "Retry-After {wait}");
    // While held, even the right token is not compared (else the 429 would tell it).
    assert_eq!(api.get("/api/status").0, 429);
    assert_eq!(sign_in(&api.token).0, 429);
    let (code, _, text) = api.raw(
        "GET",
        "/metrics",
        &[("authorization", &format!("Bearer {}", api.token))],
        b"",
    );
    assert_eq!(code, 429, "{text}");

    // The log holds a line or two, not a thousand, in its file and in memory.
    std::thread::sleep(Duration::from_millis(300));
    let lines = wrong_token_lines(&ws);
    assert!((1..=3).contains(&lines), "{lines} log lines");
    std::thread::sleep(Duration::from_secs(wait));
    let (code, logs) = api.get("/api/logs?text=wrong&limit=1000");
    assert_eq!(
        code, 200,
        "the right token passes once the address has waited"
    );
    let in_memory = logs["records"]
        .as_array()
        .map(|r| r.iter().filter(|r| r.to_string().contains("wrong")).count())
        .unwrap_or(usize::MAX);
    assert!(in_memory <= 3, "{in_memory} records in memory: {logs}");
    engine.stop();
}

#[test]
fn a_token_too_short_or_with_spaces_is_refused_by_check_and_run() {
    for (token, why) in [
        ("1", "too short"),
        ("fifteen-chars!!", "too short"),
        ("a token with spaces", "visible ASCII"),
    ] {
        let ws = Workspace::new(&[SIMULATOR, PROBE]);
        let config = ws.config(&format!(
            "[engine.admin]\ntoken = \"{token}\"\nmetrics_token = \"m\"\n{RECORDING_NORTH}"
        ));
        let (code, out, err) = run_oibus(&[
            "check",
            "--config",
            &config.to_string_lossy(),
            "--plugins",
            &ws.path("plugins").to_string_lossy(),
        ]);
        let text = format!("{out}{err}");
        assert_ne!(code, 0, "{token:?} passed: {text}");
        assert!(
            text.contains("engine.admin.token") && text.contains(why),
            "{token:?}: {text}"
        );
        assert!(text.contains("engine.admin.metrics_token"), "{text}");
        let (code, text) = ws.run_to_end();
        assert_ne!(code, 0, "{text}");
        assert!(text.contains("engine.admin.token"), "{text}");
    }
}

#[test]
fn a_request_naming_a_foreign_host_is_refused_the_gateways_own_names_pass() {
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (engine, api) = start(&ws, "allowed_hosts = [\"gateway.plant.example\"]");
    let port = authority(&api).rsplit(':').next().unwrap().to_string();
    let get = |path: &str, host: &str| {
        raw_http(
            &api,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}"),
            b"",
            Duration::from_secs(10),
        )
    };
    for path in [
        "/console/",
        "/api/openapi.json",
        "/console-session",
        "/metrics",
    ] {
        for host in [
            format!("rebind.evil.example:{port}"),
            "rebind.evil.example".into(),
            format!("127.0.0.1.evil.example:{port}"),
            format!("localhost.evil.example:{port}"),
        ] {
            let (code, text) = get(path, &host);
            assert_eq!(code, 421, "{path} as {host}: {text}");
            assert!(text.contains("allowed_hosts"), "{text}");
            assert!(!text.contains("<html"), "{text}");
        }
    }
    let me = gethostname();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("gateway.plant.example:{port}"),
        format!("{me}:{port}"),
    ] {
        let (code, text) = get("/console/", &host);
        assert_eq!(code, 200, "{host}: {text}");
    }
    // The refusal happens before authentication: a foreign page learns nothing from it.
    let (code, _) = raw_http(
        &api,
        &format!(
            "GET /api/status HTTP/1.1\r\nHost: rebind.evil.example\r\nAuthorization: Bearer {}",
            api.token
        ),
        b"",
        Duration::from_secs(10),
    );
    assert_eq!(code, 421);
    engine.stop();

    // "*" turns the check off, for those who want it so.
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (engine, api) = start(&ws, "allowed_hosts = [\"*\"]");
    let (code, _) = raw_http(
        &api,
        "GET /console/ HTTP/1.1\r\nHost: anything.example",
        b"",
        Duration::from_secs(10),
    );
    assert_eq!(code, 200);
    engine.stop();
}

fn gethostname() -> String {
    let out = Command::new("hostname").output().expect("hostname");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn uploads_are_streamed_refused_by_size_at_once_and_not_kept_unless_plugins() {
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (engine, api) = start(&ws, "");
    let auth = format!("Authorization: Bearer {}", api.token);
    let plugins = ws.path("plugins");
    let leftovers = || -> Vec<String> {
        fs::read_dir(&plugins)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') || n.contains("upload") || n.contains("forged"))
            .collect()
    };

    // A line break in the name (log forging) is refused, and forges no line.
    let forged = "evil%0A2026-12-05T06:00:00Z%20INFO%20forged%20line.so";
    let (code, _, text) = api.raw(
        "PUT",
        &format!("/api/plugins/files/{forged}"),
        &[("authorization", &format!("Bearer {}", api.token))],
        b"not a plugin",
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("control characters"), "{text}");
    let log = fs::read_to_string(ws.data().join("oibus.log")).unwrap();
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-05T06:00:00Z")),
        "a forged line: {log}"
    );
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // A body declared larger than 512 MiB is refused before it is sent.
    let started = Instant::now();
    let (code, text) = raw_http(
        &api,
        &format!(
            "PUT /api/plugins/files/huge.so HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\nContent-Length: {}",
            600u64 << 20
        ),
        b"",
        Duration::from_secs(10),
    );
    assert_eq!(code, 413, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused after {:?}",
        started.elapsed()
    );

    // 300 MiB streamed: the engine's peak memory hardly moves, and a file that is not a plugin
    // library is refused and not kept.
    let pid = engine.status().unwrap()["pid"].as_u64().unwrap();
    let peak = || peak_mb(pid);
    let before = peak();
    let (code, text) = stream_upload(&api, "big.so", 300 << 20);
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("not a plugin library, so it was not kept"),
        "{text}"
    );
    let grown = peak() - before;
    assert!(
        grown < 64.0,
        "the engine's peak memory grew by {grown:.0} MB"
    );
    assert!(!plugins.join("big.so").exists());
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // A program, a system library and a script: refused, not kept, named in the answer.
    let libc = fs::read_link("/lib/x86_64-linux-gnu/libc.so.6")
        .map(|l| Path::new("/lib/x86_64-linux-gnu").join(l))
        .unwrap_or_else(|_| "/lib/x86_64-linux-gnu/libc.so.6".into());
    for (name, bytes) in [
        ("ls.so", fs::read("/bin/ls").unwrap()),
        (
            "libc.so",
            fs::read(&libc).unwrap_or_else(|_| fs::read("/bin/ls").unwrap()),
        ),
        ("script.so", b"#!/bin/sh\nrm -rf /\n".to_vec()),
    ] {
        let (code, _, text) = api.raw(
            "PUT",
            &format!("/api/plugins/files/{name}"),
            &[("authorization", &format!("Bearer {}", api.token))],
            &bytes,
        );
        assert_eq!(code, 400, "{name}: {text}");
        assert!(text.contains(name) && text.contains("not kept"), "{text}");
        assert!(!plugins.join(name).exists(), "{name} kept");
    }

    // A file put there by other means and refused can be deleted through the API; the file a
    // connector runs on cannot; nothing outside the folder can be named.
    fs::write(plugins.join("junk.so"), b"junk").unwrap();
    // A young file that is not (yet) a library may still be being copied: the scan waits 5 s.
    std::thread::sleep(Duration::from_secs(6));
    let (code, reports) = api.post("/api/plugins/rescan", &serde_json::json!({}));
    assert_eq!(code, 200);
    assert!(reports.to_string().contains("junk.so"), "{reports}");
    let (code, reports) = api.send("DELETE", "/api/plugins/files/junk.so", None, None);
    assert_eq!(code, 200, "{reports}");
    assert!(!plugins.join("junk.so").exists());
    assert!(!reports.to_string().contains("junk.so"), "{reports}");
    let in_use = library_name(PROBE);
    let (code, body) = api.send(
        "DELETE",
        &format!("/api/plugins/files/{in_use}"),
        None,
        None,
    );
    assert_eq!(code, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("rec"), "{body}");
    assert!(plugins.join(&in_use).exists());
    assert_eq!(
        api.send("DELETE", "/api/plugins/files/nothing.so", None, None)
            .0,
        404
    );
    assert_eq!(
        api.send("DELETE", "/api/plugins/files/..%2Foibus.toml", None, None)
            .0,
        400
    );
    assert!(ws.path("oibus.toml").exists());
    engine.stop();
}

/// The peak resident memory of process `pid` (`VmHWM`), in MB.
fn peak_mb(pid: u64) -> f64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap()
        / 1024.0
}

/// `PUT`s `len` bytes (not a library) as `name`, written a MiB at a time: the status and answer.
fn stream_upload(api: &Api, name: &str, len: u64) -> (u16, String) {
    let mut s = TcpStream::connect(authority(api)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "PUT /api/plugins/files/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n",
        api.token
    )
    .unwrap();
    let chunk = vec![0x5au8; 1 << 20];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min((len - sent) as usize);
        s.write_all(&chunk[..n]).unwrap();
        sent += n as u64;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made by openssl in `dir`.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("admin.crt"), dir.join("admin.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// `curl` over HTTPS trusting `ca`: the status line and headers, and the body.
fn curl(ca: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-D", "-", "--cacert"])
        .arg(ca)
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (text, err)
}

#[test]
fn the_console_cookie_is_secure_over_https_served_by_the_gateway_or_a_proxy() {
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (cert, key) = certificate(ws.dir.path());
    let (engine, api) = start(
        &ws,
        &format!("tls_certificate = {cert:?}\ntls_private_key = \"admin.key\""),
    );
    let _ = key;
    assert!(api.url.starts_with("https://127.0.0.1:"), "{}", api.url);
    let port = authority(&api).rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}");
    let (head, err) = curl(
        &cert,
        &[
            "-H",
            "content-type: application/json",
            "--data",
            &format!("{{\"token\": \"{}\"}}", api.token),
            &format!("{url}/console-session"),
        ],
    );
    assert!(head.starts_with("HTTP/"), "{head}{err}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let (head, _) = curl(
        &cert,
        &[
            "-H",
            &format!("authorization: Bearer {}", api.token),
            &format!("{url}/api/status"),
        ],
    );
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/2 200"),
        "{head}"
    );
    // Plain HTTP on the HTTPS port gets nothing, and a client that never finishes its
    // handshake holds up no one.
    let mut silent = TcpStream::connect(authority(&api)).unwrap();
    let (code, _) = raw_http(
        &api,
        "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1",
        b"",
        Duration::from_secs(5),
    );
    assert_eq!(code, 0);
    let (head, err) = curl(&cert, &[&format!("{url}/console/")]);
    assert!(head.contains(" 200"), "{head}{err}");
    let _ = silent.write_all(b"\x16\x03\x01");
    // Seventy connections from another address that never begin their handshake hold up only
    // that address: a client from here is answered at once (it waited 10 s behind 64 before).
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import socket, sys, time\n\
             socks = []\n\
             for _ in range(70):\n\
             \ts = socket.socket(); s.bind(('127.0.0.2', 0)); s.connect(('127.0.0.1', int(sys.argv[1]))); socks.append(s)\n\
             print('held', flush=True)\n\
             time.sleep(20)\n",
        )
        .arg(&port)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut held = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut held,
    )
    .unwrap();
    assert_eq!(held.trim(), "held");
    let started = Instant::now();
    let (head, err) = curl(&cert, &["--max-time", "5", &format!("{url}/console/")]);
    assert!(head.contains(" 200"), "{head}{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let _ = holder.kill();
    let _ = holder.wait();
    engine.stop();

    // Plain HTTP behind a TLS reverse proxy: the proxy says so, the cookie is Secure.
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (engine, api) = start(&ws, "");
    for (proxy, secure) in [
        (("x-forwarded-proto", "https"), true),
        (("forwarded", "for=192.0.2.1;proto=https"), true),
        (("x-forwarded-proto", "http"), false),
    ] {
        let (code, headers, _) = api.raw(
            "POST",
            "/console-session",
            &[("content-type", "application/json"), proxy],
            format!("{{\"token\": \"{}\"}}", api.token).as_bytes(),
        );
        assert_eq!(code, 200);
        let cookie = headers
            .iter()
            .find(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(cookie.contains("; Secure"), secure, "{proxy:?}: {cookie}");
    }
    engine.stop();

    // A key that is not a key stops the start, naming the file.
    let ws = Workspace::new(&[SIMULATOR, PROBE]);
    let (cert, _) = certificate(ws.dir.path());
    fs::write(ws.path("admin.key"), "not a key").unwrap();
    ws.config(&format!(
        "[engine.admin]\ntls_certificate = {cert:?}\ntls_private_key = \"admin.key\"\n\
         {RECORDING_NORTH}"
    ));
    let (code, text) = ws.run_to_end();
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("admin.key") && text.contains("private key"),
        "{text}"
    );
}
