use super::*;
use crate::settings::*;
use crate::signal::Signal;

use oibus_plugin_api::sdk::testing::TestHost;

fn item(name: &str, signal: Signal) -> SouthItem<ItemSettings> {
    SouthItem {
        name: name.into(),
        enabled: true,
        scan_mode: "every-second".into(),
        settings: ItemSettings {
            signal,
            point_id: None,
        },
    }
}

fn settings(interval_ms: u64) -> SimulatorSettings {
    SimulatorSettings {
        seed: 7,
        sample_interval_ms: interval_ms,
        batch_size: 3,
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn history_is_exactly_reproducible_and_half_open() {
    let items = [
        item(
            "r",
            Signal::Random {
                min: 0.0,
                max: 10.0,
            },
        ),
        item(
            "s",
            Signal::Sine {
                amplitude: 2.0,
                period_s: 10.0,
                offset: 1.0,
            },
        ),
    ];
    let run = || async {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, rec) = TestHost::new(dir.path()).context("sim");
        let mut sim = Simulator::new(settings(1000), ctx).unwrap();
        let newest = sim
            .history_query(
                &items,
                ts("2024-01-01T00:00:00.5Z"),
                ts("2024-01-01T00:00:10Z"),
            )
            .await
            .unwrap();
        (newest, rec.values())
    };
    let (newest, a) = run().await;
    let (_, b) = run().await;
    assert_eq!(a, b);
    // Samples at 1 s .. 9 s (10 s excluded), two items each.
    assert_eq!(a.len(), 18);
    assert_eq!(a[0].timestamp, ts("2024-01-01T00:00:01Z"));
    assert_eq!(newest, Some(ts("2024-01-01T00:00:09Z")));
    for v in &a {
        if v.point_id.as_str() == "r" {
            let DataValue::Float(x) = v.value else {
                panic!("not a float")
            };
            assert!((0.0..10.0).contains(&x));
        }
    }
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn empty_range_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, rec) = TestHost::new(dir.path()).context("sim");
    let mut sim = Simulator::new(settings(1000), ctx).unwrap();
    let items = [item(
        "x",
        Signal::Ramp {
            min: 0.0,
            max: 1.0,
            period_s: 1.0,
        },
    )];
    let t = ts("2024-01-01T00:00:00.1Z");
    assert_eq!(sim.history_query(&items, t, t).await.unwrap(), None);
    assert!(rec.values().is_empty());
}

#[test]
fn ramp_and_sine_have_their_shape() {
    let ramp = Signal::Ramp {
        min: 0.0,
        max: 100.0,
        period_s: 10.0,
    };
    assert_eq!(ramp.at(0, "x", ts("2024-01-01T00:00:05Z")), 50.0);
    let sine = Signal::Sine {
        amplitude: 2.0,
        period_s: 4.0,
        offset: 1.0,
    };
    let v = sine.at(0, "x", Timestamp::from_millis(1000));
    assert!((v - 3.0).abs() < 1e-9, "{v}");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn last_point_uses_point_id_override() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, rec) = TestHost::new(dir.path()).context("sim");
    let mut sim = Simulator::new(settings(1000), ctx).unwrap();
    let mut it = item("x", Signal::Random { min: 0.0, max: 1.0 });
    it.settings.point_id = Some("plant.x".into());
    sim.last_point_query(&[it]).await.unwrap();
    assert_eq!(rec.values()[0].point_id.as_str(), "plant.x");
}

#[test]
fn item_schema_rejects_unknown_signal() {
    let r: std::result::Result<ItemSettings, _> =
        oibus_plugin_api::serde_json::from_str(r#"{"signal":{"type":"square"}}"#);
    assert!(r.is_err());
}
