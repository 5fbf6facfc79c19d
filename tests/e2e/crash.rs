//! Crash safety: the engine killed with SIGKILL at arbitrary moments while values flow, and
//! restarted each time. Every value whose `add_values` completed (the South journals each
//! acknowledgement) must reach the North; duplicates are allowed and counted.

use oibus_tests::process::{Workspace, check_acknowledged};
use std::{
    fs,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const CONFIG: &str = r#"
[engine]
reconnect = { min = "50ms", max = "500ms" }

[[south]]
id = "src"
type = "probe-south"
enabled = {enabled}
settings = { batch_size = 50, interval_ms = 2, ack_file = "{ws}/acks" }
[[south.items]]
name = "a"
scan_mode = "subscription"
[[south.items]]
name = "b"
scan_mode = "subscription"

[[north]]
id = "dst"
type = "probe-north"
settings = { record_file = "{ws}/received" }
caching = { group_count = 200, max_send_count = 1000, send_interval = "20ms" }
"#;

/// A pseudo-random delay in `[min, min + spread)` milliseconds, different at each call.
fn random_ms(min: u64, spread: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = u64::from(nanos).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
    Duration::from_millis(min + mixed % spread)
}

#[test]
fn nothing_acknowledged_is_lost_across_kill_9() {
    let ws = Workspace::new(&["oibus_test_probe"]);
    let config = |south: bool| ws.config(&CONFIG.replace("{enabled}", &south.to_string()));
    config(true);
    // More kills for a measurement: OIBUS_CRASH_KILLS=20 (BENCHMARKS.md, duplicates per kill).
    let kills: usize = std::env::var("OIBUS_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(6);
    for round in 0..kills {
        let mut engine = ws.start();
        let acked_before = fs::read_to_string(ws.path("acks"))
            .unwrap_or_default()
            .len();
        engine.wait_until("values flowing", Duration::from_secs(30), |_| {
            fs::read_to_string(ws.path("acks"))
                .unwrap_or_default()
                .len()
                > acked_before
        });
        std::thread::sleep(random_ms(100, 900));
        eprintln!("round {round}: kill -9");
        engine.kill();
    }
    // Last run without the South: the North sends everything still cached.
    config(false);
    ws.drain("dst");
    let d = check_acknowledged(&ws.path("acks"), &ws.path("received"));
    eprintln!(
        "{d:?}: {kills} kills, {:.0} duplicates per kill",
        d.duplicates as f64 / kills as f64
    );
    assert!(
        d.acknowledged > 1000,
        "enough values flowed to mean something: {d:?}"
    );
    // A crash resends at most the group in flight (max_send_count = 1000): the marks of what
    // was sent are durable with the next group commit.
    assert!(d.duplicates <= kills * 1000, "{d:?}");
}
