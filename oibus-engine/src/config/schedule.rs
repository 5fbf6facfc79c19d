//! Scan modes: six-field cron schedules (with seconds), or fixed intervals (`every`).

use super::types::{MIN_EVERY, ScanModeConfig};
use chrono::{DateTime, Utc};
use croner::{
    Cron,
    parser::{CronParser, Seconds},
};
use std::time::Duration;

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

/// When a scan mode runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// At the occurrences of a cron.
    Cron(Box<Cron>),
    /// Every so long, from the mode's start.
    Every(Duration),
}

impl Schedule {
    /// The schedule of a scan mode, or what is wrong with it (naming the setting).
    pub fn of(mode: &ScanModeConfig) -> Result<Self, (&'static str, String)> {
        match (&mode.cron, &mode.every) {
            (Some(cron), None) => parse_cron(cron)
                .map(|c| Self::Cron(Box::new(c)))
                .map_err(|e| ("cron", e)),
            (None, Some(every)) if every.0 < MIN_EVERY => Err((
                "every",
                format!(
                    "{} is shorter than the shortest interval, {} ms",
                    humantime::format_duration(every.0),
                    MIN_EVERY.as_millis()
                ),
            )),
            (None, Some(every)) => Ok(Self::Every(every.0)),
            (Some(_), Some(_)) => Err(("every", "give either `cron` or `every`, not both".into())),
            (None, None) => Err((
                "cron",
                "missing: give `cron` (\"* * * * * *\") or `every` (\"100ms\")".into(),
            )),
        }
    }

    /// Its ticks, from now.
    pub fn ticker(&self) -> Ticker {
        match self {
            Self::Cron(c) => Ticker::Cron(c.clone()),
            Self::Every(period) => {
                let mut interval =
                    tokio::time::interval_at(tokio::time::Instant::now() + *period, *period);
                // A late tick is not made up for by a burst: the next ones keep their instants.
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                Ticker::Every(interval)
            }
        }
    }
}

/// The ticks of a [`Schedule`].
pub enum Ticker {
    /// Sleeps until the cron's next occurrence.
    Cron(Box<Cron>),
    /// A tokio interval (anchored at its start: no drift).
    Every(tokio::time::Interval),
}

impl Ticker {
    /// Waits for the next tick; `None` when a cron has no more occurrences.
    pub async fn tick(&mut self) -> Option<()> {
        match self {
            Self::Cron(cron) => {
                let next = next_after(cron, Utc::now())?;
                tokio::time::sleep((next - Utc::now()).to_std().unwrap_or_default()).await;
            }
            Self::Every(interval) => {
                interval.tick().await;
            }
        }
        Some(())
    }
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

    fn mode(cron: Option<&str>, every: Option<u64>) -> ScanModeConfig {
        ScanModeConfig {
            name: "m".into(),
            cron: cron.map(Into::into),
            every: every.map(|ms| crate::config::units::Dur(Duration::from_millis(ms))),
        }
    }

    #[test]
    fn a_mode_has_a_cron_or_an_interval_of_at_least_10_ms() {
        assert!(matches!(
            Schedule::of(&mode(Some("* * * * * *"), None)),
            Ok(Schedule::Cron(_))
        ));
        assert!(matches!(
            Schedule::of(&mode(None, Some(100))),
            Ok(Schedule::Every(_))
        ));
        let (at, why) = Schedule::of(&mode(None, Some(5))).unwrap_err();
        assert_eq!(at, "every");
        assert!(why.contains("10 ms"), "{why}");
        assert!(Schedule::of(&mode(Some("* * * * * *"), Some(100))).is_err());
        assert_eq!(Schedule::of(&mode(None, None)).unwrap_err().0, "cron");
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_keeps_its_instants_when_a_run_is_late() {
        let start = tokio::time::Instant::now();
        let mut ticker = Schedule::Every(Duration::from_millis(100)).ticker();
        ticker.tick().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        // A run that takes 250 ms: the ticks at 200 and 300 ms are missed; the next is at 400.
        tokio::time::sleep(Duration::from_millis(250)).await;
        ticker.tick().await.unwrap();
        ticker.tick().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
