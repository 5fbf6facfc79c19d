//! NATS JetStream throughput: `cargo bench -p oibus-benches --bench nats`.
//!
//! An engine in this process: a probe South emits batches as fast as accepted → `north-nats`
//! publishes one message per value and waits for JetStream's acknowledgement of each → nats-server
//! (file store). Measured: values/s stored over 10 s after 3 s of warm-up.

use oibus_benches::InProcess;
use oibus_core::engine;
use oibus_tests::servers::NatsServer;
use std::time::Duration;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = NatsServer::start(None);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (data, plugins) = (dir.path().join("data"), dir.path().join("plugins"));
    std::fs::create_dir_all(&plugins).unwrap();
    for p in ["oibus_test_probe", "oibus_north_nats"] {
        oibus_tests::copy_plugin(p, &plugins);
    }
    let text = format!(
        r#"
[engine]
log_level = "warn"
[[south]]
id = "src"
type = "probe-south"
settings = {{ batch_size = 500, interval_ms = 0 }}
items = [{{ name = "a", scan_mode = "subscription" }}, {{ name = "b", scan_mode = "subscription" }}]
[[north]]
id = "js"
type = "nats-north"
settings = {{ server = "127.0.0.1:{port}", stream = "BENCH", create_stream = true, stream_subjects = ["oibus.>"] }}
caching = {{ group_count = 5000, max_send_count = 10000, send_interval = "20ms", max_size = "64MiB" }}
"#,
        port = server.port
    );
    let engine = InProcess::start(&text, &data, plugins, Vec::new());
    std::thread::sleep(Duration::from_secs(3));
    let (t0, sent0) = oibus_tests::values_sent_at(&data, "js");
    std::thread::sleep(Duration::from_secs(10));
    let (t1, sent1) = oibus_tests::values_sent_at(&data, "js");
    if sent1 == sent0 {
        let snap = engine::read_status(&data).unwrap();
        for c in &snap.connectors {
            eprintln!("{}: {:?} {:?}", c.id, c.state, c.last_error);
        }
    }
    engine.stop();
    println!("| path                                                   | values/s |");
    println!("|--------------------------------------------------------|---------:|");
    println!(
        "| north-nats → nats-server JetStream (each acknowledged)  | {:>8.0} |",
        (sent1 - sent0) as f64 / (t1 - t0)
    );
}
