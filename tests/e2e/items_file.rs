//! A South's items read from a CSV file, as plants keep their tag lists: written here by
//! Python's `csv` module (not by us), read by the real engine, named row by row when wrong, and
//! written back when the admin API changes them.

use oibus_tests::{
    api::Api,
    process::{EVERY_SECOND, RECORDING_NORTH, Workspace, recorded_values},
};
use serde_json::json;
use std::{collections::BTreeSet, fs, process::Command, time::Duration};

const PLUGINS: &[&str] = &["oibus_test_probe", "oibus_south_simulator"];

/// Writes `rows` to `<ws>/<name>` with Python's csv writer and `delimiter`.
fn python_csv(ws: &Workspace, name: &str, delimiter: &str, rows: serde_json::Value) {
    let script = format!(
        "import csv, json, sys\nwith open(sys.argv[1], 'w', newline='') as f:\n    w = csv.writer(f, delimiter='{delimiter}')\n    for row in json.loads(sys.argv[2]):\n        w.writerow(row)\n"
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .arg(ws.path(name))
        .arg(rows.to_string())
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

/// A workspace with the simulator and the probe, and `rows` in `tags.csv`.
fn workspace_with_tags(delimiter: &str, rows: serde_json::Value) -> Workspace {
    let ws = Workspace::new(PLUGINS);
    python_csv(&ws, "tags.csv", delimiter, rows);
    ws
}

fn south(items_file: &str) -> String {
    format!(
        "{EVERY_SECOND}[[south]]\nid = \"sim\"\ntype = \"simulator\"\nquery = \"last-point\"\nitems_file = \"{items_file}\"\n{RECORDING_NORTH}"
    )
}

#[test]
fn a_south_reads_its_items_from_a_csv_file_a_spreadsheet_could_have_written() {
    // Semicolons, a name with the delimiter in it, a point id that looks like a number (text
    // for the plugin), numbers and a disabled row.
    let ws = workspace_with_tags(
        ";",
        json!([
            [
                "name",
                "scan_mode",
                "enabled",
                "point_id",
                "signal.type",
                "signal.min",
                "signal.max",
                "signal.period_s"
            ],
            [
                "Tank;Level",
                "every-second",
                "",
                "",
                "ramp",
                "10",
                "20",
                "60"
            ],
            [
                "Pump.Speed",
                "every-second",
                "true",
                "1001",
                "sine",
                "",
                "",
                "30"
            ],
            ["Old.Tag", "every-second", "false", "", "sine", "", "", ""],
        ]),
    );
    ws.config(&south("tags.csv"));
    let mut engine = ws.start();
    let received = ws.path("received");
    engine.wait_until(
        "values of both enabled items",
        Duration::from_secs(20),
        |_| {
            let points: BTreeSet<String> = recorded_values(&received)
                .into_iter()
                .map(|v| v.point_id.to_string())
                .collect();
            points.contains("Tank;Level") && points.contains("1001")
        },
    );
    engine.stop();
    let values = recorded_values(&received);
    assert!(values.iter().all(|v| v.point_id.as_str() != "Old.Tag"));
    for v in values
        .iter()
        .filter(|v| v.point_id.as_str() == "Tank;Level")
    {
        let oibus_plugin_api::DataValue::Float(x) = v.value else {
            panic!("not a number: {v:?}");
        };
        assert!(
            (10.0..=20.0).contains(&x),
            "{x} outside the ramp's min and max"
        );
    }
}

#[test]
fn a_bad_items_file_is_refused_with_its_rows_named() {
    let ws = workspace_with_tags(
        ",",
        json!([
            ["name", "scan_mode", "signal.type", "signal.period_s"],
            ["good", "every-second", "sine", "30"],
            ["typo", "every-second", "sinus", ""],
            ["slow", "every-second", "sine", "a minute"],
            ["nomode", "never", "sine", ""],
            ["good", "every-second", "sine", ""],
        ]),
    );
    ws.config(&south("tags.csv"));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    for line in [
        r#"south "sim" tags.csv row 3 "typo" settings.signal"#,
        r#"south "sim" tags.csv row 4 "slow" settings.signal"#,
        r#"south "sim" tags.csv row 5 "nomode".scan_mode: unknown scan mode "never""#,
        r#"south "sim" tags.csv row 6 "good": duplicate item name"#,
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("row 2 "), "{out}");

    // A file that is missing, or a row cut short, is named before anything starts.
    fs::write(
        ws.path("short.csv"),
        "name,scan_mode,signal.type\nok,every-second,sine\ncut,every-second\n",
    )
    .unwrap();
    for (file, line) in [
        ("missing.csv", r#"south "sim" missing.csv: cannot read: "#),
        (
            "short.csv",
            r#"south "sim" short.csv row 3: 2 cell(s) where the header has 3"#,
        ),
    ] {
        ws.config(&south(file));
        let (code, out) = ws.run_to_end();
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn items_changed_through_the_admin_api_are_written_back_to_their_file() {
    let ws = workspace_with_tags(
        ",",
        json!([
            ["name", "scan_mode", "signal.type"],
            ["a", "every-second", "sine"],
        ]),
    );
    let config = format!("# the operator's comment\n{}", south("tags.csv"));
    ws.config(&config);
    let mut engine = ws.start();
    let api = Api::of(&ws, &mut engine);
    let (code, mut sim) = api.get("/api/south/sim");
    assert_eq!(code, 200, "{sim}");
    assert_eq!(sim["items"][0]["name"], "a");
    sim["items"] = json!([
        {"name": "a", "scan_mode": "every-second", "settings": {"signal": {"type": "sine"}}},
        {"name": "b", "scan_mode": "every-second", "settings": {"signal": {"type": "ramp", "max": 5}, "point_id": "B"}},
    ]);
    let (code, body) = api.send("PUT", "/api/south/sim", Some(&sim.to_string()), None);
    assert_eq!(code, 204, "{body}");
    engine.wait_until("values of the new item", Duration::from_secs(20), |_| {
        recorded_values(&ws.path("received"))
            .iter()
            .any(|v| v.point_id.as_str() == "B")
    });
    engine.stop();
    // The file holds both items (read back by Python), the configuration still names it and
    // holds no items of its own.
    let out = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys\nprint(json.dumps(list(csv.DictReader(open(sys.argv[1])))))",
        ])
        .arg(ws.path("tags.csv"))
        .output()
        .expect("python3 runs");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert_eq!(rows[1]["name"], "b");
    assert_eq!(rows[1]["signal.max"], "5");
    assert_eq!(rows[1]["point_id"], "B");
    let text = fs::read_to_string(ws.path("oibus.toml")).unwrap();
    assert!(text.contains("# the operator's comment"), "{text}");
    assert!(text.contains("items_file = \"tags.csv\""), "{text}");
    assert!(
        !text.contains("[[south.items]]") && !text.contains("items = "),
        "{text}"
    );
}
