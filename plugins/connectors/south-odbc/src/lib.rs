//! `south-odbc`: reads values, and their history, from any source with an ODBC driver (SQL
//! Server, Oracle, DB2, historians' ODBC interfaces…), with the model of every SQL South of
//! oibus-rs (`oibus-sql-common`): one query per item, `@StartTime` and `@EndTime` bound as
//! parameters, columns mapped to value, instant, point id and quality.
//!
//! On Linux the plugin carries unixODBC's driver manager: only the source's driver is installed
//! (and registered in `/etc/odbcinst.ini`). On Windows it uses the system's driver manager.

mod driver_path;
pub mod odbc;
mod settings;

use oibus_plugin_api::prelude::*;
use oibus_sql_common::SqlSouth;
pub use settings::OdbcSettings;

/// The ODBC South.
pub type OdbcSouth = SqlSouth<odbc::Odbc>;

fn plugin() -> Plugin {
    Plugin::new("ODBC", "oibus-rs")
        .description("Reads values and their history from any source with an ODBC driver")
        .connector(
            ConnectorType::<OdbcSouth>::south("odbc", "ODBC")
                .description("One query per item, @StartTime/@EndTime bound as parameters")
                .queries_history()
                .queries_last_point()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
