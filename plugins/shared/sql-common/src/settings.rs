//! Item settings, the same for every driver: a query and where its columns go.

use oibus_plugin_api::prelude::*;

/// How instants are stored in columns that are not of a timestamp type, and how `@StartTime` and
/// `@EndTime` are bound when compared with such columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum TimeFormat {
    /// Text such as `2024-05-01T12:00:00.000Z` (UTC).
    #[default]
    Rfc3339,
    /// Text such as `2024-05-01 12:00:00.000` (UTC), the form of SQLite's date functions.
    Sql,
    /// Seconds since 1970-01-01 UTC.
    UnixS,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMs,
}

/// Settings of one item: a query and where its columns go.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// The query. `@StartTime` and `@EndTime` are bound as parameters: the window of a history
    /// run, or for a last-point scan the newest instant read so far and now.
    #[schemars(length(min = 1))]
    pub query: String,
    /// Column of each row's instant (the value's timestamp). Required for history; without it a
    /// last-point scan stamps values with the time of the read.
    #[serde(default)]
    pub reference_column: Option<String>,
    /// Column of the value: a number, a boolean or text (`NULL` gives a null value).
    #[schemars(length(min = 1))]
    pub value_column: String,
    /// Column of the point id (default: every row is a value of the item's own name).
    #[serde(default)]
    pub point_id_column: Option<String>,
    /// Column of the quality: text `good`, `uncertain` or `bad`, or a boolean (true = good).
    /// Default: good.
    #[serde(default)]
    pub quality_column: Option<String>,
    /// How instants are stored in text or number columns.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// The IANA time zone (`Europe/Paris`) of times stored without an offset: PostgreSQL
    /// `timestamp without time zone`, and text like `2024-05-01 12:00:00`. They are read as
    /// wall-clock times of that zone, and `@StartTime`/`@EndTime` are bound to such columns as
    /// wall-clock times too. An hour that occurs twice (the autumn change) is read as its first
    /// occurrence; a time in the spring gap with the offset before the gap. Default: UTC.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub time_zone: Option<String>,
}

impl ItemSettings {
    /// The mapped columns, in the order of [`crate::cell::Record`].
    pub fn columns(&self) -> Columns<'_> {
        Columns {
            reference: self.reference_column.as_deref(),
            value: &self.value_column,
            point_id: self.point_id_column.as_deref(),
            quality: self.quality_column.as_deref(),
        }
    }
}

/// The columns an item reads.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// The instant's column.
    pub reference: Option<&'a str>,
    /// The value's column.
    pub value: &'a str,
    /// The point id's column.
    pub point_id: Option<&'a str>,
    /// The quality's column.
    pub quality: Option<&'a str>,
}

/// The columns an item reads, owned: for a query that runs on another thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedColumns([Option<String>; 4]);

impl OwnedColumns {
    /// The columns, borrowed again.
    pub fn columns(&self) -> Columns<'_> {
        let [reference, value, point_id, quality] = &self.0;
        Columns {
            reference: reference.as_deref(),
            value: value.as_deref().unwrap_or_default(),
            point_id: point_id.as_deref(),
            quality: quality.as_deref(),
        }
    }
}

impl Columns<'_> {
    /// The same columns, owned.
    pub fn to_owned(&self) -> OwnedColumns {
        OwnedColumns([
            self.reference.map(str::to_string),
            Some(self.value.to_string()),
            self.point_id.map(str::to_string),
            self.quality.map(str::to_string),
        ])
    }

    /// Finds each column among the `names` a query returns (exactly, else ignoring case, since
    /// PostgreSQL folds unquoted names to lower case): indexes in the order reference, value,
    /// point id, quality.
    pub fn locate(&self, names: &[&str]) -> Result<[Option<usize>; 4], String> {
        let find = |wanted: &str| -> Result<usize, String> {
            names
                .iter()
                .position(|n| *n == wanted)
                .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(wanted)))
                .ok_or_else(|| {
                    format!(
                        "the query returns no column {wanted:?} (it returns {})",
                        names.join(", ")
                    )
                })
        };
        Ok([
            self.reference.map(find).transpose()?,
            Some(find(self.value)?),
            self.point_id.map(find).transpose()?,
            self.quality.map(find).transpose()?,
        ])
    }
}
