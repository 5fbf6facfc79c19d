//! NATS JetStream throughput: `cargo bench -p oibus-benches --bench nats`.
//!
//! An engine in this process: a probe South emits batches as fast as accepted → `north-nats`
//! publishes one message per value and waits for JetStream's acknowledgement of each → nats-server
//! (file store). Measured: values/s stored over 10 s after 3 s of warm-up.

use oibus_benches::{FLOODING_SOURCE, InProcess, Scratch};
use oibus_engine::engine;
use oibus_tests::servers::NatsServer;
use std::time::Duration;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let server = NatsServer::start(None);
    let scratch = Scratch::new(
        env!("CARGO_TARGET_TMPDIR"),
        &["oibus_test_probe", "oibus_north_nats"],
    );
    let data = scratch.data.clone();
    let text = format!(
        r#"{FLOODING_SOURCE}
[[north]]
id = "js"
type = "nats-north"
settings = {{ server = "127.0.0.1:{port}", stream = "BENCH", create_stream = true, stream_subjects = ["oibus.>"] }}
caching = {{ group_count = 5000, max_send_count = 10000, send_interval = "20ms", max_size = "64MiB" }}
"#,
        port = server.port
    );
    let engine = InProcess::start(&text, &data, scratch.plugins.clone(), Vec::new());
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
