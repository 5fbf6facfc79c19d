//! `rest`: HTTP/REST APIs, both ways (headers, basic or bearer authentication, TLS).
//!
//! The South (`rest`) polls APIs on a scan (GET or POST) and picks values out of their JSON
//! answers with a JSONPath (RFC 9535) per item: value, timestamp, quality, point id. History
//! windows go into query parameters or the body (`@StartTime`, `@EndTime`); pages are followed
//! by link or cursor. The North (`rest-north`) POSTs each batch of values as JSON (optionally
//! gzip) and each file raw or as a form; the status decides: 2xx sent, 400/413/415/422 set
//! apart, anything else retried.
//!
//! The layers: `settings` (what the user writes), [`request`] (the URL, query and body of one
//! call), `fetch` (one HTTP exchange, bounded in time and size, its failure classified),
//! [`extract`] (JSON to values), `south` (the connector, pagination, the three queries),
//! `north` (the North).

pub mod extract;
mod fetch;
mod north;
pub mod request;
mod settings;
mod south;

use north::RestNorth;
use oibus_plugin_api::prelude::*;
pub use settings::{
    Authentication, FileBody, ItemSettings, Method, Pagination, RestNorthSettings, RestSettings,
    TimeFormat,
};
use south::Rest;

fn plugin() -> Plugin {
    Plugin::new("HTTP/REST", "oibus-rs")
        .description(
            "Polls HTTP/REST APIs and picks values out of their JSON; POSTs values and files",
        )
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
        .connector(
            ConnectorType::<RestNorth>::north("rest-north", "HTTP/REST")
                .description(
                    "POSTs values as JSON (optionally gzip) and files raw or as a form; 4xx that \
                     refuse the data set it apart, other failures are retried",
                )
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
