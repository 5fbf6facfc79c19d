//! What the history settings of a South mean: the first instant a South with no tracked instant
//! reads from.

use oibus_plugin_api::Timestamp;

/// The first instant read by a South that has no tracked instant: `spec` is an RFC 3339 instant
/// or a duration before `now` (`"1h"`, `"7d"`).
pub fn first_start(spec: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(spec) {
        return Ok(t);
    }
    humantime::parse_duration(spec)
        .map(|d| now - d)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_is_an_instant_or_a_duration_ago() {
        let now = Timestamp::parse("2024-01-02T00:00:00Z").unwrap();
        assert_eq!(
            first_start("1d", now).unwrap(),
            Timestamp::parse("2024-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            first_start("2023-05-01T00:00:00Z", now).unwrap(),
            Timestamp::parse("2023-05-01T00:00:00Z").unwrap()
        );
        assert!(first_start("yesterday", now).is_err());
    }
}
