//! Unit tests of the `north-nats` connector.

use crate::north::subject_of;

#[test]
fn subjects_are_single_tokens() {
    assert_eq!(
        subject_of("oibus.values.{pointId}", "line 1.speed>*"),
        "oibus.values.line_1_speed__"
    );
}
