//! `oibus run` refuses a bad configuration with one clear line per problem, and starts nothing.

use oibus_tests::{PRODUCT_PLUGINS, process::Workspace};

#[test]
fn every_problem_of_a_bad_configuration_is_reported_at_once() {
    let ws = Workspace::new(PRODUCT_PLUGINS);
    ws.config(
        r#"
[[scan_modes]]
name = "fast"
cron = "*/99 * * * *"

[[scan_modes]]
name = "faster"
every = "5ms"

[[scan_modes]]
name = "both"
cron = "* * * * * *"
every = "1s"

[[south]]
id = "sim"
type = "simulator"
query = "last-point"
settings = { sample_interval_ms = "often" }
[[south.items]]
name = "t"
scan_mode = "slow"
settings = { signal = { type = "square" } }

[[south]]
id = "sim"
type = "no-such-type"

[[south]]
id = "files"
type = "folder-scanner"
settings = { input_folder = "{ws}/in" }
[[south.items]]
name = "all"
scan_mode = "subscription"

[[north]]
id = "out"
type = "simulator"

[[north]]
id = "../outside"
type = "console"

[[north]]
id = "writer"
type = "file-writer"
subscriptions = ["nobody"]
settings = { output_folder = 3 }
caching = { group_count = 0, max_send_files = 0 }
"#,
    );
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    let expected = [
        r#"scan_modes[0] "fast".cron: "*/99 * * * *" is not a six-field cron"#,
        r#"scan_modes[1] "faster".every: 5ms is shorter than the shortest interval, 10 ms"#,
        r#"scan_modes[2] "both".every: give either `cron` or `every`, not both"#,
        r#"south "sim" settings.sample_interval_ms: "often" is not of type "integer""#,
        r#"south "sim" items[0] "t".scan_mode: unknown scan mode "slow" (known: both, fast, faster, subscription)"#,
        r#"south "sim" items[0] "t" settings.signal"#,
        r#"south "sim": duplicate connector id"#,
        r#"south "files" items[0] "all".scan_mode: type "folder-scanner" cannot do subscriptions"#,
        r#"north "out".type: "simulator" is a south connector type, not a north one"#,
        r#"north "../outside": an id holds at most 128 letters, digits"#,
        r#"north "writer".subscriptions: no South has the id "nobody""#,
        r#"north "writer" settings.output_folder: 3 is not of type "string""#,
        r#"north "writer" caching: group_count and max_send_count must be at least 1"#,
        r#"north "writer" caching.max_send_files: must be at least 1"#,
    ];
    for line in expected {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let config = ws.path("oibus.toml");
    let prefix = format!("{}: ", config.display());
    let problem_lines = out.lines().filter(|l| l.contains(&prefix)).count();
    assert!(
        problem_lines >= expected.len(),
        "one line per problem, each naming the file:\n{out}"
    );
    assert!(!out.contains("running"), "nothing started:\n{out}");
    // A type no plugin provides is not an error: that connector waits for its plugin.
    assert!(
        out.contains(r#"south "sim": no loaded plugin provides the south connector type "no-such-type" (loaded: folder-scanner, simulator)"#),
        "{out}"
    );
    assert!(
        !ws.data().join("cache.redb").exists(),
        "no state was created"
    );
}

#[test]
fn syntax_and_value_errors_name_the_line() {
    let ws = Workspace::new(PRODUCT_PLUGINS);
    ws.config("[engine]\nname = \"x\"\n\n[[north]]\nid = \"n\"\ntype = \"console\"\ncaching = { send_interval = \"sometimes\" }\n");
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("line 7") && out.contains("sometimes"), "{out}");

    ws.config("[engine]\nname = \"x\"\nunknown_key = 1\n");
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("line 3") && out.contains("unknown_key"),
        "{out}"
    );

    ws.config("[[south]\nid = 1\n");
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("line 1"), "{out}");
}

#[test]
fn a_missing_configuration_file_is_named() {
    let ws = Workspace::new(PRODUCT_PLUGINS);
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("oibus.toml: cannot read"), "{out}");
}

#[test]
fn texts_past_their_bounds_are_refused_with_the_limit_and_quoted_cut() {
    let ws = Workspace::new(PRODUCT_PLUGINS);
    let big = "p".repeat(100_000);
    ws.config(&format!(
        r#"
[[scan_modes]]
name = "every-second"
every = "1s"

[[south]]
id = "{big}"
type = "simulator"
settings = {{}}

[[south]]
id = "files"
type = "folder-scanner"
settings = {{ input_folder = "{big}" }}
items = [{{ name = "{big}", scan_mode = "every-second" }}]
"#
    ));
    let (code, out) = ws.run_to_end();
    assert_eq!(code, 2, "{}", &out[..out.len().min(2000)]);
    assert!(out.len() < 5_000, "an answer of {} bytes", out.len());
    for says in [
        "(100000 bytes): an id holds at most 128",
        "south \"files\" settings.input_folder: a text of 100000 bytes is longer than the 65536 bytes allowed",
        ".name: an item name of 100000 bytes is longer than the 512 bytes allowed",
    ] {
        assert!(out.contains(says), "{says:?} in {out}");
    }
}
