//! The `rest` connector: its lifecycle, the pages of one item's query, and the three queries.

use crate::{
    extract::{self, Paths},
    fetch::{Client, Failure},
    request::{self, Window},
    settings::{ItemSettings, Pagination, RestSettings},
};
use oibus_plugin_api::prelude::*;
use reqwest::Url;
use serde_json_path::JsonPath;
use std::collections::HashSet;

/// The HTTP/REST South connector.
pub struct Rest {
    base_url: String,
    test_path: Option<String>,
    client: Client,
    ctx: Context,
}

/// What reading one item gave.
#[derive(Default)]
struct Read {
    /// The values, when they are kept rather than handed to the engine page by page.
    values: Vec<OibusValue>,
    /// Values read (kept or handed over).
    count: usize,
    /// Why records were left out (the first ones), and how many were.
    record_errors: Vec<String>,
    left_out: usize,
    /// The newest instant read.
    newest: Option<Timestamp>,
}

/// Why reading an item stopped.
enum Stop {
    /// The server cannot be reached.
    Unreachable(String),
    /// This item's request or answer is wrong.
    Item(String),
    /// The engine refused the values (shutting down, cache full).
    Engine(PluginError),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Unreachable(m) => Self::Unreachable(m),
            Failure::Call(m) => Self::Item(m),
        }
    }
}

impl Connector for Rest {
    type Settings = RestSettings;

