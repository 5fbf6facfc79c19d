//! `south-sql`: reads values, and their history, from SQL databases: PostgreSQL, MySQL and
//! MariaDB, and SQLite.
//!
//! Each item is a query; `@StartTime` and `@EndTime` in it are bound as parameters (never spliced
//! into the text), and its columns are mapped to the value, its instant, point id and quality.

pub mod mysql;
pub mod numeric;
pub mod postgres;
pub mod settings;
pub mod sqlite;

pub use oibus_sql_common::SqlSouth;
pub use settings::{ItemSettings, MysqlSettings, PostgresSettings, SqliteSettings, TimeFormat};

use oibus_plugin_api::prelude::*;

/// The PostgreSQL South.
pub type PostgresSouth = SqlSouth<postgres::Postgres>;
/// The MySQL and MariaDB South.
pub type MysqlSouth = SqlSouth<mysql::Mysql>;
/// The SQLite South.
pub type SqliteSouth = SqlSouth<sqlite::Sqlite>;

fn plugin() -> Plugin {
    Plugin::new("SQL databases", "oibus-rs")
        .description("Reads values and their history from PostgreSQL, MySQL, MariaDB and SQLite")
        .connector(
            ConnectorType::<PostgresSouth>::south("postgresql", "PostgreSQL")
                .description("One query per item, @StartTime/@EndTime bound as parameters")
                .queries_history()
                .queries_last_point()
                .tests_item(),
        )
        .connector(
            ConnectorType::<MysqlSouth>::south("mysql", "MySQL / MariaDB")
                .description("One query per item, @StartTime/@EndTime bound as parameters")
                .queries_history()
                .queries_last_point()
                .tests_item(),
        )
        .connector(
            ConnectorType::<SqliteSouth>::south("sqlite", "SQLite")
                .description("One query per item on a database file opened read-only")
                .queries_history()
                .queries_last_point()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests;
