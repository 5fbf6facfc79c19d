//! Unit tests of the `north-mqtt` connector.

use crate::north::*;

#[test]
fn topics_never_carry_wildcards() {
    assert_eq!(
        topic_of("plant/{pointId}", "line#1/speed+"),
        "plant/line_1/speed_"
    );
}
