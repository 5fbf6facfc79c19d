//! What the drivers read from a row, and how it becomes a value.

use crate::{settings::TimeFormat, zone::Zone};
use chrono::{DateTime, NaiveDateTime, Utc};
use oibus_plugin_api::{DataValue, OibusValue, Quality, Timestamp};

/// One field of a row, in the few shapes both drivers produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point (or decimal) number.
    Float(f64),
    /// A decimal number no float holds (a PostgreSQL `numeric` of 1e400), as text.
    OutOfRange(String),
    /// Text.
    Text(String),
    /// A timestamp column's instant.
    Time(Timestamp),
    /// A zone-less timestamp column's wall-clock time, carried as if it were UTC: the item's
    /// `time_zone` says where it is.
    WallClock(Timestamp),
}

/// The mapped fields of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The reference instant, if the item names its column.
    pub reference: Option<Cell>,
    /// The value.
    pub value: Cell,
    /// The point id, if the item names its column.
    pub point_id: Option<Cell>,
    /// The quality, if the item names its column.
    pub quality: Option<Cell>,
}

impl Record {
    /// The value of item `item` this row holds; `read_at` stamps rows without a reference column.
    pub fn into_value(
        self,
        item: &str,
        format: TimeFormat,
        zone: Zone,
        read_at: Timestamp,
    ) -> Result<OibusValue, String> {
        let timestamp = match self.reference {
            Some(cell) => {
                instant(cell, format, zone).map_err(|e| format!("reference column: {e}"))?
            }
            None => read_at,
        };
        let point_id = match self.point_id {
            None => item.to_string(),
            Some(Cell::Text(s)) => s,
            Some(Cell::Int(i)) => i.to_string(),
            Some(other) => return Err(format!("point id column: {other:?} is not a point id")),
        };
        let mut quality = match self.quality {
            None => Quality::Good,
            Some(cell) => quality(cell).map_err(|e| format!("quality column: {e}"))?,
        };
        if matches!(self.value, Cell::OutOfRange(_)) && quality == Quality::Good {
            quality = Quality::Uncertain;
        }
        let value = match self.value {
            Cell::Null => DataValue::Null,
            Cell::Bool(b) => DataValue::Bool(b),
            Cell::Int(i) => DataValue::Int(i),
            Cell::Float(f) => DataValue::Float(f),
            Cell::Text(s) | Cell::OutOfRange(s) => DataValue::Text(s.into()),
            Cell::Time(t) => DataValue::Text(t.to_iso().into()),
            Cell::WallClock(t) => DataValue::Text(zone.reinterpret(t).to_iso().into()),
        };
        let mut v = OibusValue::new(point_id, timestamp, value);
        v.quality = quality;
        Ok(v)
    }
}

/// The instant a cell holds.
pub fn instant(cell: Cell, format: TimeFormat, zone: Zone) -> Result<Timestamp, String> {
    match (cell, format) {
        (Cell::Time(t), _) => Ok(t),
        (Cell::WallClock(t), _) => Ok(zone.reinterpret(t)),
        (Cell::Int(s), TimeFormat::UnixS) => {
            Ok(Timestamp::from_nanos(s.saturating_mul(1_000_000_000)))
        }
        (Cell::Int(ms), TimeFormat::UnixMs) => Ok(Timestamp::from_millis(ms)),
        // A double holds about 16 digits: fractions are kept to the microsecond.
        (Cell::Float(s), TimeFormat::UnixS) => Ok(micros((s * 1e6).round())),
        (Cell::Float(ms), TimeFormat::UnixMs) => Ok(micros((ms * 1e3).round())),
        (Cell::Int(_) | Cell::Float(_), _) => Err(
            "a number: set time_format to \"unix-s\" or \"unix-ms\" to read it as an instant"
                .to_string(),
        ),
        (Cell::Text(s), _) => parse_text(&s, zone).ok_or_else(|| {
            format!(
                "{s:?} is not an instant (RFC 3339, or \"YYYY-MM-DD HH:MM:SS[.fff]\" in time_zone)"
            )
        }),
        (other, _) => Err(format!("{other:?} is not an instant")),
    }
}

fn micros(us: f64) -> Timestamp {
    Timestamp::from_nanos((us as i64).saturating_mul(1000))
}

/// RFC 3339 with an offset, or a date and time without one (in `zone`), `T` or a space between.
fn parse_text(s: &str, zone: Zone) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(&s.replacen(' ', "T", 1)) {
        return Some(Timestamp::from_datetime(t.with_timezone(&Utc)));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| zone.to_instant(n))
}

