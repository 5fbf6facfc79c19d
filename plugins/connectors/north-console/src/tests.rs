//! Unit tests of the `north-console` connector.

use crate::north::*;
use oibus_plugin_api::prelude::*;

#[test]
fn summary_names_count_span_and_first_value() {
    let values = vec![
        OibusValue::new("b", Timestamp::from_millis(2_000), 2.0),
        OibusValue::new("a", Timestamp::from_millis(1_000), 1.0),
    ];
    let s = summary("console", &values);
    assert!(
        s.starts_with("[console] 2 values from 1970-01-01T00:00:01Z to 1970-01-01T00:00:02Z"),
        "{s}"
    );
    assert!(s.contains(r#""pointId":"b""#), "{s}");
    assert_eq!(summary("c", &[]), "[c] 0 values");
}
