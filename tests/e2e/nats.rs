//! `north-nats` against a real nats-server with JetStream.

use oibus_plugin_api::OibusValue;
use oibus_tests::{
    process::{FAST_RECONNECT, Workspace, acknowledged_probe_south, check_acknowledged},
    servers::{NatsServer, TestPki},
};
use std::{fs, io::Write, path::Path, time::Duration};

fn config(port: u16, probe_enabled: bool) -> String {
    let source = acknowledged_probe_south(probe_enabled);
    format!(
        r#"
{FAST_RECONNECT}
{source}

[[north]]
id = "js"
type = "nats-north"
settings = {{ server = "127.0.0.1:{port}", stream = "PLANT", create_stream = true, stream_subjects = ["oibus.>"], timeout_ms = 2000 }}
caching = {{ group_count = 2000, send_interval = "200ms", retry_interval = "100ms" }}
"#
    )
}

/// Runs `f` on stream `PLANT` of the server on `port`.
fn with_stream<T>(port: u16, f: impl AsyncFnOnce(async_nats::jetstream::stream::Stream) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = async_nats::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        f(js.get_stream("PLANT").await.unwrap()).await
    })
}

/// Every value stored in stream `PLANT`, written as the probe North would record them.
fn dump_stream(port: u16, out: &Path) -> usize {
    with_stream(port, async |mut stream| {
        let info = stream.info().await.unwrap();
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut file = fs::File::create(out).unwrap();
        let mut n = 0;
        for seq in first..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            let v: OibusValue = serde_json::from_slice(&m.payload).unwrap();
            writeln!(file, "{}", serde_json::to_string(&v).unwrap()).unwrap();
            n += 1;
        }
        n
    })
}

