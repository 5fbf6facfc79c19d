//! MQTT ingest beside the broker's own ceiling: `cargo bench -p oibus-benches --bench mqtt_ingest`.
//!
//! The same fast publisher (a rumqttc client with 1,000 QoS 1 messages in flight) sends
//! 200,000 QoS 1 messages, `{"v":<n>}` on `ingest/x`, through mosquitto (a fresh broker each run,
//! `max_inflight_messages 1000`) to one of two subscribers, alternating, 3 runs each:
//!
//! * **bare**: `mosquitto_sub -q 1 -C 200000`, which acknowledges each message on receipt and
//!   stores nothing: what the broker can deliver on this machine;
//! * **gateway**: `south-mqtt` in an engine (persistent session, each message acknowledged only
//!   once its value is durably in the cache) → `probe-north`, which writes every value down.
//!
//! Time runs from the first publish to the last message received: `mosquitto_sub`'s exit, or the
//! 200,000th value written by the North (end to end, after the cache). Every value 0‥199,999
//! must reach the North, or the run fails.

use oibus_benches::{InProcess, Scratch};
use oibus_tests::servers::Mosquitto;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::{
    fs,
    io::{Read as _, Seek as _},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const MESSAGES: u64 = 200_000;
const ROUNDS: usize = 3;
const LIMIT: Duration = Duration::from_secs(120);

/// Publishes the messages at QoS 1 from a thread of its own; returns when the broker
/// acknowledged all of them.
fn publish(port: u16) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let mut options = MqttOptions::new("bench-publisher", "127.0.0.1", port);
            options.set_inflight(1000);
            options.set_keep_alive(Duration::from_secs(30));
            let (client, mut events) = AsyncClient::new(options, 1000);
            tokio::spawn(async move {
                for n in 0..MESSAGES {
                    let payload = format!("{{\"v\":{n}}}");
                    if client
                        .publish("ingest/x", QoS::AtLeastOnce, false, payload)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let mut acked = 0;
            while acked < MESSAGES {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                    Ok(_) => {}
                    Err(e) => panic!("publisher: {e}"),
                }
            }
        });
    })
}

/// One run with `mosquitto_sub`: seconds.
fn bare() -> f64 {
    let broker = Mosquitto::start(None);
    let mut sub = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-q", "1", "-i", "bare", "-t", "ingest/#", "-C"])
        .arg(MESSAGES.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("mosquitto_sub (scripts/test installs mosquitto-clients)");
    std::thread::sleep(Duration::from_millis(500));
    let began = Instant::now();
    let publisher = publish(broker.port);
    loop {
        if let Some(status) = sub.try_wait().expect("mosquitto_sub") {
            assert!(status.success(), "mosquitto_sub: {status}");
            break;
        }
        assert!(
            began.elapsed() < LIMIT,
            "mosquitto_sub did not get them all"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = began.elapsed().as_secs_f64();
    publisher.join().expect("the publisher");
    elapsed
}

/// Newlines in the bytes of `file` from `*offset` on; moves the offset.
fn new_lines(file: &Path, offset: &mut u64) -> u64 {
    let Ok(mut f) = fs::File::open(file) else {
        return 0;
    };
    if f.seek(std::io::SeekFrom::Start(*offset)).is_err() {
        return 0;
    }
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    *offset += bytes.len() as u64;
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Checks that every published number is in the North's record.
fn check_complete(record: &Path) {
    let text = fs::read_to_string(record).expect("the North's record");
    let mut seen = vec![false; MESSAGES as usize];
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a recorded value");
        let n = v["data"]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("no number in {line}"));
        seen[n as usize] = true;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    assert_eq!(
        missing, 0,
        "{missing} of {MESSAGES} values never reached the North"
    );
}

/// One run through the gateway: seconds, and the values written down (duplicates included).
fn gateway() -> (f64, u64) {
    let broker = Mosquitto::start(None);
    let scratch = Scratch::new(
        env!("CARGO_TARGET_TMPDIR"),
        &["oibus_south_mqtt", "oibus_test_probe"],
    );
    let record = scratch.path("record");
    let config = format!(
        r#"
[engine]
log_level = "warn"
[[south]]
id = "sub"
type = "mqtt-south"
settings = {{ broker = {{ host = "127.0.0.1", port = {port}, client_id = "gateway" }} }}
items = [{{ name = "x", scan_mode = "subscription", settings = {{ topic = "ingest/#", payload = {{ format = "json", value_path = "/v" }} }} }}]
[[north]]
id = "rec"
type = "probe-north"
settings = {{ record_file = {record:?} }}
caching = {{ send_interval = "20ms" }}
"#,
        port = broker.port
    );
    let engine = InProcess::start(&config, &scratch.data, scratch.plugins.clone(), Vec::new());
    // Connected and subscribed: the engine writes its first status once everything started.
    let waited = Instant::now();
    while oibus_engine::engine::read_status(&scratch.data).is_err() {
        assert!(waited.elapsed() < LIMIT, "the engine did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let began = Instant::now();
    let publisher = publish(broker.port);
    let (mut offset, mut lines) = (0, 0);
    while lines < MESSAGES {
        assert!(
            began.elapsed() < LIMIT,
            "{lines} of {MESSAGES} values reached the North"
        );
        std::thread::sleep(Duration::from_millis(1));
        lines += new_lines(&record, &mut offset);
    }
    let elapsed = began.elapsed().as_secs_f64();
    publisher.join().expect("the publisher");
    engine.stop();
    check_complete(&record);
    (elapsed, lines)
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    oibus_tests::build();
    println!(
        "{MESSAGES} QoS 1 messages from one publisher (1,000 in flight) through mosquitto; \
         {ROUNDS} runs of each subscriber, alternating, a fresh broker each run"
    );
    let (mut bare_rates, mut gateway_rates) = (Vec::new(), Vec::new());
    let only_gateway = std::env::var("OIBUS_BENCH_GATEWAY_ONLY").is_ok();
    let mut duplicates = 0;
    for _ in 0..ROUNDS {
        if !only_gateway {
            bare_rates.push(MESSAGES as f64 / bare());
        }
        let (secs, lines) = gateway();
        gateway_rates.push(MESSAGES as f64 / secs);
        duplicates += lines - MESSAGES;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let runs = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("| subscriber | messages/s (median) | runs |");
    println!("|---|---:|---|");
    let (b, g) = (median(&mut bare_rates), median(&mut gateway_rates));
    println!(
        "| mosquitto_sub, acknowledged on receipt, nothing stored | {b:.0} | {} |",
        runs(&bare_rates)
    );
    println!(
        "| south-mqtt, acknowledged once durably cached, → probe-north | {g:.0} | {} |",
        runs(&gateway_rates)
    );
    println!(
        "gateway / bare: {:.2}; every value reached the North in every run ({duplicates} delivered twice)",
        g / b
    );
}
