//! Connector settings (the item settings are every SQL South's: `oibus_sql_common::settings`).

use oibus_plugin_api::prelude::*;

/// Settings of the `odbc` connector type.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct OdbcSettings {
    /// The ODBC connection string, without the password: a driver and its keywords
    /// (`Driver={ODBC Driver 18 for SQL Server};Server=10.0.12.30;Database=mes;Uid=oibus`), or a
    /// data source of odbc.ini (`DSN=historian`). It is logged: put the password in `password`.
    #[schemars(length(min = 1, max = 4096))]
    pub connection_string: String,
    /// The password, added to the connection string as `PWD` (a secret: write-only, never
    /// logged).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// How long to wait for the source to accept the connection, in milliseconds (rounded up to
    /// whole seconds: ODBC's login time-out).
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 1, max = 600000))]
    pub connect_timeout_ms: u64,
    /// Longest a query may run, in milliseconds (rounded up to whole seconds: ODBC's query
    /// time-out, which the driver applies; the connector stops waiting then too).
    #[serde(default = "default_query_timeout")]
    #[schemars(range(min = 1, max = 3600000))]
    pub query_timeout_ms: u64,
}

fn default_connect_timeout() -> u64 {
    5000
}
fn default_query_timeout() -> u64 {
    30_000
}

impl OdbcSettings {
    /// The connection string with the password, escaped as ODBC wants.
    pub fn full_connection_string(&self) -> String {
        match &self.password {
            None => self.connection_string.clone(),
            Some(p) => format!(
                "{};PWD={}",
                self.connection_string.trim_end_matches(';'),
                odbc_api::escape_attribute_value(p)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_added_braced() {
        let mut s = OdbcSettings {
            connection_string: "Driver={SQLite3};Database=/tmp/a.db;".into(),
            password: None,
            connect_timeout_ms: 1,
            query_timeout_ms: 1,
        };
        assert_eq!(
            s.full_connection_string(),
            "Driver={SQLite3};Database=/tmp/a.db;"
        );
        s.password = Some("p;w}d".into());
        assert_eq!(
            s.full_connection_string(),
            "Driver={SQLite3};Database=/tmp/a.db;PWD={p;w}}d}"
        );
    }
}
