//! Scan modes: six-field cron schedules (with seconds).

use chrono::{DateTime, Utc};
use croner::{
    Cron,
    parser::{CronParser, Seconds},
};

/// Parses a six-field cron (`sec min hour day-of-month month day-of-week`).
pub fn parse_cron(pattern: &str) -> Result<Cron, String> {
    if pattern.split_whitespace().count() != 6 {
        return Err(format!(
            "{pattern:?} is not a six-field cron: write `sec min hour day month weekday`, for example \"*/10 * * * * *\""
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid cron {pattern:?}: {e}"))
}

/// The next occurrence strictly after `after`.
pub fn next_after(cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_fields_with_seconds() {
        let c = parse_cron("*/10 * * * * *").unwrap();
        let t: DateTime<Utc> = "2024-01-01T00:00:03Z".parse().unwrap();
        assert_eq!(
            next_after(&c, t).unwrap(),
            "2024-01-01T00:00:10Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_cron("* * * * *").unwrap_err().contains("six-field"));
        assert!(parse_cron("61 * * * * *").is_err());
    }
}
