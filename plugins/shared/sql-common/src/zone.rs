//! The time zone of a historian that stores wall-clock times without an offset (PostgreSQL
//! `timestamp without time zone`, text like `2024-05-01 12:00:00`).

use chrono::{Duration, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use oibus_plugin_api::Timestamp;

/// Where zone-less times are: UTC (the default) or an IANA zone.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Zone(Option<Tz>);

impl Zone {
    /// The zone named `name` (`Europe/Paris`); `None`: UTC. The error names the setting.
    pub fn parse(name: Option<&str>) -> Result<Self, String> {
        match name {
            None => Ok(Self(None)),
            Some(n) => n.parse::<Tz>().map(|tz| Self(Some(tz))).map_err(|_| {
                format!("time_zone {n:?} is not an IANA time zone (for example \"Europe/Paris\", \"UTC\")")
            }),
        }
    }

    /// The instant of wall-clock time `local` in this zone. An hour that occurs twice (the
    /// autumn change) is taken at its first occurrence; a time that does not exist (the spring
    /// gap) is read with the offset in force just before the gap.
    pub fn to_instant(self, local: NaiveDateTime) -> Timestamp {
        let Some(tz) = self.0 else {
            return Timestamp::from_datetime(local.and_utc());
        };
        let utc = match tz.from_local_datetime(&local).earliest() {
            Some(t) => t.naive_utc(),
            None => tz
                .from_local_datetime(&(local - Duration::hours(1)))
                .earliest()
                .map_or(local, |t| t.naive_utc() + Duration::hours(1)),
        };
        Timestamp::from_datetime(utc.and_utc())
    }

    /// The wall-clock time of instant `t` in this zone.
    pub fn to_local(self, t: Timestamp) -> NaiveDateTime {
        let utc = t.to_datetime();
        match self.0 {
            None => utc.naive_utc(),
            Some(tz) => utc.with_timezone(&tz).naive_local(),
        }
    }

    /// A wall-clock time read as if it were UTC (PostgreSQL's `timestamp` through a UTC
    /// client), moved to this zone.
    pub fn reinterpret(self, as_utc: Timestamp) -> Timestamp {
        self.to_instant(as_utc.to_datetime().naive_utc())
    }

    /// Instant `t` written as a wall-clock time in this zone, carried as if it were UTC.
    pub fn as_wall_clock(self, t: Timestamp) -> Timestamp {
        Timestamp::from_datetime(self.to_local(t).and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn wall_clock_times_of_a_zone_and_its_changes() {
        let paris = Zone::parse(Some("Europe/Paris")).unwrap();
        let t = |s: &str| Timestamp::parse(s).unwrap();
        // Summer: UTC+2; winter: UTC+1.
        assert_eq!(
            paris.to_instant(local("2024-07-01 12:00:00")),
            t("2024-07-01T10:00:00Z")
        );
        assert_eq!(
            paris.to_instant(local("2024-01-01 12:00:00")),
            t("2024-01-01T11:00:00Z")
        );
        // 02:30 happens twice on 2024-10-27: the first one (still UTC+2).
        assert_eq!(
            paris.to_instant(local("2024-10-27 02:30:00")),
            t("2024-10-27T00:30:00Z")
        );
        // 02:30 does not exist on 2024-03-31: read with the offset before the gap (UTC+1).
        assert_eq!(
            paris.to_instant(local("2024-03-31 02:30:00")),
            t("2024-03-31T01:30:00Z")
        );
        assert_eq!(
            paris.to_local(t("2024-07-01T10:00:00Z")),
            local("2024-07-01 12:00:00")
        );
        assert_eq!(
            Zone::default().to_instant(local("2024-07-01 12:00:00")),
            t("2024-07-01T12:00:00Z")
        );
        assert!(
            Zone::parse(Some("Mars/Olympus"))
                .unwrap_err()
                .contains("time_zone")
        );
    }
}
