//! `opcua` against an OPC UA server written by others (Python asyncua,
//! `tests/servers/opcua_server.py`), through the real engine.

use oibus_plugin_api::{DataValue, OibusValue, Quality};
use oibus_tests::{
    process::{EVERY_SECOND, FAST_RECONNECT, RECORDING_NORTH, Workspace, recorded_values},
    servers::OpcuaServer,
};
use std::{collections::BTreeMap, fs, time::Duration};

const PLUGINS: &[&str] = &["oibus_opcua", "oibus_test_probe"];

/// A South `ua` reading `items` (TOML item tables) every second with `settings` (TOML keys).
fn config(settings: &str, items: &[String]) -> String {
    format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n[[south]]\nid = \"ua\"\ntype = \"opcua\"\nquery = \"last-point\"\nsettings = {{ {settings} }}\nitems = [\n  {}\n]\n{RECORDING_NORTH}",
        items.join(",\n  ")
    )
}

fn item(name: &str, node_id: &str) -> String {
    format!(
        r#"{{ name = "{name}", scan_mode = "every-second", settings = {{ node_id = "{node_id}" }} }}"#
    )
}

/// The values received, by point.
fn by_point(ws: &Workspace) -> BTreeMap<String, Vec<OibusValue>> {
    let mut map: BTreeMap<String, Vec<OibusValue>> = BTreeMap::new();
    for v in recorded_values(&ws.path("received")) {
        map.entry(v.point_id.to_string()).or_default().push(v);
    }
    map
}

