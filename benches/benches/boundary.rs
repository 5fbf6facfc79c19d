//! Cost of one call across the plugin boundary: `cargo bench -p oibus-benches --bench boundary`.
//!
//! * synchronous, plugin → host: `Context::connector_id` (a vtable call returning a string),
//!   called in a loop inside the plugin;
//! * asynchronous, host → plugin: `handle_values` with an empty batch, awaited by the engine's
//!   `Connector` handle (time-out, hop onto the plugin's runtime and back).

use oibus_plugin_api::Item;
use oibus_tests::{AcceptAll, standalone_connector};
use serde_json::json;
use std::{sync::Arc, time::Instant};

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let oibus_tests::Unchecked {
        registry, cache, ..
    } = oibus_tests::unchecked_plugins(&["oibus_test_bench"]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let create = |id: &str, type_id: &str| {
            standalone_connector(
                &registry,
                (id, type_id),
                &json!({}),
                cache.path().join(id),
                Arc::new(AcceptAll),
            )
        };
        let north = create("north", "oibus-test-bench-north");
        let south = create("south", "oibus-test-bench-south");
        north.start().await.unwrap();
        south.start().await.unwrap();

        println!("| call                                   | calls      | ns/call |");
        println!("|----------------------------------------|-----------:|--------:|");
        const SYNC: u64 = 20_000_000;
        let item: Item = serde_json::from_value(
            json!({"name": "i", "scanMode": "bench", "settings": {"sync_calls": SYNC}}),
        )
        .unwrap();
        south.last_point_query(vec![item.clone()]).await.unwrap(); // warm-up
        let began = Instant::now();
        south.last_point_query(vec![item]).await.unwrap();
        let ns = began.elapsed().as_nanos() as f64 / SYNC as f64;
        println!("| sync, plugin → host (connector_id)     | {SYNC:>10} | {ns:>7.1} |");

        const ASYNC: u64 = 200_000;
        for _ in 0..1000 {
            north.handle_values(Vec::new()).await.unwrap();
        }
        let began = Instant::now();
        for _ in 0..ASYNC {
            north.handle_values(Vec::new()).await.unwrap();
        }
        let ns = began.elapsed().as_nanos() as f64 / ASYNC as f64;
        println!("| async, host → plugin (handle_values)   | {ASYNC:>10} | {ns:>7.1} |");
    });
}
