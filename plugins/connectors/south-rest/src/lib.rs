//! `south-rest`: polls HTTP/REST APIs on a scan (GET or POST, headers, basic or bearer
//! authentication, TLS) and picks values out of their JSON answers with a JSONPath (RFC 9535)
//! per item: value, timestamp, quality, point id. History windows go into query parameters or
//! the body (`@StartTime`, `@EndTime`); pages are followed by link or cursor.
//!
//! The layers: `settings` (what the user writes), [`request`] (the URL, query and body of one
//! call), `fetch` (one HTTP exchange, bounded in time and size, its failure classified),
//! [`extract`] (JSON to values), `south` (the connector, pagination, the three queries).

pub mod extract;
mod fetch;
pub mod request;
mod settings;
mod south;

use oibus_plugin_api::prelude::*;
pub use settings::{Authentication, ItemSettings, Method, Pagination, RestSettings, TimeFormat};
use south::Rest;

fn plugin() -> Plugin {
    Plugin::new("HTTP/REST", "oibus-rs")
        .description("Polls HTTP/REST APIs and picks values out of their JSON")
        .connector(
            ConnectorType::<Rest>::south("rest", "HTTP/REST")
                .description(
                    "GET or POST on a scan, values picked with JSONPath, history windows in the \
                     query, pages followed by link or cursor",
                )
                .queries_last_point()
                .queries_history()
                .tests_item(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