#[test]
fn every_measurement_type_and_node_id_form_is_read_and_the_rest_is_named_per_item() {
    let server = OpcuaServer::start(&[]);
    let ws = Workspace::new(PLUGINS);
    let expected: Vec<(&str, &str, DataValue)> = vec![
        ("bool", "ns=2;s=Plant.Bool", DataValue::Bool(true)),
        ("sbyte", "ns=2;s=Plant.SByte", DataValue::Int(-5)),
        ("byte", "ns=2;s=Plant.Byte", DataValue::Int(5)),
        ("int16", "ns=2;s=Plant.Int16", DataValue::Int(-16)),
        ("uint16", "ns=2;s=Plant.UInt16", DataValue::Int(16)),
        ("int32", "ns=2;s=Plant.Int32", DataValue::Int(-32)),
        ("uint32", "ns=2;s=Plant.UInt32", DataValue::Int(32)),
        ("int64", "ns=2;s=Plant.Int64", DataValue::Int(-64)),
        ("uint64", "ns=2;s=Plant.UInt64", DataValue::Int(64)),
        ("float", "ns=2;s=Plant.Float", DataValue::Float(1.5)),
        ("double", "ns=2;s=Plant.Double", DataValue::Float(2.5)),
        (
            "string",
            "ns=2;s=Plant.String",
            DataValue::Text("hello".into()),
        ),
        (
            "datetime",
            "ns=2;s=Plant.DateTime",
            DataValue::Text("2024-05-01T12:00:00Z".into()),
        ),
        (
            "doubles",
            "ns=2;s=Plant.DoubleArray",
            DataValue::Text("[1.0,2.0,3.0]".into()),
        ),
        (
            "ints",
            "ns=2;s=Plant.Int32Array",
            DataValue::Text("[1,2,3]".into()),
        ),
        (
            "by-guid",
            "ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
            DataValue::Float(1.0),
        ),
        ("opaque", "ns=2;b=AQKr", DataValue::Text("opaque".into())),
    ];
    let mut items: Vec<String> = expected.iter().map(|(n, id, _)| item(n, id)).collect();
    // A counter reached through its namespace URI, and three items that cannot work.
    items.push(item("counter", "nsu=urn:oibus:test:plant;i=1001"));
    items.push(item("text", "ns=2;s=Plant.Text"));
    items.push(item("unknown", "ns=2;s=Plant.Nope"));
    items.push(item("garbled", "Plant.Double"));
    ws.config(&config(
        &format!(r#"url = "{}", max_nodes_per_read = 4"#, server.url()),
        &items,
    ));
    let mut engine = ws.start();
    engine.wait_until("three scans", Duration::from_secs(60), |_| {
        by_point(&ws).get("counter").is_some_and(|v| v.len() >= 3)
    });
    let status = engine.connector("ua").unwrap();
    let log = engine.log();
    engine.stop();
    // Runs that read all but three items are not failed runs, and each failing item is logged
    // once, when it starts failing, not at every scan.
    let counters = &status["counters"];
    assert_eq!(counters["run_failures"], 0, "{status}");
    assert!(
        counters["runs_with_failed_items"].as_u64() >= Some(2),
        "{status}"
    );
    for name in ["text", "unknown", "garbled"] {
        let logged = log.matches(&format!("item \"{name}\" fails")).count();
        assert_eq!(logged, 1, "{name}: {log}");
    }
    // The OPC UA library's own warnings are at debug (the connector reports what matters).
    let library = log
        .lines()
        .filter(|l| l.contains("from=opcua") && (l.contains(" WARN ") || l.contains(" ERROR ")));
    assert_eq!(library.count(), 0, "{log}");
    let got = by_point(&ws);
    for (name, _, value) in &expected {
        let values = got
            .get(*name)
            .unwrap_or_else(|| panic!("no value for {name}: {got:?}"));
        for v in values {
            assert_eq!(&v.value, value, "{name}");
            assert_eq!(v.quality, Quality::Good, "{name}");
        }
    }
    // The counter changes every 100 ms: successive scans see it grow.
    let counts: Vec<i64> = got["counter"]
        .iter()
        .map(|v| match v.value {
            DataValue::Int(n) => n,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");
    let failed = &status["failed_items"];
    for (name, says) in [
        ("text", "LocalizedText value, which is not a measurement"),
        ("unknown", "BadNodeIdUnknown"),
        ("garbled", "is not a node id"),
    ] {
        assert!(
            failed[name].as_str().is_some_and(|r| r.contains(says)),
            "{name}: {status}"
        );
        assert!(!got.contains_key(name), "{name}");
    }
    assert_eq!(failed.as_object().unwrap().len(), 3, "{status}");
}

#[test]
fn a_secured_session_waits_for_the_operator_to_trust_the_server_certificate_and_checks_the_password()
 {
    let server = OpcuaServer::start(&["--secure", "--no-anonymous"]);
    let ws = Workspace::new(PLUGINS);
    let (user, password) = OpcuaServer::USER;
    let secure = |password: &str| {
        format!(
            r#"url = "{}", security_mode = "sign-and-encrypt", security_policy = "basic256sha256", authentication = {{ type = "username", username = "{user}", password = "{password}" }}"#,
            server.url()
        )
    };
    ws.config(&config(
        &secure(password),
        &[item("temperature", "ns=2;s=Plant.Temperature")],
    ));
    let mut engine = ws.start();
    let pki = ws.data().join("plugin-data/oibus-opcua/pki");
    engine.wait_until(
        "the untrusted certificate named",
        Duration::from_secs(60),
        |e| {
            e.connector("ua").is_some_and(|c| {
                c["last_error"]
                    .as_str()
                    .is_some_and(|m| m.contains("is not trusted"))
            })
        },
    );
    let error = engine.connector("ua").unwrap()["last_error"].to_string();
    let rejected: Vec<_> = fs::read_dir(pki.join("rejected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let name = rejected[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // The error names the file, its thumbprint and where to move it; the saved file is the
    // server's certificate.
    assert!(
        error.contains(&name) && error.contains("thumbprint") && error.contains("move it to"),
        "{error}"
    );
    assert_eq!(
        fs::read(&rejected[0]).unwrap(),
        fs::read(server.certificate()).unwrap()
    );
    assert!(by_point(&ws).is_empty());
    // The operator trusts it: the engine's next attempt connects, encrypted, and values flow.
    fs::rename(&rejected[0], pki.join("trusted").join(&name)).unwrap();
    engine.wait_until("values after trusting", Duration::from_secs(60), |_| {
        by_point(&ws)
            .get("temperature")
            .is_some_and(|v| v.len() >= 2)
    });
    // A wrong password, tried through the admin API with the same trust list, is refused as
    // such, and the password appears nowhere.
    let api = oibus_tests::api::Api::of(&ws, &mut engine);
    let (code, answer) = api.post(
        "/api/south/test-connection",
        &serde_json::json!({"type": "opcua", "settings": {
            "url": server.url(), "security_mode": "sign-and-encrypt",
            "security_policy": "basic256sha256",
            "authentication": {"type": "username", "username": user, "password": "not-it"}
        }}),
    );
    assert_eq!(code, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("refused user \"{user}\""))
            && error.contains("BadUserAccessDenied"),
        "{error}"
    );
    assert!(!error.contains("not-it"), "{error}");
    let log = engine.log();
    engine.stop();
    for secret in [password, "not-it"] {
        assert!(!log.contains(secret), "a password is never logged");
    }
}

#[test]
fn reading_resumes_after_the_server_restarts() {
    let mut server = OpcuaServer::start(&[]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        &format!(r#"url = "{}", request_timeout_ms = 2000"#, server.url()),
        &[item("counter", "ns=2;i=1001")],
    ));
    let mut engine = ws.start();
    engine.wait_until("values", Duration::from_secs(60), |_| {
        by_point(&ws).get("counter").is_some_and(|v| v.len() >= 2)
    });
    server.stop();
    engine.wait_disconnected("ua");
    let before = by_point(&ws)["counter"].len();
    server.restart();
    // The restarted server's counter starts again from 0: values of the new session arrive.
    engine.wait_until("values again", Duration::from_secs(60), |_| {
        by_point(&ws)["counter"].len() >= before + 2
    });
    let log = engine.log();
    engine.stop();
    assert!(log.contains("OPC UA server"), "{log}");
}

#[test]
fn history_is_read_page_by_page_exactly_once_and_an_aggregate_the_server_lacks_is_named() {
    // 3,000 values, one a second; the server answers 300 at a time with a continuation point.
    let server = OpcuaServer::start(&["--history", "3000", "--page", "300"]);
    let ws = Workspace::new(PLUGINS);
    let south = |id: &str, item: &str| {
        format!(
            "[[south]]\nid = \"{id}\"\ntype = \"opcua\"\nquery = \"history\"\nsettings = {{ url = \"{}\", history_values_per_read = 500 }}\nhistory = {{ start = \"1h\", max_read_interval = \"20m\", read_delay = \"0s\" }}\nitems = [{item}]\n",
            server.url()
        )
    };
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n{}\n{}\n{RECORDING_NORTH}",
        south(
            "raw",
            r#"{ name = "hist", scan_mode = "every-second", settings = { node_id = "ns=2;s=Plant.History" } }"#
        ),
        south(
            "agg",
            r#"{ name = "avg", scan_mode = "every-second", settings = { node_id = "ns=2;s=Plant.History", aggregate = "average", resampling_interval_ms = 60000 } }"#
        ),
    ));
    let mut engine = ws.start();
    let indexes = |ws: &Workspace| -> Vec<i64> {
        by_point(ws)
            .get("hist")
            .map(|v| {
                v.iter()
                    .map(|v| match v.value {
                        DataValue::Float(f) => f as i64,
                        ref other => panic!("{other:?}"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    engine.wait_until(
        "the 3,000 values, and the aggregate refused",
        Duration::from_secs(120),
        |e| {
            let got: std::collections::BTreeSet<i64> = indexes(&ws).into_iter().collect();
            (0..3000).all(|i| got.contains(&i))
                && e.connector("agg")
                    .is_some_and(|c| c["failed_items"]["avg"].is_string())
        },
    );
    let agg = engine.connector("agg").unwrap();
    engine.stop();
    // Each value once: no page and no window boundary read twice (the initial value the server
    // stored at its start is the one extra 0).
    let mut all = indexes(&ws);
    all.sort();
    let zeros = all.iter().filter(|i| **i == 0).count();
    all.dedup();
    assert_eq!(all.len(), 3000);
    assert!(
        zeros <= 2 && indexes(&ws).len() == 3000 + zeros - 1,
        "{zeros}"
    );
    let why = agg["failed_items"]["avg"]
        .as_str()
        .unwrap_or_else(|| panic!("{agg}"));
    assert!(
        why.contains("BadNotImplemented") && why.contains("aggregate = \"raw\""),
        "{why}"
    );
    assert!(!by_point(&ws).contains_key("avg"));
}

#[test]
fn subscribed_values_flow_with_their_deadband_and_come_back_after_a_server_restart() {
    let mut server = OpcuaServer::start(&[]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        &format!(
            r#"url = "{}", publishing_interval_ms = 100, request_timeout_ms = 2000"#,
            server.url()
        ),
        &[
            r#"{ name = "counter", scan_mode = "subscription", settings = { node_id = "ns=2;i=1001", sampling_interval_ms = 50 } }"#.to_string(),
            // Square steps of 10: a deadband of 5 lets each through, one of 20 none (but the
            // initial value every new monitored item reports).
            r#"{ name = "square-5", scan_mode = "subscription", settings = { node_id = "ns=2;s=Plant.Square", sampling_interval_ms = 50, deadband = { type = "absolute", value = 5 } } }"#.to_string(),
            r#"{ name = "square-20", scan_mode = "subscription", settings = { node_id = "ns=2;s=Plant.Square", sampling_interval_ms = 50, deadband = { type = "absolute", value = 20 } } }"#.to_string(),
            r#"{ name = "missing", scan_mode = "subscription", settings = { node_id = "ns=2;s=Plant.Nope" } }"#.to_string(),
        ],
    ));
    let mut engine = ws.start();
    engine.wait_until("subscribed values", Duration::from_secs(60), |_| {
        let got = by_point(&ws);
        got.get("counter").is_some_and(|v| v.len() >= 20)
            && got.get("square-5").is_some_and(|v| v.len() >= 10)
    });
    let status = engine.connector("ua").unwrap();
    assert!(
        status["failed_items"]["missing"]
            .as_str()
            .is_some_and(|r| r.contains("BadNodeIdUnknown")),
        "{status}"
    );
    let number = |v: &OibusValue| match v.value {
        DataValue::Int(n) => n as f64,
        DataValue::Float(f) => f,
        ref other => panic!("{other:?}"),
    };
    let got = by_point(&ws);
    let counts: Vec<f64> = got["counter"].iter().map(number).collect();
    assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");
    // The deadband goes to the server, which applies it.
    assert!(
        got.get("square-20").map_or(0, Vec::len) <= 1,
        "{:?}",
        got.get("square-20")
    );
    // The server restarts (its counter from 0): the engine reconnects and subscribes again.
    server.stop();
    engine.wait_disconnected("ua");
    let before = by_point(&ws)["counter"].len();
    server.restart();
    engine.wait_until("subscribed values again", Duration::from_secs(60), |_| {
        by_point(&ws)["counter"].len() >= before + 10
    });
    engine.stop();
}

/// `oibus browse` on the fixture server with these extra arguments: exit code, output, errors.
fn browse(server: &OpcuaServer, extra: &[&str]) -> (i32, String, String) {
    let plugins = oibus_tests::plugin_folder(&["oibus_opcua"]);
    let settings = format!(r#"{{"url": "{}"}}"#, server.url());
    let mut args = vec![
        "browse",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--type",
        "opcua",
        "--settings",
        &settings,
    ];
    args.extend_from_slice(extra);
    oibus_tests::run_oibus(&args)
}

#[test]
fn the_address_space_is_browsed_and_pasted_items_read_at_once() {
    let server = OpcuaServer::start(&[]);
    // From the Objects folder, two levels: the fixture's folder and its variables.
    let (code, out, err) = browse(&server, &["--depth", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Plant  (object)  ns=2;s=Plant\n"), "{out}");
    for line in [
        "  History  (variable, Double, historized)  ns=2;s=Plant.History",
        "  Counter  (variable, Int32)  ns=2;i=1001",
        "  DateTime  (variable, DateTime)  ns=2;s=Plant.DateTime",
        "  GuidNode  (variable, Double)  ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
        "  DoubleArray  (variable, Double[])  ns=2;s=Plant.DoubleArray",
        "  Text  (variable, LocalizedText, not readable as an item)  ns=2;s=Plant.Text",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} in\n{out}");
    }
    // A node that does not exist is named.
    let (code, _, err) = browse(&server, &["--node", "ns=2;s=Nowhere"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ns=2;s=Nowhere") && err.contains("Bad"),
        "{err}"
    );
    // The item tables of the folder, pasted into a configuration, are valid and read.
    let (code, tables, err) = browse(&server, &["--node", "ns=2;s=Plant", "--toml-items"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        tables.contains("[[south.items]]\nname = \"Counter\"\nscan_mode = \"every-second\"\nsettings = { node_id = \"ns=2;i=1001\" }\n"),
        "{tables}"
    );
    // A variable no item can read is left out, as a comment saying why.
    assert!(
        tables.contains(
            "# Text (ns=2;s=Plant.Text): its LocalizedText values are not readable as an item\n"
        ) && !tables.contains("name = \"Text\""),
        "{tables}"
    );
    let ws = Workspace::new(PLUGINS);
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n{RECORDING_NORTH}\n[[south]]\nid = \"ua\"\ntype = \"opcua\"\nquery = \"last-point\"\nsettings = {{ url = \"{}\" }}\n\n{tables}",
        server.url()
    ));
    let mut engine = ws.start();
    engine.wait_until("the pasted items read", Duration::from_secs(60), |_| {
        let got = by_point(&ws);
        ["Counter", "Double", "History", "Square"]
            .iter()
            .all(|p| got.contains_key(*p))
    });
    // Every pasted item reads.
    let status = engine.connector("ua").unwrap();
    assert!(
        status["failed_items"]
            .as_object()
            .is_none_or(|f| f.is_empty()),
        "{status}"
    );
    // Through the admin API too, with every node's item settings.
    let api = oibus_tests::api::Api::of(&ws, &mut engine);
    let (code, answer) = api.post(
        "/api/south/browse",
        &serde_json::json!({"type": "opcua", "settings": {"url": server.url()}, "from": "ns=2;s=Plant"}),
    );
    assert_eq!(code, 200, "{answer}");
    let history = answer["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "History")
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(history["historizing"], true);
    assert_eq!(history["item_settings"]["node_id"], "ns=2;s=Plant.History");
    let (code, answer) = api.post(
        "/api/south/browse",
        &serde_json::json!({"type": "opcua", "settings": {"url": server.url()}, "depth": 11}),
    );
    assert_eq!(code, 400, "{answer}");
    engine.stop();
}

/// Reads 2,000 nodes a scan, in Reads of 100 nodes with `parallel` in flight: every value
/// right; the most Reads the server saw sent ahead of the one it was answering.
fn two_thousand_nodes(parallel: u32) -> u64 {
    let server = OpcuaServer::start(&["--many", "2000"]);
    let ws = Workspace::new(PLUGINS);
    let items: Vec<String> = (0..2000)
        .map(|i| item(&format!("m{i}"), &format!("ns=2;s=Plant.Many.{i}")))
        .collect();
    ws.config(&config(
        &format!(
            r#"url = "{}", max_nodes_per_read = 100, max_parallel_reads = {parallel}"#,
            server.url()
        ),
        &items,
    ));
    let mut engine = ws.start();
    engine.wait_until("two full scans", Duration::from_secs(90), |_| {
        recorded_values(&ws.path("received")).len() >= 4000
    });
    let log = engine.log();
    engine.stop();
    assert!(log.contains("(100 nodes per read)"), "{log}");
    let got = by_point(&ws);
    assert_eq!(got.len(), 2000);
    for (i, name) in (0..2000).map(|i| (i, format!("m{i}"))) {
        assert!(
            got[&name]
                .iter()
                .all(|v| v.value == DataValue::Float(i as f64)),
            "{name}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    read_back(&server, "ns=2;s=Plant.MostPipelined")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn two_thousand_nodes_are_read_each_scan_in_requests_the_size_the_settings_allow() {
    // One Read after the other: the server never has a second one of the scan waiting (the
    // session's keep-alive Read, every 5 s, may be).
    let most = two_thousand_nodes(1);
    assert!(most <= 1, "{most} Reads sent ahead");
}

#[test]
fn reads_of_one_scan_are_in_flight_together_up_to_max_parallel_reads() {
    let most = two_thousand_nodes(4);
    assert!((2..=4).contains(&most), "{most} Reads sent ahead");
}

/// Puts the server's certificate in the workspace's trust list, as an operator who got it from
/// its administrator would (under the name a refused connection gives it).
fn trust_beforehand(ws: &Workspace, server: &OpcuaServer) {
    let trusted = ws.data().join("plugin-data/oibus-opcua/pki/trusted");
    fs::create_dir_all(&trusted).unwrap();
    let probe = oibus_tests::test_connection(
        "oibus_opcua",
        "opcua",
        &format!(
            r#"{{"url": "{}", "security_mode": "sign", "security_policy": "basic256sha256"}}"#,
            server.url()
        ),
    );
    let name = probe
        .1
        .split("rejected/")
        .nth(1)
        .and_then(|rest| rest.split(": to trust it").next())
        .unwrap_or_else(|| panic!("{probe:?}"))
        .to_string();
    fs::copy(server.certificate(), trusted.join(&name)).unwrap();
}

#[test]
fn subscribed_values_flow_without_a_gap_while_the_secure_channel_is_renewed() {
    let server = OpcuaServer::start(&["--secure"]);
    let ws = Workspace::new(PLUGINS);
    trust_beforehand(&ws, &server);
    // Keys asked for 2 s: the gateway renews them every 1.5 s.
    ws.config(&config(
        &format!(
            r#"url = "{}", security_mode = "sign-and-encrypt", security_policy = "basic256sha256", secure_channel_lifetime_ms = 2000, publishing_interval_ms = 100"#,
            server.url()
        ),
        &[
            r#"{ name = "counter", scan_mode = "subscription", settings = { node_id = "ns=2;i=1001", sampling_interval_ms = 50 } }"#.to_string(),
            item("renewals", "ns=2;s=Plant.ChannelRenewals"),
        ],
    ));
    let mut engine = ws.start();
    let renewals = |ws: &Workspace| {
        by_point(ws)
            .get("renewals")
            .and_then(|v| v.last().cloned())
            .map_or(0, |v| match v.value {
                DataValue::Int(n) => n,
                ref other => panic!("{other:?}"),
            })
    };
    // The server counts renewals of every client's channel: only this gateway's here.
    engine.wait_until("four renewals", Duration::from_secs(60), |_| {
        renewals(&ws) >= 4
    });
    engine.stop();
    let counts: Vec<i64> = by_point(&ws)["counter"]
        .iter()
        .map(|v| match v.value {
            DataValue::Int(n) => n,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert!(counts.len() >= 40, "{counts:?}");
    // Every change the server made reached the North, in order, over one connection.
    assert!(counts.windows(2).all(|w| w[1] == w[0] + 1), "{counts:?}");
}

/// A self-signed certificate (DER) and its key (PEM) made by openssl, not by the gateway, with
/// `extensions` (`-addext` values).
fn openssl_certificate(
    cert: &std::path::Path,
    key: &std::path::Path,
    subject: &str,
    extensions: &[&str],
) {
    let mut openssl = std::process::Command::new("openssl");
    openssl.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subject,
    ]);
    openssl.args(["-outform", "DER"]);
    for e in extensions {
        openssl.args(["-addext", e]);
    }
    let status = openssl
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/test installs it)");
    assert!(status.success());
}

#[test]
fn a_signed_session_with_a_user_certificate_reads() {
    let server = OpcuaServer::start(&["--secure"]);
    let ws = Workspace::new(PLUGINS);
    // A user certificate made by openssl (not by the gateway).
    let (cert, key) = (ws.path("user.der"), ws.path("user.pem"));
    openssl_certificate(&cert, &key, "/CN=oibus-test-user", &[]);
    ws.config(&config(
        &format!(
            r#"url = "{}", security_mode = "sign", security_policy = "basic256sha256", authentication = {{ type = "certificate", cert_file = "{}", key_file = "{}" }}"#,
            server.url(),
            cert.display(),
            key.display()
        ),
        &[item("double", "ns=2;s=Plant.Double")],
    ));
    trust_beforehand(&ws, &server);
    let mut engine = ws.start();
    engine.wait_until("values", Duration::from_secs(60), |_| {
        by_point(&ws).get("double").is_some_and(|v| v.len() >= 2)
    });
    engine.stop();
    assert!(
        by_point(&ws)["double"]
            .iter()
            .all(|v| v.value == DataValue::Float(2.5))
    );
}

#[test]
fn every_security_policy_reads_in_each_mode_once_the_certificate_is_trusted() {
    let server = OpcuaServer::start(&["--secure"]);
    let ws = Workspace::new(&["oibus_opcua"]);
    let read = |policy: &str, mode: &str| read_double(&ws, &server.url(), policy, mode);
    // The first connection is refused, naming the file to move; the operator moves it.
    let (code, _, err) = read("aes128-sha256-rsaoaep", "sign");
    assert_eq!(code, 1, "{err}");
    move_to_trusted(&err);
    for policy in [
        "basic256sha256",
        "aes128-sha256-rsaoaep",
        "aes256-sha256-rsapss",
    ] {
        for mode in ["sign", "sign-and-encrypt"] {
            let (code, out, err) = read(policy, mode);
            assert_eq!(code, 0, "{policy} {mode}: {err}");
            let values: Vec<OibusValue> =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(values.len(), 1, "{out}");
            assert_eq!(values[0].value, DataValue::Float(2.5), "{policy} {mode}");
        }
    }
    // A policy with no security mode is refused before anything connects, naming both.
    let (code, _, err) = read("aes256-sha256-rsapss", "none");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("security_policy \"aes256-sha256-rsapss\" needs security_mode"),
        "{err}"
    );
}

/// `oibus test-item` of Plant.Double through `url` with a security `policy` and `mode`, with the
/// workspace's data folder (its trust list): exit code, output (JSON values), errors.
fn read_double(ws: &Workspace, url: &str, policy: &str, mode: &str) -> (i32, String, String) {
    let settings =
        format!(r#"{{"url": "{url}", "security_mode": "{mode}", "security_policy": "{policy}"}}"#);
    cli(
        ws,
        &[
            "test-item",
            "--type",
            "opcua",
            "--timeout",
            "20",
            "--settings",
            &settings,
            "--item",
            r#"{"name": "double", "settings": {"node_id": "ns=2;s=Plant.Double"}}"#,
            "--json",
        ],
    )
}

/// Does what the refusal of an untrusted server certificate says: moves the saved file into
/// the trust list.
fn move_to_trusted(error: &str) {
    let (rejected, trusted) = (
        named_file(error, "it was saved as "),
        named_file(error, "move it to "),
    );
    fs::rename(&rejected, &trusted).unwrap_or_else(|e| panic!("{rejected:?}: {e}"));
}

/// `oibus ARGS… --plugins --data` of the workspace: exit code, output, errors.
fn cli(ws: &Workspace, args: &[&str]) -> (i32, String, String) {
    let (plugins, data) = (ws.path("plugins"), ws.data());
    let mut all = args.to_vec();
    all.extend([
        "--plugins",
        plugins.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    oibus_tests::run_oibus(&all)
}

/// From an error naming a file to move or give (`… {before} PATH …`), the path.
fn named_file(error: &str, before: &str) -> std::path::PathBuf {
    let rest = error
        .split(before)
        .nth(1)
        .unwrap_or_else(|| panic!("{error}"));
    let end = rest.find(".der").unwrap_or_else(|| panic!("{error}")) + 4;
    rest[..end].into()
}

#[test]
fn a_server_that_checks_clients_trusts_the_gateway_once_for_tests_browsing_and_connectors() {
    let ws = Workspace::new(PLUGINS);
    let server_trusts = ws.path("server-trusts");
    let server = OpcuaServer::start(&[
        "--secure",
        "--no-anonymous",
        "--trust-clients",
        server_trusts.to_str().unwrap(),
    ]);
    let (user, password) = OpcuaServer::USER;
    let auth = format!(
        r#""authentication": {{"type": "username", "username": "{user}", "password": "{password}"}}"#
    );
    let secure = format!(
        r#""url": "{}", "security_mode": "sign-and-encrypt", "security_policy": "basic256sha256", {auth}"#,
        server.url()
    );
    let settings = format!("{{{secure}}}");
    // `oibus test-connection`, run from the workspace with a relative `--data`, as the guide's
    // commands are.
    let test = |settings: &str| {
        let out = std::process::Command::new(oibus_tests::oibus())
            .current_dir(ws.dir.path())
            .args(["test-connection", "--type", "opcua", "--timeout", "20"])
            .args([
                "--settings",
                settings,
                "--plugins",
                "plugins",
                "--data",
                "data",
            ])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Without message security the server still checks the gateway's certificate: the error
    // names it (the file is there), with its thumbprint, and blames no server certificate.
    let (code, err) = test(&format!(r#"{{"url": "{}", {auth}}}"#, server.url()));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not trust the gateway's certificate") && err.contains("thumbprint"),
        "{err}"
    );
    assert!(!err.contains("is not trusted; it was saved"), "{err}");
    let own = named_file(&err, "the gateway's certificate ");
    assert_eq!(
        own,
        ws.data().join("plugin-data/oibus-opcua/pki/own/cert.der")
    );
    let made = fs::read(&own).unwrap();
    // Its key is readable by the gateway's user alone.
    let key = ws
        .data()
        .join("plugin-data/oibus-opcua/pki/private/private.pem");
    let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{}", key.display());
    assert!(!err.contains("private"), "no word of the key: {err}");
    assert!(!err.contains(password), "{err}");
    // The server's administrator trusts it.
    fs::create_dir_all(&server_trusts).unwrap();
    fs::write(server_trusts.join("gateway.der"), &made).unwrap();
    // Anonymous (once the server trusts the gateway), where it takes users only: the kinds it takes are named.
    let (code, err) = test(&format!(r#"{{"url": "{}"}}"#, server.url()));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "takes no anonymous session on this endpoint (it takes: certificate, username)"
        ),
        "{err}"
    );
    // Secured: the server's certificate, refused here, is named: the operator moves it.
    let (code, err) = test(&settings);
    assert_eq!(code, 1, "{err}");
    let rejected = named_file(&err, "it was saved as ");
    let trusted = named_file(&err, "move it to ");
    assert_eq!(
        fs::read(&rejected).unwrap(),
        fs::read(server.certificate()).unwrap()
    );
    fs::rename(&rejected, &trusted).unwrap();
    let (code, err) = test(&settings);
    assert_eq!(code, 0, "{err}");
    // Trusted once, for the connection test, browsing and the item test.
    let (code, out, err) = cli(
        &ws,
        &[
            "browse",
            "--type",
            "opcua",
            "--timeout",
            "20",
            "--settings",
            &settings,
            "--node",
            "ns=2;s=Plant",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Plant.Double"), "{out}");
    // A connector whose state folder holds the certificate an earlier release made for it
    // keeps it (its URI is the connector's), so a server that trusts it goes on doing so.
    let legacy = ws.data().join("connectors/legacy");
    fs::create_dir_all(legacy.join("own")).unwrap();
    fs::create_dir_all(legacy.join("private")).unwrap();
    openssl_certificate(
        &legacy.join("own/cert.der"),
        &legacy.join("private/private.pem"),
        "/CN=oibus-rs legacy",
        &[
            "subjectAltName=URI:urn:oibus-rs:legacy,DNS:localhost",
            "keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment",
            "extendedKeyUsage=clientAuth,serverAuth",
        ],
    );
    fs::copy(
        legacy.join("own/cert.der"),
        server_trusts.join("legacy.der"),
    )
    .unwrap();
    let south = |id: &str| {
        format!(
            "[[south]]\nid = \"{id}\"\ntype = \"opcua\"\nquery = \"last-point\"\nsettings = {{ url = \"{}\", security_mode = \"sign-and-encrypt\", security_policy = \"basic256sha256\", authentication = {{ type = \"username\", username = \"{user}\", password = \"{password}\" }} }}\nitems = [ {} ]\n",
            server.url(),
            item(&format!("{id}-double"), "ns=2;s=Plant.Double")
        )
    };
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n{}{}{RECORDING_NORTH}",
        south("ua"),
        south("legacy")
    ));
    let mut engine = ws.start();
    engine.wait_until("values of both", Duration::from_secs(60), |_| {
        let got = by_point(&ws);
        got.contains_key("ua-double") && got.contains_key("legacy-double")
    });
    engine.stop();
    // One certificate, made once.
    assert_eq!(fs::read(&own).unwrap(), made);
    assert_eq!(
        fs::read_dir(server_trusts.join("rejected")).map_or(0, |d| d.count()),
        1
    );
}

/// The value of a node, read by asyncua's own client (not by the gateway).
fn read_back(server: &OpcuaServer, node: &str) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import asyncio\nfrom asyncua import Client\nasync def m():\n    async with Client('{}') as c:\n        print(await c.get_node('{node}').read_value())\nasyncio.run(m())",
            server.url()
        ))
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_north_writes_values_converted_to_each_node_and_sets_apart_those_that_do_not_fit() {
    let server = OpcuaServer::start(&[]);
    let ws = Workspace::new(&["oibus_opcua", "oibus_test_probe", "oibus_south_simulator"]);
    ws.config(&format!(
        r#"{FAST_RECONNECT}
# Numbered integers on points "Int32#0" and "Nowhere#0" (the probe's first run), the second
# without a node.
[[south]]
id = "numbers"
type = "probe-south"
settings = {{ batch_size = 5, interval_ms = 200, batches = 10, ack_file = "{{ws}}/acks" }}
items = [{{ name = "Int32", scan_mode = "subscription" }}, {{ name = "Nowhere", scan_mode = "subscription" }}]

# A ramp of fractional values on point "Int16": they do not fit the node's type. On "Double": they do.
[[south]]
id = "ramp"
type = "simulator"
settings = {{ sample_interval_ms = 200 }}
items = [
  {{ name = "Int16", scan_mode = "subscription", settings = {{ signal = {{ type = "ramp", min = 0.25, max = 9.75, period_s = 7 }} }} }},
  {{ name = "Double", scan_mode = "subscription", settings = {{ signal = {{ type = "ramp", min = 0.25, max = 9.75, period_s = 7 }} }} }},
  # Float 0.0 on point "Bool", a Boolean node (true at the start): false, as 0 and 1 are.
  {{ name = "Bool", scan_mode = "subscription", settings = {{ signal = {{ type = "ramp", min = 0.0, max = 0.0, period_s = 7 }} }} }},
]

[[north]]
id = "plc"
type = "opcua-north"
settings = {{ url = "{}", node_id_template = "ns=2;s=Plant.{{pointId}}", nodes = {{ "Int32#0" = "ns=2;s=Plant.Int32", "Double" = "ns=2;s=Plant.Double" }} }}
caching = {{ send_interval = "100ms", retry_interval = "100ms" }}
"#,
        server.url()
    ));
    let mut engine = ws.start();
    engine.wait_until(
        "the numbers written and the misfits set apart",
        Duration::from_secs(60),
        |e| {
            e.connector("plc").is_some_and(|c| {
                c["counters"]["values_sent"].as_u64() >= Some(40)
                    && c["cache"]["error_values"].as_u64() >= Some(5)
            })
        },
    );
    let log = engine.log();
    engine.stop();
    // Read back by another client: the last numbered value, and a ramp value.
    let last: i64 = read_back(&server, "ns=2;s=Plant.Int32").parse().unwrap();
    assert!(last > 0, "{last}");
    let double: f64 = read_back(&server, "ns=2;s=Plant.Double").parse().unwrap();
    assert!((0.25..=9.75).contains(&double) && double != 2.5, "{double}");
    // The Int16 node kept its value: nothing that did not fit was written.
    assert_eq!(read_back(&server, "ns=2;s=Plant.Int16"), "-16");
    assert_eq!(read_back(&server, "ns=2;s=Plant.Bool"), "False");
    assert!(!log.contains("is not a Boolean"), "{log}");
    // The misfits of a group are said in one line (not once per half of the group cut to
    // find them).
    let said: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains(" DEBUG ") && l.contains("not an integer"))
        .collect();
    assert!(
        !said.is_empty()
            && said
                .iter()
                .all(|l| l.contains("values refused by the destination, moved to the error store")),
        "{said:#?}"
    );
    // The misfits are in the error store, each with a reason naming it.
    let text = log;
    for says in [
        "point \"Int16\"",
        "not an integer",
        "point \"Nowhere#0\"",
        "BadNodeIdUnknown",
    ] {
        assert!(text.contains(says), "{says:?} in {text}");
    }
}

#[test]
fn a_read_larger_than_the_server_takes_is_split_until_it_fits() {
    // The server advertises 10,000 nodes per Read, but takes requests of 64 KiB at most, as
    // servers with small buffers do: a Read of 3,000 string ids is over that.
    let server = OpcuaServer::start(&["--many", "3000", "--max-message-size", "65536"]);
    let ws = Workspace::new(PLUGINS);
    let items: Vec<String> = (0..3000)
        .map(|i| item(&format!("m{i}"), &format!("ns=2;s=Plant.Many.{i}")))
        .collect();
    // Three Reads at a time: those refused go back, cut to the size that fits.
    ws.config(&config(
        &format!(r#"url = "{}", max_parallel_reads = 3"#, server.url()),
        &items,
    ));
    let mut engine = ws.start();
    engine.wait_until("two full scans", Duration::from_secs(120), |_| {
        recorded_values(&ws.path("received")).len() >= 6000
    });
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("refused a Read of 3000 nodes")
            || log.contains("closed the connection during a Read of 3000 nodes"),
        "{log}"
    );
    assert_eq!(by_point(&ws).len(), 3000);
}

#[test]
fn a_write_larger_than_the_server_takes_is_split_until_it_fits() {
    // 3,000 values a second in one batch, to a server that takes requests of 64 KiB at most: a
    // Write of them all is over that.
    let server = OpcuaServer::start(&["--many", "3000", "--max-message-size", "65536"]);
    let ws = Workspace::new(&["oibus_opcua", "oibus_south_simulator"]);
    let items: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{ name = "{i}", scan_mode = "every-second", settings = {{ signal = {{ type = "ramp", min = 0.25, max = 0.75, period_s = 60 }} }} }}"#
            )
        })
        .collect();
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n[[south]]\nid = \"sim\"\ntype = \"simulator\"\nquery = \"last-point\"\nitems = [\n  {}\n]\n\n[[north]]\nid = \"plc\"\ntype = \"opcua-north\"\nsettings = {{ url = \"{}\", node_id_template = \"ns=2;s=Plant.Many.{{pointId}}\" }}\ncaching = {{ send_interval = \"2s\" }}\n",
        items.join(",\n  "),
        server.url()
    ));
    let mut engine = ws.start();
    engine.wait_until("two scans written", Duration::from_secs(120), |e| {
        e.counter("plc", "values_sent") >= 6000
    });
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("refused a Write of")
            || log.contains("closed the connection during a Write of"),
        "{log}"
    );
    // Written, by the look of another client: the ramp's values, not the nodes' first ones.
    for node in ["ns=2;s=Plant.Many.0", "ns=2;s=Plant.Many.2999"] {
        let v: f64 = read_back(&server, node).parse().unwrap();
        assert!((0.25..=0.75).contains(&v), "{node}: {v}");
    }
}

#[test]
fn an_item_test_reads_as_the_items_scan_mode_and_settings_say() {
    let server = OpcuaServer::start(&["--history", "100"]);
    let settings = format!(
        r#"{{"url": "{}", "publishing_interval_ms": 100}}"#,
        server.url()
    );
    let test =
        |item: &str| oibus_tests::test_item("oibus_opcua", "opcua", &settings, item, &["--json"]);
    // A subscription item: monitored until the server publishes; the counter's values.
    let (code, out, err) = test(
        r#"{"name": "counter", "scan_mode": "subscription", "settings": {"node_id": "ns=2;i=1001", "sampling_interval_ms": 50}}"#,
    );
    assert_eq!(code, Some(0), "{err}");
    let values: Vec<OibusValue> =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(
        !values.is_empty() && values.iter().all(|v| matches!(v.value, DataValue::Int(_))),
        "{out}"
    );
    // A node the server cannot monitor: its refusal, named.
    let (code, _, err) = test(
        r#"{"name": "nope", "scan_mode": "subscription", "settings": {"node_id": "ns=2;s=Plant.Nope"}}"#,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("\"nope\"") && err.contains("cannot be monitored: BadNodeIdUnknown"),
        "{err}"
    );
    // An aggregate: a processed history read, which asyncua does not compute: named as such.
    let (code, _, err) = test(
        r#"{"name": "avg", "settings": {"node_id": "ns=2;s=Plant.History", "aggregate": "average", "resampling_interval_ms": 10000}}"#,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("BadNotImplemented") && err.contains("aggregate = \"raw\""),
        "{err}"
    );
    // Any other item: read once.
    let (code, out, err) =
        test(r#"{"name": "double", "settings": {"node_id": "ns=2;s=Plant.Double"}}"#);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("2.5"), "{out}");
}

/// Items `{name}0`… of scan mode `subscription` on nodes `ns=2;s={nodes}.0`…, with `more` item
/// settings (TOML, after a comma).
fn subscribed(n: usize, name: &str, nodes: &str, more: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{ name = "{name}{i}", scan_mode = "subscription", settings = {{ node_id = "ns=2;s={nodes}.{i}"{more} }} }}"#
            )
        })
        .collect()
}

#[test]
fn two_thousand_items_are_subscribed_in_requests_the_server_takes() {
    // Creating 2,000 monitored items in one request is over the 64 KiB this server takes.
    let server = OpcuaServer::start(&["--many", "2000", "--max-message-size", "65536"]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        &format!(r#"url = "{}", publishing_interval_ms = 100"#, server.url()),
        &subscribed(2000, "m", "Plant.Many", ""),
    ));
    let mut engine = ws.start();
    // Every new monitored item reports its current value.
    engine.wait_until("a value of each", Duration::from_secs(90), |_| {
        by_point(&ws).len() == 2000
    });
    engine.stop();
    let got = by_point(&ws);
    for i in [0, 999, 1999] {
        assert_eq!(got[&format!("m{i}")][0].value, DataValue::Float(i as f64));
    }
}

#[test]
fn a_history_page_larger_than_the_server_sends_is_asked_smaller() {
    // 20,000 values; a page of more than 4,000 is refused as too large.
    let server = OpcuaServer::start(&[
        "--history",
        "20000",
        "--page",
        "10000",
        "--refuse-pages-over",
        "4000",
    ]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n[[south]]\nid = \"raw\"\ntype = \"opcua\"\nquery = \"history\"\nsettings = {{ url = \"{}\", history_values_per_read = 10000 }}\nhistory = {{ start = \"6h\", max_read_interval = \"12h\", read_delay = \"0s\" }}\nitems = [{{ name = \"hist\", scan_mode = \"every-second\", settings = {{ node_id = \"ns=2;s=Plant.History\" }} }}]\n{RECORDING_NORTH}",
        server.url()
    ));
    let mut engine = ws.start();
    engine.wait_until("the 20,000 values", Duration::from_secs(120), |_| {
        let got: std::collections::BTreeSet<i64> = by_point(&ws)
            .get("hist")
            .map(|v| {
                v.iter()
                    .filter_map(|v| match v.value {
                        DataValue::Float(f) => Some(f as i64),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        (0..20000).all(|i| got.contains(&i))
    });
    let log = engine.log();
    engine.stop();
    assert!(
        log.contains("refused a history page of 10000 values")
            && log.contains("refused a history page of 5000 values")
            && log.contains("asking 2500 at a time"),
        "{log}"
    );
    // Refused pages sent nothing: each value once (the initial 0 the server stored at its
    // start aside).
    let count = by_point(&ws)["hist"].len();
    assert!((20000..=20001).contains(&count), "{count}");
}

#[test]
fn a_publication_of_tens_of_thousands_of_changes_is_received_whole() {
    // 2,000 nodes written every 100 ms, published every 2 s: some 40,000 changes a publication,
    // beyond the OPC UA library's default limits (1,000 elements an array).
    let server = OpcuaServer::start(&["--changing", "2000"]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&config(
        &format!(r#"url = "{}", publishing_interval_ms = 2000"#, server.url()),
        &subscribed(
            2000,
            "c",
            "Plant.Changing",
            ", sampling_interval_ms = 100, queue_size = 50",
        ),
    ));
    let mut engine = ws.start();
    engine.wait_until("three publications", Duration::from_secs(90), |e| {
        e.counter("ua", "values_in") >= 2000 * 40
    });
    let connects = engine.counter("ua", "connects");
    engine.stop();
    assert_eq!(connects, 1, "the connection never broke");
    // Each item's values in order, none lost between its first and last.
    for (name, values) in by_point(&ws) {
        let rounds: Vec<f64> = values
            .iter()
            .map(|v| match v.value {
                DataValue::Float(f) => f,
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            rounds.windows(2).all(|w| w[1] == w[0] + 1.0),
            "{name}: {rounds:?}"
        );
    }
}

#[test]
fn history_a_server_stores_late_is_read_whole_and_once_across_a_restart() {
    // A historian that stores each value 1.5 s after the instant it carries: a window ending at
    // "now" cannot see its last 1.5 s. The default overlap reads them with the next run; what
    // the re-read finds already sent is skipped.
    let server = OpcuaServer::start(&["--late-history", "1500"]);
    let ws = Workspace::new(PLUGINS);
    ws.config(&format!(
        "{FAST_RECONNECT}{EVERY_SECOND}\n[[south]]\nid = \"ua\"\ntype = \"opcua\"\nquery = \"history\"\nsettings = {{ url = \"{}\" }}\nhistory = {{ start = \"1h\", read_delay = \"0s\" }}\nitems = [{{ name = \"late\", scan_mode = \"every-second\", settings = {{ node_id = \"ns=2;s=Plant.Late\" }} }}]\n{RECORDING_NORTH}",
        server.url()
    ));
    let received = || by_point(&ws).get("late").map_or(0, Vec::len);
    for run in 0..2 {
        let before = received();
        let mut engine = ws.start();
        engine.wait_until(
            &format!("run {run}: 40 more values, and values read again in the overlap skipped"),
            Duration::from_secs(30),
            |e| received() >= before + 40 && e.counter("ua", "history_repeats_skipped") > 0,
        );
        engine.stop();
    }
    let got: Vec<i64> = by_point(&ws)["late"]
        .iter()
        .map(|v| match v.value {
            DataValue::Float(f) => f as i64,
            ref other => panic!("{other:?}"),
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), got.len(), "values sent twice: {got:?}");
    let expected: Vec<i64> = (0..sorted.len() as i64).collect();
    assert_eq!(sorted, expected, "values missing");
}

#[test]
fn a_server_certificate_is_checked_against_every_alternative_name_whatever_their_order() {
    let read = |ws: &Workspace, url: &str| read_double(ws, url, "basic256sha256", "sign");
    let trust = |ws: &Workspace, server: &OpcuaServer| {
        let (code, _, err) = read(ws, &server.url());
        assert_eq!(code, 1, "{err}");
        move_to_trusted(&err);
    };
    // The URI first (as asyncua makes it), then last (as open62541 and others do): read through
    // the address and through the name, both in the certificate.
    for names in [
        "uri,dns:localhost,ip:127.0.0.1",
        "dns:localhost,ip:127.0.0.1,uri",
    ] {
        let server = OpcuaServer::start(&["--secure", "--cert-names", names]);
        let ws = Workspace::new(&["oibus_opcua"]);
        trust(&ws, &server);
        for url in [server.url(), server.url().replace("127.0.0.1", "localhost")] {
            let (code, out, err) = read(&ws, &url);
            assert_eq!(code, 0, "{names} {url}: {err}");
            assert!(out.contains("2.5"), "{out}");
        }
    }
    // Refused for good, naming what is missing and what the certificate has: no URI at all,
    // and a host the certificate does not name.
    for (names, says, found) in [
        (
            "dns:localhost,ip:127.0.0.1",
            "does not carry the server's application URI \"urn:oibus:test:opcua-server\"",
            "it names DNS localhost, IP 127.0.0.1",
        ),
        (
            "uri,dns:plc.example",
            "does not name the host \"127.0.0.1\" of the url",
            "it names DNS plc.example, URI urn:oibus:test:opcua-server",
        ),
    ] {
        let server = OpcuaServer::start(&["--secure", "--cert-names", names]);
        let ws = Workspace::new(&["oibus_opcua"]);
        let (code, _, err) = read(&ws, &server.url());
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(says) && err.contains(found) && err.contains("(invalid-settings)"),
            "{err}"
        );
    }
}

#[test]
fn a_server_that_is_down_or_lacks_the_endpoint_asked_is_named_in_words() {
    let ws = Workspace::new(&["oibus_opcua"]);
    let port = oibus_tests::servers::free_port();
    let (code, err) = oibus_tests::test_connection(
        "oibus_opcua",
        "opcua",
        &format!(r#"{{"url": "opc.tcp://127.0.0.1:{port}/nothing", "request_timeout_ms": 2000}}"#),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot connect: Connection refused")
            && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    // A server without security: asked to sign, it lists what it offers, and nothing else.
    let server = OpcuaServer::start(&[]);
    let (code, err) = oibus_tests::test_connection(
        "oibus_opcua",
        "opcua",
        &format!(
            r#"{{"url": "{}", "security_mode": "sign", "security_policy": "basic256sha256"}}"#,
            server.url()
        ),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "offers no endpoint with security_mode \"sign\" and security_policy \"basic256sha256\""
        ) && err.contains("it offers (security_mode/security_policy): none/none at opc.tcp://")
            && !err.contains("BadTcpEndpointUrlInvalid"),
        "{err}"
    );
    drop(ws);
}
