//! Connector and item settings of the South, settings of the North, and the HTTP endpoint
//! both describe.

use oibus_plugin_api::prelude::*;
use oibus_tls_common::Tls;
use std::collections::BTreeMap;

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct RestSettings {
    /// The API's address, to which each item's `path` is added: `https://historian:8443/api/v1`.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://[^/]"))]
    pub base_url: String,
    /// Headers sent with every request (`{ "X-Api-Key" = "…" }`); their values are never
    /// logged.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How to authenticate.
    #[serde(default)]
    pub authentication: Authentication,
    /// TLS settings of an `https` address (default: the system's certificate authorities).
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Time-out of each request, answer included, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600000))]
    pub timeout_ms: u64,
    /// The largest answer read, in bytes; a larger one fails its item.
    #[serde(default = "default_max_response")]
    #[schemars(range(min = 1024, max = 1073741824))]
    pub max_response_bytes: u64,
    /// Path requested by a connection test (GET, any answer but 401 and 403 passes). Default:
    /// `base_url` itself.
    pub test_path: Option<String>,
}

impl RestSettings {
    /// The endpoint these settings describe.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            base_url: &self.base_url,
            headers: &self.headers,
            authentication: &self.authentication,
            tls: self.tls.as_ref(),
            timeout_ms: self.timeout_ms,
            max_response_bytes: self.max_response_bytes,
        }
    }
}

/// Settings of the North: the endpoint as the South's, and where values and files go.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct RestNorthSettings {
    /// The API's address, to which `values_path` and `files_path` are added.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://[^/]"))]
    pub base_url: String,
    /// Headers sent with every request; their values are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How to authenticate.
    #[serde(default)]
    pub authentication: Authentication,
    /// TLS settings of an `https` address (default: the system's certificate authorities).
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Time-out of each request, answer included, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600000))]
    pub timeout_ms: u64,
    /// Path each batch of values is POSTed to, as a JSON array of
    /// `{pointId, timestamp, value, quality}`.
    #[serde(default = "values_path")]
    #[schemars(length(max = 2048))]
    pub values_path: String,
    /// Path each file is POSTed to.
    #[serde(default = "files_path")]
    #[schemars(length(max = 2048))]
    pub files_path: String,
    /// How a file is sent: `raw` (the body is the file, its name in the `filename` query
    /// parameter) or `multipart` (a form with one part `file`, named).
    #[serde(default)]
    pub file_body: FileBody,
    /// Compress the values' JSON with gzip (`Content-Encoding: gzip`).
    #[serde(default)]
    pub gzip: bool,
}

impl RestNorthSettings {
    /// The endpoint these settings describe.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            base_url: &self.base_url,
            headers: &self.headers,
            authentication: &self.authentication,
            tls: self.tls.as_ref(),
            timeout_ms: self.timeout_ms,
            max_response_bytes: 64 * 1024,
        }
    }
}

/// How the North sends a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum FileBody {
    /// The body is the file (`application/octet-stream`), its name in the `filename` query
    /// parameter.
    #[default]
    Raw,
    /// `multipart/form-data` with one part `file` carrying the file's name.
    Multipart,
}

/// What an HTTP client needs, from the settings of either connector.
pub struct Endpoint<'a> {
    /// The API's address.
    pub base_url: &'a str,
    /// Headers of every request.
    pub headers: &'a BTreeMap<String, String>,
    /// How to authenticate.
    pub authentication: &'a Authentication,
    /// TLS settings of an `https` address.
    pub tls: Option<&'a Tls>,
    /// Time-out of each request, in milliseconds.
    pub timeout_ms: u64,
    /// The largest answer read.
    pub max_response_bytes: u64,
}

fn values_path() -> String {
    "/values".into()
}
fn files_path() -> String {
    "/files".into()
}
fn default_timeout() -> u64 {
    10_000
}
fn default_max_response() -> u64 {
    16 * 1024 * 1024
}

/// How requests authenticate.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "type",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Authentication {
    /// No authentication (or only what `headers` carry).
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password (a secret: never logged).
        password: String,
    },
    /// A bearer token (`Authorization: Bearer …`).
    Bearer {
        /// The token (a secret: never logged).
        token: String,
    },
}

/// The HTTP method of an item's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "UPPERCASE")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// POST, with `body`.
    Post,
}

/// How instants are written into requests (`@StartTime`, `@EndTime`) and read from numeric
/// timestamps of the answers (a timestamp that is a string is always read as RFC 3339).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "kebab-case")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum TimeFormat {
    /// RFC 3339 in UTC: `2026-12-05T10:20:30.123Z`.
    #[default]
    Iso,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMs,
    /// Seconds since 1970-01-01 UTC.
    UnixS,
}

/// How the pages of an answer are followed.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "type",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Pagination {
    /// One request, one answer.
    #[default]
    None,
    /// The answer holds the address of the next page (absolute, or relative to the request).
    Link {
        /// JSONPath of the next page's address (`$.links.next`); none, null or empty ends.
        next: String,
    },
    /// The answer holds a cursor that the next request sends as a query parameter.
    Cursor {
        /// JSONPath of the cursor (`$.next_cursor`); none, null or empty ends.
        next: String,
        /// The query parameter that carries it (`cursor`).
        parameter: String,
    },
}

/// Item settings: one request, and where its values are in the answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// HTTP method.
    #[serde(default)]
    pub method: Method,
    /// Path added to `base_url` (`/tags/TT-101/value`).
    #[serde(default)]
    #[schemars(length(max = 2048))]
    pub path: String,
    /// Query parameters; `@StartTime` and `@EndTime` in a value are replaced by the window of a
    /// history query (`{ from = "@StartTime", to = "@EndTime" }`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Body of a POST, sent as JSON, with `@StartTime` and `@EndTime` replaced as in `query`.
    pub body: Option<String>,
    /// JSONPath of the records in the answer, each giving one value (`$.data[*]`). Default:
    /// the whole answer is one record.
    #[serde(default = "root")]
    pub records: String,
    /// JSONPath of the value in a record (`$.value`).
    pub value: String,
    /// JSONPath of the value's instant in a record (`$.timestamp`). Default: the time of the
    /// request.
    pub timestamp: Option<String>,
    /// JSONPath of the value's quality in a record: `good`, `uncertain` or `bad` (any case), or
    /// a boolean (true: good). Default: good.
    pub quality: Option<String>,
    /// JSONPath of the point id in a record (records of several points). Default: the item's
    /// name.
    pub point_id: Option<String>,
    /// How instants are written into the request and read from numeric timestamps.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// How pages are followed.
    #[serde(default)]
    pub pagination: Pagination,
    /// The most pages one query follows.
    #[serde(default = "default_max_pages")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_pages: u32,
}

fn root() -> String {
    "$".into()
}
fn default_max_pages() -> u32 {
    1000
}