/// An instant written the way `format` stores it, for binding to a text parameter: `sql`
/// text is the wall-clock time in `zone`.
pub fn text_of(t: Timestamp, format: TimeFormat, zone: Zone) -> String {
    match format {
        TimeFormat::Sql => zone.to_local(t).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        _ => t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    }
}

/// An instant as the number `format` stores (seconds or milliseconds), for a number parameter.
pub fn number_of(t: Timestamp, format: TimeFormat) -> Option<i64> {
    match format {
        TimeFormat::UnixS => Some(t.as_nanos().div_euclid(1_000_000_000)),
        TimeFormat::UnixMs => Some(t.as_millis()),
        _ => None,
    }
}

fn quality(cell: Cell) -> Result<Quality, String> {
    match cell {
        Cell::Bool(true) => Ok(Quality::Good),
        Cell::Bool(false) => Ok(Quality::Bad),
        Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "good" => Ok(Quality::Good),
            "uncertain" => Ok(Quality::Uncertain),
            "bad" => Ok(Quality::Bad),
            _ => Err(format!("{s:?} is not good, uncertain or bad")),
        },
        other => Err(format!("{other:?} is not good, uncertain or bad")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn instants_are_read_from_every_storage_form() {
        let noon = t("2024-05-01T12:00:00.250Z");
        let text = |s: &str| instant(Cell::Text(s.into()), TimeFormat::Rfc3339, Zone::default());
        assert_eq!(text("2024-05-01T12:00:00.250Z"), Ok(noon));
        assert_eq!(text("2024-05-01T14:00:00.250+02:00"), Ok(noon));
        assert_eq!(text("2024-05-01 12:00:00.250"), Ok(noon));
        assert_eq!(text("2024-05-01 12:00:00.25+00"), Err("\"2024-05-01 12:00:00.25+00\" is not an instant (RFC 3339, or \"YYYY-MM-DD HH:MM:SS[.fff]\" in time_zone)".into()));
        assert_eq!(text("2024-05-01T12:00:00.250"), Ok(noon));
        assert_eq!(
            instant(
                Cell::Int(1_714_564_800_250),
                TimeFormat::UnixMs,
                Zone::default()
            ),
            Ok(noon)
        );
        assert_eq!(
            instant(
                Cell::Float(1_714_564_800.25),
                TimeFormat::UnixS,
                Zone::default()
            ),
            Ok(noon)
        );
        assert!(
            instant(Cell::Int(1), TimeFormat::Rfc3339, Zone::default())
                .unwrap_err()
                .contains("time_format")
        );
    }

    #[test]
    fn bounds_are_written_as_the_column_stores_them() {
        let noon = t("2024-05-01T12:00:00.250Z");
        assert_eq!(
            text_of(noon, TimeFormat::Rfc3339, Zone::default()),
            "2024-05-01T12:00:00.250Z"
        );
        assert_eq!(
            text_of(noon, TimeFormat::Sql, Zone::default()),
            "2024-05-01 12:00:00.250"
        );
        let paris = Zone::parse(Some("Europe/Paris")).unwrap();
        assert_eq!(
            text_of(noon, TimeFormat::Sql, paris),
            "2024-05-01 14:00:00.250"
        );
        assert_eq!(
            instant(
                Cell::Text("2024-05-01 14:00:00.250".into()),
                TimeFormat::Sql,
                paris
            ),
            Ok(noon)
        );
        assert_eq!(number_of(noon, TimeFormat::UnixS), Some(1_714_564_800));
        assert_eq!(number_of(noon, TimeFormat::UnixMs), Some(1_714_564_800_250));
        assert_eq!(number_of(noon, TimeFormat::Sql), None);
    }

    #[test]
    fn a_row_becomes_a_value_with_its_point_and_quality() {
        let row = Record {
            reference: Some(Cell::Text("2024-05-01 12:00:00".into())),
            value: Cell::Float(1.5),
            point_id: Some(Cell::Text("tank.level".into())),
            quality: Some(Cell::Text("Uncertain".into())),
        };
        let v = row
            .into_value("item", TimeFormat::Sql, Zone::default(), Timestamp::now())
            .unwrap();
        assert_eq!(v.point_id.as_str(), "tank.level");
        assert_eq!(v.timestamp, t("2024-05-01T12:00:00Z"));
        assert_eq!(v.value, DataValue::Float(1.5));
        assert_eq!(v.quality, Quality::Uncertain);

        let read_at = Timestamp::now();
        let row = Record {
            reference: None,
            value: Cell::Int(3),
            point_id: None,
            quality: Some(Cell::Text("excellent".into())),
        };
        let err = row
            .into_value("item", TimeFormat::Sql, Zone::default(), read_at)
            .unwrap_err();
        assert!(err.starts_with("quality column:"), "{err}");
    }
}
