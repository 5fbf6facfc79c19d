//! `s3-north` against moto's S3 server (Python), read back with boto3, AWS's own SDK: every
//! acknowledged value in the objects, files whole (multipart above the part size) with their
//! content types, across a server that is away and comes back without the bucket, and across
//! `kill -9` of the engine.

use oibus_plugin_api::{OibusValue, Timestamp};
use oibus_tests::{
    process::{
        FAST_RECONNECT, Workspace, acknowledged_probe_pair, check_acknowledged,
        folder_scanner_south,
    },
    servers::{AZURITE_KEY, Azurite, MotoS3, TestPki},
};
use serde_json::Value;
use std::{fs, io::Write, path::Path, time::Duration};

const PLUGINS: &[&str] = &[
    "oibus_test_probe",
    "oibus_object_storage",
    "oibus_south_folder_scanner",
];

/// A probe South `src` (items `a` and `b`, acknowledgements in `{ws}/acks`) and the North `s3`.
fn config(endpoint: &str, probe_enabled: bool, north_settings: &str) -> String {
    let probe = acknowledged_probe_pair(probe_enabled, "");
    format!(
        r#"
{FAST_RECONNECT}
{probe}

[[north]]
id = "s3"
type = "s3-north"
settings = {{ bucket = "plant", endpoint = "{endpoint}", access_key_id = "oibus-test", secret_access_key = "oibus-test-secret", prefix = "site1/", timeout_ms = 5000{north_settings} }}
caching = {{ group_count = 500, send_interval = "100ms", retry_interval = "100ms" }}
"#
    )
}