    fn new(settings: RestSettings, ctx: Context) -> Result<Self> {
        let url = Url::parse(&settings.base_url).map_err(|e| {
            PluginError::invalid_settings(format!(
                "base_url {:?} is not an address: {e}",
                settings.base_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(PluginError::invalid_settings(format!(
                "base_url {:?}: an http or https address without a query (items add theirs)",
                settings.base_url
            )));
        }
        Ok(Self {
            client: Client::new(&settings.endpoint())?,
            base_url: settings.base_url,
            test_path: settings.test_path,
            ctx,
        })
    }

    async fn test_connection(&mut self) -> Result<()> {
        let url = request::join(&self.base_url, self.test_path.as_deref().unwrap_or(""));
        self.client.probe(&url).await
    }
}

impl South for Rest {
    type ItemSettings = ItemSettings;
}

fn paths(item: &ItemSettings) -> std::result::Result<Paths, String> {
    Paths::new(
        &item.records,
        &item.value,
        item.timestamp.as_deref(),
        item.quality.as_deref(),
        item.point_id.as_deref(),
    )
}

/// The same origin (scheme, host, port): credentials are not sent anywhere else.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Rest {
    /// Reads every page of `item` over `window`; hands each page's values to the engine, or
    /// keeps them when `keep` (an item test).
    async fn read(
        &self,
        item: &SouthItem<ItemSettings>,
        window: Option<&Window>,
        keep: bool,
    ) -> std::result::Result<Read, Stop> {
        let s = &item.settings;
        let paths = paths(s).map_err(Stop::Item)?;
        let mut call = request::call(&self.base_url, s, window).map_err(Stop::Item)?;
        let origin = Url::parse(&call.url)
            .map_err(|e| Stop::Item(format!("{:?} is not an address: {e}", call.url)))?;
        let next_path = match &s.pagination {
            Pagination::None => None,
            Pagination::Link { next } | Pagination::Cursor { next, .. } => Some(
                JsonPath::parse(next)
                    .map_err(|e| Stop::Item(format!("pagination.next {next:?}: {e}")))?,
            ),
        };
        let mut read = Read::default();
        let mut seen = HashSet::new();
        for page in 1..=s.max_pages {
            let answer = self.client.json(&call).await?;
            let out =
                extract::extract(&answer, &paths, &item.name, Timestamp::now(), s.time_format);
            read.count += out.values.len();
            read.newest = read.newest.max(out.newest);
            read.left_out += out.errors.len();
            read.record_errors.extend(
                out.errors
                    .into_iter()
                    .take(3 - read.record_errors.len().min(3)),
            );
            if keep {
                read.values.extend(out.values);
            } else if !out.values.is_empty() {
                self.ctx
                    .add_values(out.values)
                    .await
                    .map_err(Stop::Engine)?;
            }
            let Some(path) = &next_path else {
                return Ok(read);
            };
            let Some(next) = extract::next(&answer, path).map_err(Stop::Item)? else {
                return Ok(read);
            };
            if !seen.insert(next.clone()) {
                return Err(Stop::Item(format!(
                    "page {page} names the next page {next:?} a second time: not followed again"
                )));
            }
            match &s.pagination {
                Pagination::Link { .. } => {
                    let current = Url::parse(&call.url).map_err(|e| Stop::Item(e.to_string()))?;
                    let mut url = current.join(&next).map_err(|e| {
                        Stop::Item(format!(
                            "page {page}: next page {next:?} is not an address: {e}"
                        ))
                    })?;
                    if !same_origin(&origin, &url) {
                        return Err(Stop::Item(format!(
                            "page {page}: the next page is on another server ({}): not followed \
                             with this connector's credentials",
                            url.origin().ascii_serialization()
                        )));
                    }
                    // The link carries its own query: the item's is not added again.
                    call.query = url
                        .query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    url.set_query(None);
                    call.url = url.to_string();
                }
                Pagination::Cursor { parameter, .. } => {
                    call.query.retain(|(k, _)| k != parameter);
                    call.query.push((parameter.clone(), next));
                }
                Pagination::None => return Ok(read),
            }
        }
        Err(Stop::Item(format!(
            "more than max_pages ({}) pages: raise max_pages, or narrow the window (history \
             max_read_interval)",
            s.max_pages
        )))
    }

    /// Names the records an item left out (in the status), or clears its failure.
    fn report(&self, item: &SouthItem<ItemSettings>, read: &Read) -> Option<PluginError> {
        if read.left_out == 0 {
            self.ctx.item_ok(&item.name);
            return None;
        }
        let e = PluginError::invalid_settings(format!(
            "item {:?}: {} record(s) left out ({} value(s) read): {}",
            item.name,
            read.left_out,
            read.count,
            read.record_errors.join("; ")
        ));
        self.ctx.item_failed(&item.name, e.message());
        Some(e)
    }
}

impl QueriesLastPoint for Rest {
    /// Reads every item once. An item whose request or answer is wrong (an error status, no
    /// answer in time, not JSON, a record without its value) is named and the others are read;
    /// a server that cannot be reached ends the scan as a lost connection.
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let mut first: Option<PluginError> = None;
        for item in items {
            match self.read(item, None, false).await {
                Ok(read) => {
                    if let Some(e) = self.report(item, &read) {
                        first.get_or_insert(e);
                    }
                }
                Err(Stop::Item(why)) => {
                    let e = PluginError::invalid_settings(format!("item {:?}: {why}", item.name));
                    self.ctx.item_failed(&item.name, e.message());
                    first.get_or_insert(e);
                }
                Err(Stop::Unreachable(why)) => return Err(PluginError::connection_lost(why)),
                Err(Stop::Engine(e)) => return Err(e),
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl QueriesHistory for Rest {
    /// Reads the window `(start, end]` of every item, page after page. Any failure fails the
    /// window, which the engine reads again: values are never skipped (those of the pages read
    /// before the failure come again).
    async fn history_query(
        &mut self,
        items: &[SouthItem<ItemSettings>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let window = Window { start, end };
        let mut newest = None;
        for item in items {
            if item.settings.timestamp.is_none() || !request::uses_window(&item.settings) {
                return Err(PluginError::invalid_settings(format!(
                    "item {:?}: reading history needs `timestamp` (each value's instant) and \
                     @StartTime and @EndTime in `query` or `body`, or every window reads the \
                     same values",
                    item.name
                )));
            }
            match self.read(item, Some(&window), false).await {
                Ok(read) => {
                    if let Some(e) = self.report(item, &read) {
                        return Err(e);
                    }
                    newest = newest.max(read.newest);
                }
                Err(Stop::Item(why)) => {
                    let e = PluginError::transient(format!("item {:?}: {why}", item.name));
                    self.ctx.item_failed(&item.name, e.message());
                    return Err(e);
                }
                Err(Stop::Unreachable(why)) => return Err(PluginError::connection_lost(why)),
                Err(Stop::Engine(e)) => return Err(e),
            }
        }
        Ok(newest)
    }
}

impl TestsItem for Rest {
    /// Reads the item once (over the last hour when its request names @StartTime and
    /// @EndTime), every page, and returns the values.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        let now = Timestamp::now();
        let window = Window {
            start: Timestamp::from_datetime(now.to_datetime() - chrono::Duration::hours(1)),
            end: now,
        };
        let window = request::uses_window(&item.settings).then_some(&window);
        match self.read(item, window, true).await {
            Ok(read) => match self.report(item, &read) {
                Some(e) => Err(e),
                None => Ok(read.values),
            },
            Err(Stop::Item(why)) => Err(PluginError::invalid_settings(format!(
                "item {:?}: {why}",
                item.name
            ))),
            Err(Stop::Unreachable(why)) => Err(PluginError::transient(why)),
            Err(Stop::Engine(e)) => Err(e),
        }
    }
}
