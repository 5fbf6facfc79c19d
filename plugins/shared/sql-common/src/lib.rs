//! What the SQL South plugins share (`south-sql` and `south-odbc`): an item is a query whose
//! `@StartTime` and `@EndTime` are bound as parameters ([`placeholders`]), whose columns are
//! mapped to the value, instant, point id and quality ([`settings`], [`cell`], [`zone`]); a
//! database is a [`driver::Driver`], and [`south::SqlSouth`] is the connector over any driver:
//! history windows, last-point scans that resume from the newest instant read, item tests.

pub mod cell;
pub mod driver;
pub mod placeholders;
pub mod settings;
pub mod south;
pub mod zone;

pub use settings::{Columns, ItemSettings, TimeFormat};
pub use south::SqlSouth;