/// The values of the value objects among `objects`, written as the probe North would record
/// them (for [`check_acknowledged`]); JSON arrays, or CSV rows (`pointId,timestamp,value,quality`).
fn record_values(objects: &[Value], out: &Path) -> usize {
    let mut file = fs::File::create(out).unwrap();
    let mut count = 0;
    for o in objects {
        let key = o["key"].as_str().unwrap();
        if !key.starts_with("site1/values/") {
            continue;
        }
        if let Some(values) = o["values"].as_array() {
            assert_eq!(o["content_type"], "application/json", "{key}");
            for v in values {
                let v: OibusValue = serde_json::from_value(v.clone()).unwrap();
                writeln!(file, "{}", serde_json::to_string(&v).unwrap()).unwrap();
                count += 1;
            }
        } else if let Some(rows) = o["rows"].as_array() {
            assert_eq!(o["content_type"], "text/csv", "{key}");
            assert_eq!(
                rows[0],
                serde_json::json!(["pointId", "timestamp", "value", "quality"])
            );
            for row in &rows[1..] {
                let n: i64 = row[2].as_str().unwrap().parse().unwrap();
                let at = Timestamp::parse(row[1].as_str().unwrap()).unwrap();
                let v = OibusValue::new(row[0].as_str().unwrap(), at, n);
                writeln!(file, "{}", serde_json::to_string(&v).unwrap()).unwrap();
                count += 1;
            }
        }
    }
    count
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn values_and_files_become_objects_and_large_files_go_in_parts() {
    let server = MotoS3::start();
    server.create_bucket("plant", None);
    let ws = Workspace::new(PLUGINS);
    fs::create_dir_all(ws.path("in")).unwrap();
    let files = folder_scanner_south(&ws.path("in").to_string_lossy(), "200ms");
    let north = ", part_size_mib = 5";
    let with_files = |probe: bool| format!("{}\n{files}", config(&server.endpoint(), probe, north));
    ws.config(&with_files(true));
    let big: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    fs::write(ws.path("in/mesure été.csv"), "a;b\n1;2\n").unwrap();
    fs::write(ws.path("in/archive.bin"), &big).unwrap();
    let mut engine = ws.start();
    engine.wait_until("values and files stored", Duration::from_secs(60), |e| {
        e.counter("s3", "values_sent") >= 600 && e.counter("s3", "files_sent") >= 2
    });
    engine.stop();
    ws.config(&with_files(false));
    ws.drain("s3");
    let objects = server.objects("plant", None);
    let n = record_values(&objects, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{} objects, {n} values; {d:?}", objects.len());
    assert!(d.acknowledged >= 600, "{d:?}");
    let find = |key: &str| {
        objects
            .iter()
            .find(|o| o["key"] == key)
            .unwrap_or_else(|| panic!("no object {key} in {objects:?}"))
            .clone()
    };
    let small = find("site1/mesure été.csv");
    assert_eq!(small["content_type"], "text/csv");
    assert_eq!(small["sha256"], sha256(b"a;b\n1;2\n"));
    let large = find("site1/archive.bin");
    assert_eq!(large["size"], big.len());
    assert_eq!(large["sha256"], sha256(&big));
    assert_eq!(large["content_type"], "application/octet-stream");
}

#[test]
fn values_wait_for_a_server_that_comes_back_without_the_bucket() {
    let mut server = MotoS3::start();
    server.stop();
    let ws = Workspace::new(PLUGINS);
    let north = ", values_format = \"csv\"";
    ws.config(&config(&server.endpoint(), true, north));
    let mut engine = ws.start();
    engine.wait_until(
        "the server's absence noticed",
        Duration::from_secs(30),
        |e| e.counter("s3", "send_failures") >= 1,
    );
    // Back, empty: the bucket is missing until someone creates it; nothing is set apart.
    server.restart();
    engine.wait_until("the missing bucket named", Duration::from_secs(30), |e| {
        e.log().contains("does the bucket or container exist?")
    });
    server.create_bucket("plant", None);
    let before = engine.counter("s3", "values_sent");
    engine.wait_until("values stored", Duration::from_secs(60), |e| {
        e.counter("s3", "values_sent") >= before + 300
    });
    let s3 = engine.connector("s3").unwrap();
    engine.stop();
    assert_eq!(s3["cache"]["error_values"], 0, "{s3}");
    ws.config(&config(&server.endpoint(), false, north));
    ws.drain("s3");
    let objects = server.objects("plant", None);
    record_values(&objects, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(d.acknowledged >= 300, "{d:?}");
    assert_eq!(d.duplicates, 0, "{d:?}");
}

#[test]
fn nothing_acknowledged_is_lost_across_kill_9_of_the_engine() {
    let server = MotoS3::start();
    server.create_bucket("plant", None);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(&server.endpoint(), true, ""));
    let kills = 4;
    for round in 0..kills {
        let mut engine = ws.start();
        let sent_before = engine.counter("s3", "values_sent");
        engine.wait_until("values flowing", Duration::from_secs(30), |e| {
            e.counter("s3", "values_sent") > sent_before
        });
        std::thread::sleep(Duration::from_millis(300 + 250 * round));
        eprintln!("round {round}: kill -9");
        engine.kill();
    }
    ws.config(&config(&server.endpoint(), false, ""));
    ws.drain("s3");
    let objects = server.objects("plant", None);
    record_values(&objects, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!("{} objects; {d:?} after {kills} kills", objects.len());
    assert!(d.acknowledged > 500, "{d:?}");
    // A batch sent again whole replaces its own object; only a batch regrouped after the
    // restart can add copies, at most a group (500 values) per kill.
    assert!(d.duplicates <= kills as usize * 500, "{d:?}");
}

#[test]
fn tls_is_verified_against_the_configured_authority() {
    let pki = TestPki::generate();
    let server = MotoS3::start_tls(&pki);
    server.create_bucket("plant", Some(&pki.path("ca.pem")));
    let settings = |ca: &str| {
        format!(
            r#"{{"bucket": "plant", "endpoint": "{}", "access_key_id": "k", "secret_access_key": "s", "tls": {{"ca_file": "{}"}}}}"#,
            server.endpoint(),
            pki.path(ca)
        )
    };
    let (code, err) =
        oibus_tests::test_connection("oibus_object_storage", "s3-north", &settings("ca.pem"));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = oibus_tests::test_connection(
        "oibus_object_storage",
        "s3-north",
        &settings("other-ca.pem"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[test]
fn bad_settings_are_named_before_anything_starts() {
    let ws = Workspace::new(PLUGINS);
    ws.config(&config("http://127.0.0.1:9", true, ", part_size_mib = 1"));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"north "s3" settings.part_size_mib"#),
        "{out}"
    );
}

/// Azure Blob Storage (Azurite): values and files, a large file in blocks, and a container
/// created only after the values started waiting.
#[test]
fn azure_blobs_hold_every_value_and_whole_files() {
    let server = Azurite::start();
    let ws = Workspace::new(PLUGINS);
    fs::create_dir_all(ws.path("in")).unwrap();
    let files = folder_scanner_south(&ws.path("in").to_string_lossy(), "200ms");
    let config = |probe: bool| {
        let s3 = config("unused", probe, "");
        let probe_part = &s3[..s3.find("[[north]]").unwrap()];
        format!(
            r#"{probe_part}
[[north]]
id = "az"
type = "azure-blob-north"
settings = {{ account = "devstoreaccount1", container = "plant", access_key = "{AZURITE_KEY}", endpoint = "{}", prefix = "site1/", part_size_mib = 5, timeout_ms = 5000 }}
caching = {{ group_count = 500, send_interval = "100ms", retry_interval = "100ms" }}

{files}"#,
            server.endpoint()
        )
    };
    ws.config(&config(true));
    let big: Vec<u8> = (0..11 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    fs::write(ws.path("in/archive.bin"), &big).unwrap();
    fs::write(ws.path("in/report.json"), "{\"ok\": true}").unwrap();
    let mut engine = ws.start();
    engine.wait_until(
        "the missing container named",
        Duration::from_secs(30),
        |e| e.log().contains("does the bucket or container exist?"),
    );
    server.create_container("plant");
    engine.wait_until("values and files stored", Duration::from_secs(60), |e| {
        e.counter("az", "values_sent") >= 600 && e.counter("az", "files_sent") >= 2
    });
    let az = engine.connector("az").unwrap();
    engine.stop();
    assert_eq!(az["cache"]["error_values"], 0, "{az}");
    ws.config(&config(false));
    ws.drain("az");
    let blobs = server.blobs("plant");
    record_values(&blobs, &ws.path("received"));
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(d.acknowledged >= 600, "{d:?}");
    let large = blobs
        .iter()
        .find(|b| b["key"] == "site1/archive.bin")
        .unwrap_or_else(|| panic!("{blobs:?}"));
    assert_eq!(large["size"], big.len());
    assert_eq!(large["sha256"], sha256(&big));
    let small = blobs
        .iter()
        .find(|b| b["key"] == "site1/report.json")
        .unwrap();
    assert_eq!(small["content_type"], "application/json");
}
