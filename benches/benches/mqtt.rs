//! MQTT throughput against mosquitto: `cargo bench -p oibus-benches --bench mqtt`.
//!
//! An engine in this process: a probe South emits batches as fast as accepted → `north-mqtt`
//! publishes each value at QoS 1 and waits for the broker's acknowledgements → mosquitto →
//! `south-mqtt` (persistent session, manual acknowledgements after the values are cached) → a
//! probe North counts. Measured: values/s through each side over 10 s after 3 s of warm-up.

use oibus_benches::{FLOODING_SOURCE, InProcess, Scratch};
use oibus_tests::servers::Mosquitto;
use std::time::Duration;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let broker = Mosquitto::start(None);
    let scratch = Scratch::new(
        env!("CARGO_TARGET_TMPDIR"),
        &["oibus_test_probe", "oibus_north_mqtt", "oibus_south_mqtt"],
    );
    let data = scratch.data.clone();
    let text = format!(
        r#"{FLOODING_SOURCE}
[[north]]
id = "pub"
type = "mqtt-north"
subscriptions = ["src"]
settings = {{ broker = {{ host = "127.0.0.1", port = {port} }}, topic = "bench/{{pointId}}" }}
caching = {{ group_count = 2000, max_send_count = 5000, send_interval = "20ms", max_size = "64MiB" }}
[[south]]
id = "sub"
type = "mqtt-south"
settings = {{ broker = {{ host = "127.0.0.1", port = {port}, client_id = "bench-sub" }}, flush_size = 1000, flush_timeout_ms = 50 }}
items = [{{ name = "all", scan_mode = "subscription", settings = {{ topic = "bench/#", payload = {{ format = "json", value_path = "/data/value" }} }} }}]
[[north]]
id = "rec"
type = "probe-north"
subscriptions = ["sub"]
caching = {{ group_count = 2000, send_interval = "20ms" }}
"#,
        port = broker.port
    );
    let engine = InProcess::start(&text, &data, scratch.plugins.clone(), Vec::new());
    std::thread::sleep(Duration::from_secs(3));
    let (t0, pub0) = oibus_tests::values_sent_at(&data, "pub");
    let (_, rec0) = oibus_tests::values_sent_at(&data, "rec");
    std::thread::sleep(Duration::from_secs(10));
    let (t1, pub1) = oibus_tests::values_sent_at(&data, "pub");
    let (_, rec1) = oibus_tests::values_sent_at(&data, "rec");
    engine.stop();
    println!("| side                                             | values/s |");
    println!("|--------------------------------------------------|---------:|");
    println!(
        "| north-mqtt → mosquitto (QoS 1, acknowledged)      | {:>8.0} |",
        (pub1 - pub0) as f64 / (t1 - t0)
    );
    println!(
        "| mosquitto → south-mqtt → cache → probe North      | {:>8.0} |",
        (rec1 - rec0) as f64 / (t1 - t0)
    );
}