#[test]
fn values_are_stored_in_jetstream_and_survive_a_server_restart() {
    let mut server = NatsServer::start(None);
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_nats"]);
    ws.config(&config(server.port, true));
    let mut engine = ws.start();
    engine.wait_until("values stored", Duration::from_secs(30), |e| {
        e.counter("js", "values_sent") >= 200
    });
    server.stop();
    engine.wait_until("the loss to be noticed", Duration::from_secs(30), |e| {
        e.counter("js", "send_failures") >= 1
    });
    server.restart();
    let before = engine.counter("js", "values_sent");
    engine.wait_until("values stored again", Duration::from_secs(60), |e| {
        e.counter("js", "values_sent") >= before + 200
    });
    engine.stop();
    ws.config(&config(server.port, false));
    ws.drain("js");
    let stored = dump_stream(server.port, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{stored} messages in the stream; {d:?}");
    assert!(d.acknowledged > 400, "{d:?}");
}

#[test]
fn wrong_credentials_are_a_clear_test_connection_error() {
    let server = NatsServer::start(Some(("gateway", "s3cret")));
    oibus_tests::assert_credentials_are_checked(
        "oibus_north_nats",
        "nats-north",
        "s3cret",
        |password| {
            format!(
                r#"{{"server": "127.0.0.1:{}", "username": "gateway", "password": "{password}", "create_stream": true, "timeout_ms": 2000}}"#,
                server.port
            )
        },
    );
}

#[test]
fn bad_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_nats"]);
    ws.config(&config(4222, true).replace("timeout_ms = 2000", "timeout_ms = 0"));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(r#"north "js" settings.timeout_ms"#), "{out}");
}

#[test]
fn values_reach_a_server_that_requires_tls_and_client_certificates() {
    let pki = TestPki::generate();
    let server = NatsServer::start_tls(&pki);
    let tls = |ca: &str| {
        format!(
            r#""ca_file": "{}", "cert_file": "{}", "key_file": "{}""#,
            pki.path(ca),
            pki.path("client.pem"),
            pki.path("client.key")
        )
    };
    let settings = |tls: &str| {
        format!(
            r#"{{"server": "127.0.0.1:{}", "stream": "PLANT", "create_stream": true, "stream_subjects": ["oibus.>"], "timeout_ms": 3000, "tls": {{{tls}}}}}"#,
            server.port
        )
    };
    let (code, err) =
        oibus_tests::test_connection("oibus_north_nats", "nats-north", &settings(&tls("ca.pem")));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = oibus_tests::test_connection(
        "oibus_north_nats",
        "nats-north",
        &settings(&tls("other-ca.pem")),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");

    let ws = Workspace::new(&["oibus_test_probe", "oibus_north_nats"]);
    ws.config(&config(server.port, true).replace(
        "timeout_ms = 2000 }",
        &format!(
            "timeout_ms = 3000, tls = {{ {} }} }}",
            tls("ca.pem").replace("\": ", "\" = ")
        ),
    ));
    let mut engine = ws.start();
    engine.wait_until("values stored over TLS", Duration::from_secs(30), |e| {
        e.counter("js", "values_sent") >= 200
    });
    engine.stop();
}

/// Every message of stream `PLANT` on `subject`: its payload size and `Oibus-File-Name` header.
fn stored_files(port: u16, subject: &str) -> Vec<(usize, Option<String>)> {
    with_stream(port, async |mut stream| {
        let info = stream.info().await.unwrap();
        let mut out = Vec::new();
        if info.state.messages == 0 {
            return out;
        }
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let Ok(m) = stream.get_raw_message(seq).await else {
                continue;
            };
            if m.subject.as_str() != subject {
                continue;
            }
            let name = m
                .headers
                .get("Oibus-File-Name")
                .map(|v| v.as_str().to_string());
            out.push((m.payload.len(), name));
        }
        out
    })
}

#[test]
fn a_subject_no_stream_takes_and_a_file_over_max_payload_go_to_the_error_store_and_nothing_waits() {
    let server = NatsServer::start(None);
    let ws = Workspace::new(&[
        "oibus_test_probe",
        "oibus_north_nats",
        "oibus_south_folder_scanner",
    ]);
    fs::create_dir_all(ws.path("in")).unwrap();
    ws.config(&format!(
        r#"
{FAST_RECONNECT}
[[scan_modes]]
name = "fast"
cron = "* * * * * *"

[[south]]
id = "src"
type = "probe-south"
settings = {{ batch_size = 10, batches = 3 }}
items = [{{ name = "a", scan_mode = "subscription" }}]

[[south]]
id = "files"
type = "folder-scanner"
settings = {{ input_folder = "{{ws}}/in" }}
items = [{{ name = "all", scan_mode = "fast", settings = {{ min_age_ms = 0 }} }}]

[[north]]
id = "js"
type = "nats-north"
settings = {{ server = "127.0.0.1:{port}", stream = "PLANT", create_stream = true, stream_subjects = ["oibus.>"], subject = "elsewhere.{{pointId}}", timeout_ms = 2000 }}
caching = {{ group_count = 10, send_interval = "100ms", retry_interval = "100ms" }}
"#,
        port = server.port
    ));
    // A file over the server's max_payload (1 MiB by default) between two small ones.
    fs::write(ws.path("in/before.csv"), "a,b\n1,2\n").unwrap();
    fs::write(ws.path("in/huge.bin"), vec![0u8; 2 * 1024 * 1024]).unwrap();
    let mut engine = ws.start();
    engine.wait_until(
        "the values and the huge file set aside",
        Duration::from_secs(60),
        |e| e.counter("js", "values_to_error") >= 30 && e.counter("js", "files_to_error") >= 1,
    );
    fs::write(ws.path("in/after.csv"), "c\n3\n").unwrap();
    engine.wait_until("both small files stored", Duration::from_secs(30), |e| {
        e.counter("js", "files_sent") >= 2
    });
    let js = engine.connector("js").unwrap();
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("no stream takes subject elsewhere.a#0"),
        "{log}"
    );
    assert!(log.contains("over the max_payload of NATS server"), "{log}");
    // Refused at once: not retried as a lost connection.
    assert_eq!(js["counters"]["connects"], 1, "{js}");
    assert_eq!(js["cache"]["error_values"], 30, "{js}");
    assert_eq!(js["cache"]["error_files"], 1, "{js}");
    // Each file carries its own name, not the cache's.
    let mut names: Vec<_> = stored_files(server.port, "oibus.files")
        .into_iter()
        .map(|(_, name)| name.unwrap_or_default())
        .collect();
    names.sort();
    assert_eq!(names, ["after.csv", "before.csv"]);
}
