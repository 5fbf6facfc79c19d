//! Unit tests of the `opcua` connector.

use crate::south::split;

#[test]
fn a_range_is_split_into_consecutive_parts_of_at_most_the_size() {
    let parts: Vec<_> = split(3..10, 3).collect();
    assert_eq!(parts, [3..6, 6..9, 9..10]);
    assert_eq!(split(0..0, 5).count(), 0);
    assert_eq!(split(0..2, 0).collect::<Vec<_>>(), [0..1, 1..2]);
}
