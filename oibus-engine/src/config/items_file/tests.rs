use super::*;
use serde_json::json;

fn file(text: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.csv");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// An item schema as schemars writes one: a tagged enum behind a `$ref`, numbers, a flag.
fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "address": { "type": "integer" },
            "scale": { "type": ["number", "null"] },
            "swap": { "type": "boolean" },
            "point_id": { "type": "string" },
            "tags": { "type": "array", "items": { "type": "string" } },
            "signal": { "$ref": "#/$defs/Signal" }
        },
        "$defs": {
            "Signal": {
                "oneOf": [
                    { "type": "object", "properties": { "type": { "const": "sine" }, "period_s": { "type": "number" } } },
                    { "type": "object", "properties": { "type": { "type": "string", "enum": ["ramp"] }, "max": { "type": "integer" } } }
                ]
            }
        }
    })
}

#[test]
fn cells_become_the_types_the_item_schema_asks_for_and_text_stays_text() {
    let (_d, path) = file(
        b"name,scan_mode,address,scale,swap,point_id,tags,signal.type,signal.period_s,signal.max\n\
          a,fast,40001,0.5,TRUE,40001,\"[\"\"x\"\"]\",sine,2.5,\n\
          b,fast,12,,false,,,ramp,,7\n",
    );
    let items = read(&path, "items.csv").unwrap();
    assert_eq!(items.len(), 2);
    let a = typed(&items[0].settings, &schema()).value();
    assert_eq!(
        a,
        json!({"address": 40001, "scale": 0.5, "swap": true, "point_id": "40001", "tags": ["x"],
               "signal": {"type": "sine", "period_s": 2.5}})
    );
    let b = typed(&items[1].settings, &schema()).value();
    assert_eq!(
        b,
        json!({"address": 12, "swap": false, "signal": {"type": "ramp", "max": 7}})
    );
    // What is not a number stays text, for validation to name.
    let (_d, path) = file(b"name,scan_mode,address\nc,fast,forty\n");
    let c = read(&path, "items.csv").unwrap();
    assert_eq!(
        typed(&c[0].settings, &schema()).value(),
        json!({"address": "forty"})
    );
}

#[test]
fn a_spreadsheet_export_with_a_bom_and_semicolons_is_read() {
    let (_d, path) = file(
        "\u{feff}name;scan_mode;enabled;address\nTank.Level;fast;;3\nTank.Temp;fast;no;4\n"
            .as_bytes(),
    );
    let items = read(&path, "items.csv").unwrap();
    let names: Vec<_> = items.iter().map(|i| (i.name.as_str(), i.enabled)).collect();
    assert_eq!(names, [("Tank.Level", true), ("Tank.Temp", false)]);
    assert_eq!(items[1].settings.value(), json!({"address": "4"}));
}

#[test]
fn every_bad_row_is_named_and_no_row_is_dropped_silently() {
    let (_d, path) = file(
        b"name,scan_mode,enabled\nok,fast,true\n,fast,true\nx,fast,maybe\ny,fast\nz,fast,false\n",
    );
    let problems = read(&path, "plc.csv").unwrap_err();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "plc.csv row 3: no name",
            "plc.csv row 4 \"x\" enabled: \"maybe\" is not true or false",
            "plc.csv row 5: 2 cell(s) where the header has 3",
        ]
    );
    let (_d, path) = file(b"tag,mode\na,b\n");
    let problems = read(&path, "plc.csv").unwrap_err();
    assert!(
        problems[0]
            .to_string()
            .starts_with("plc.csv row 1: the header must name"),
        "{problems:?}"
    );
    let problems = read(Path::new("/nonexistent/plc.csv"), "plc.csv").unwrap_err();
    assert!(
        problems[0]
            .to_string()
            .starts_with("plc.csv: cannot read: "),
        "{problems:?}"
    );
    let (_d, path) = file(b"name,scan_mode\n\xff\xfe,fast\n");
    let problems = read(&path, "plc.csv").unwrap_err();
    assert_eq!(problems[0].to_string(), "plc.csv row 2: not UTF-8 text");
}

#[test]
fn written_items_read_back_the_same() {
    let items = vec![
        ItemConfig {
            name: "a, with comma".into(),
            enabled: true,
            scan_mode: "fast".into(),
            settings: JsonText::from_value(
                &json!({"address": "40001", "signal": {"type": "sine"}}),
            ),
        },
        ItemConfig {
            name: "b".into(),
            enabled: false,
            scan_mode: "subscription".into(),
            settings: JsonText::from_value(
                &json!({"tags": ["x", "y"], "query": "SELECT 1;\nSELECT \"2\""}),
            ),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.csv");
    write(&path, &items).unwrap();
    let back = read(&path, "items.csv").unwrap();
    assert_eq!(back[0], items[0]);
    assert_eq!(
        (back[1].enabled, back[1].scan_mode.as_str()),
        (false, "subscription")
    );
    // A list is written as its JSON, and typed back by the schema.
    assert_eq!(
        typed(&back[1].settings, &schema()).value()["tags"],
        json!(["x", "y"])
    );
    assert_eq!(back[1].settings.value()["query"], "SELECT 1;\nSELECT \"2\"");
    assert!(!dir.path().join("items.csv.tmp").exists());
}
