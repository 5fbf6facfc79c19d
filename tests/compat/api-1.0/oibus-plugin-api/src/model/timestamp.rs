//! UTC instants with nanosecond resolution.

use abi_stable::StableAbi;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{
    fmt,
    ops::{Add, Sub},
    time::Duration,
};

/// A UTC instant as nanoseconds since the Unix epoch (covers the years 1677 to 2262).
/// Serialized as an ISO-8601 string with a `Z` suffix, as OIBus does.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current instant.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }
    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }
    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }
    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Milliseconds since the epoch (rounded down).
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    /// From a chrono date-time (saturating outside the representable range).
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_nanos_opt().unwrap_or(if dt.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        }))
    }
    /// As a chrono date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }
    /// Parses an RFC 3339 / ISO-8601 string such as `2024-05-01T12:00:00.000Z`.
    pub fn parse(s: &str) -> Result<Self, chrono::ParseError> {
        DateTime::parse_from_rfc3339(s).map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }
    /// ISO-8601 with a `Z` suffix, with as many fraction digits as needed.
    pub fn to_iso(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
    /// The time from `earlier` to this instant (zero if `earlier` is later).
    pub fn since(self, earlier: Self) -> Duration {
        u64::try_from(self.0.saturating_sub(earlier.0)).map_or(Duration::ZERO, Duration::from_nanos)
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// This instant plus a duration (saturating).
impl Add<Duration> for Timestamp {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(nanos(d)))
    }
}

/// This instant minus a duration (saturating).
impl Sub<Duration> for Timestamp {
    type Output = Self;
    fn sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(nanos(d)))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "an instant, RFC 3339 in UTC (`2024-05-01T12:00:00.000Z`)"
        })
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = Timestamp::parse("2024-05-01T12:00:00.123Z").unwrap();
        assert_eq!(t.to_iso(), "2024-05-01T12:00:00.123Z");
        assert_eq!(Timestamp::parse(&t.to_iso()).unwrap(), t);
        let t = Timestamp::from_nanos(1);
        assert_eq!(t.to_iso(), "1970-01-01T00:00:00.000000001Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse("2024-05-01T14:00:00+02:00").unwrap();
        assert_eq!(t.to_iso(), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_millis(1_000);
        assert_eq!(
            t + Duration::from_millis(500),
            Timestamp::from_millis(1_500)
        );
        assert_eq!(t - Duration::from_millis(500), Timestamp::from_millis(500));
        assert_eq!(
            Timestamp(i64::MAX) + Duration::from_secs(1),
            Timestamp(i64::MAX)
        );
        assert_eq!(
            t.since(Timestamp::from_millis(250)),
            Duration::from_millis(750)
        );
        assert_eq!(Timestamp::from_millis(0).since(t), Duration::ZERO);
    }

    #[test]
    fn millis_round_down() {
        assert_eq!(Timestamp::from_nanos(-1).as_millis(), -1);
        assert_eq!(Timestamp::from_millis(5).as_millis(), 5);
    }
}
