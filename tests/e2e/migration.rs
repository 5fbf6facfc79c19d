//! A data folder written by oibus 0.1.0, whose cache kept one queue table per North
//! (`tests/fixtures/data-folder-0.1.0.tar.gz`, made as its README says), opened by this engine:
//! every value and file it had queued is sent, from another path than it was written at, and
//! new data goes through the Souths' logs after it.

use oibus_tests::process::{Workspace, check_acknowledged};
use std::{fs, path::Path, process::Command, time::Duration};

const PROBE: &str = "oibus_test_probe";
const SCANNER: &str = "oibus_south_folder_scanner";

/// Unpacks the fixture into the workspace: `data/` and the South's `acks`.
fn unpack_fixture(ws: &Workspace) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data-folder-0.1.0.tar.gz");
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(ws.dir.path())
        .status()
        .expect("tar");
    assert!(status.success(), "cannot unpack {}", fixture.display());
    assert!(ws.data().join("cache.redb").is_file());
}

#[test]
fn a_data_folder_of_0_1_0_is_sent_in_full_then_new_data_follows() {
    let ws = Workspace::new(&[PROBE, SCANNER]);
    unpack_fixture(&ws);
    let old_acks = fs::read_to_string(ws.path("acks")).unwrap();
    fs::create_dir_all(ws.path("in")).unwrap();
    // The configuration of the release that wrote it, with a North that connects now. The
    // South keeps producing (into the same acknowledgement journal) while the old queue drains.
    let config = |producing: bool| {
        ws.config(&format!(
            r#"
[[scan_modes]]
name = "fast"
every = "100ms"

[[south]]
id = "src"
type = "probe-south"
enabled = {producing}
settings = {{ batch_size = 50, interval_ms = 20, ack_file = "{{ws}}/acks" }}
[[south.items]]
name = "a"
scan_mode = "subscription"
[[south.items]]
name = "b"
scan_mode = "subscription"

[[south]]
id = "scanner"
type = "folder-scanner"
settings = {{ input_folder = "{{ws}}/in" }}
items = [{{ name = "all", scan_mode = "fast", settings = {{ min_age_ms = 0 }} }}]

[[north]]
id = "dst"
type = "probe-north"
settings = {{ record_file = "{{ws}}/received" }}
caching = {{ send_interval = "100ms", max_send_count = 500 }}
"#
        ))
    };
    config(true);
    let mut engine = ws.start();
    engine.wait_until("the old queue sent", Duration::from_secs(60), |e| {
        e.counter("dst", "files_sent") >= 6 && e.counter("dst", "values_sent") >= 15_100
    });
    // New data after the migration, through the South's log.
    fs::write(ws.path("in/new.csv"), "new\n").unwrap();
    engine.wait_until("a new file sent", Duration::from_secs(30), |e| {
        e.counter("dst", "files_sent") >= 7
    });
    engine.stop();
    config(false);
    ws.drain("dst");

    let received = fs::read_to_string(ws.path("received")).unwrap();
    let mut files: Vec<&str> = received
        .lines()
        .filter_map(|l| l.strip_prefix("file "))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "new.csv 4",
            "report-0.csv 7",
            "report-1.csv 7",
            "report-2.csv 7",
            "report-3.csv 7",
            "report-4.csv 7",
            // Copied beside the store under /tmp/fx/data: found in this data folder's slot.
            "report-5.csv 140000",
        ]
    );
    // Every value 0.1.0 acknowledged, and every value acknowledged since.
    let old = old_acks.lines().count();
    assert!(old > 100, "the fixture's journal: {old} lines");
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    assert!(
        d.acknowledged > 15_000,
        "the old queue's values at least: {d:?}"
    );
    assert_eq!(d.duplicates, 0, "{d:?}");
    // The old tables were emptied, and the new data went through the log.
    let log = fs::read_to_string(ws.path("engine.log")).unwrap_or_default();
    assert!(!log.contains("ERROR"), "{log}");
}
