//! The status as a large site needs it: one page of connectors that match a filter, with totals
//! by state (`GET /api/status/page`), and the same page again every interval as server-sent
//! events (`GET /api/status/stream`), which the console's overview follows.

use super::{error::ApiError, state::ApiState};
use crate::wire::ConnectorStatusAnswer;
use axum::{
    Json,
    extract::{Query, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use oibus_engine::engine::{ConnectorSnapshot, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, time::Duration};

/// Most connectors in one page.
const MAX_LIMIT: usize = 1000;

/// Which connectors, and which page of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// Text found (case-insensitively) in the id, type, plugin or last error.
    #[serde(default)]
    q: Option<String>,
    /// `south` or `north`.
    #[serde(default)]
    kind: Option<String>,
    /// A lifecycle state (`connected`, `failed`…).
    #[serde(default)]
    state: Option<String>,
    /// Connectors to skip.
    #[serde(default)]
    offset: usize,
    /// Connectors in the page (default 50, at most 1000).
    #[serde(default = "default_limit")]
    limit: usize,
    /// Stream only: milliseconds between two pages (default 1000, 200 to 60000).
    #[serde(default = "default_interval")]
    interval_ms: u64,
}

fn default_limit() -> usize {
    50
}

fn default_interval() -> u64 {
    1000
}

/// One page of the status.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct StatusPage {
    /// Engine name.
    engine: String,
    /// When the status was read.
    updated: oibus_plugin_api::Timestamp,
    /// `add_values` latency percentiles in microseconds: p50, p99, max.
    add_values_latency_us: [u64; 3],
    /// Connectors configured.
    total: usize,
    /// Connectors that match the filter.
    matching: usize,
    /// Connectors by state (all of them, whatever the filter).
    by_state: BTreeMap<String, usize>,
    /// Plugin files refused in the plugins folder.
    refused_plugins: usize,
    /// The page: matching connectors from `offset`, at most `limit`.
    connectors: Vec<ConnectorStatusAnswer>,
}

fn state_name(c: &ConnectorSnapshot) -> String {
    serde_json::to_value(c.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl PageQuery {
    fn check(&self) -> Result<(), ApiError> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "limit must be from 1 to {MAX_LIMIT}"
            )));
        }
        if !(200..=60_000).contains(&self.interval_ms) {
            return Err(ApiError::bad_request(
                "interval_ms must be from 200 to 60000",
            ));
        }
        if let Some(k) = &self.kind
            && k != "south"
            && k != "north"
        {
            return Err(ApiError::bad_request(format!(
                "kind must be south or north, not {k:?}"
            )));
        }
        Ok(())
    }

    fn matches(&self, c: &ConnectorSnapshot, state: &str) -> bool {
        let kind = match c.kind {
            oibus_plugin_api::ConnectorKind::South => "south",
            oibus_plugin_api::ConnectorKind::North => "north",
        };
        if self.kind.as_deref().is_some_and(|k| k != kind)
            || self.state.as_deref().is_some_and(|s| s != state)
        {
            return false;
        }
        let Some(q) = self
            .q
            .as_deref()
            .map(str::to_lowercase)
            .filter(|q| !q.is_empty())
        else {
            return true;
        };
        [
            Some(c.id.as_str()),
            Some(c.type_id.as_str()),
            Some(c.plugin.as_str()),
            c.last_error.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|f| f.to_lowercase().contains(&q))
    }

    /// The page of a snapshot.
    fn page(&self, s: Snapshot) -> StatusPage {
        let total = s.connectors.len();
        let mut by_state = BTreeMap::new();
        let mut matching = Vec::new();
        for c in s.connectors {
            let state = state_name(&c);
            let keep = self.matches(&c, &state);
            *by_state.entry(state).or_insert(0) += 1;
            if keep {
                matching.push(c);
            }
        }
        let count = matching.len();
        let connectors = matching
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(Into::into)
            .collect();
        StatusPage {
            engine: s.engine,
            updated: s.updated,
            add_values_latency_us: s.add_values_latency_us,
            total,
            matching: count,
            by_state,
            refused_plugins: s
                .plugins
                .iter()
                .filter(|p| matches!(p.status, oibus_engine::loader::PluginStatus::Refused { .. }))
                .count(),
            connectors,
        }
    }
}

/// `GET /api/status/page`.
pub(crate) async fn page(
    State(state): State<ApiState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<StatusPage>, ApiError> {
    query.check()?;
    Ok(Json(query.page(state.board.snapshot())))
}

/// `GET /api/status/stream`: the page now, then again every `interval_ms`.
pub(crate) async fn stream(
    State(state): State<ApiState>,
    session: Option<axum::Extension<super::console::session::SessionId>>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    query.check()?;
    let every = Duration::from_millis(query.interval_ms);
    let session = session.map(|axum::Extension(id)| id);
    let pages = futures_util::stream::unfold((state, query, true), move |(state, query, first)| {
        let session = session.clone();
        async move {
            if !first {
                tokio::time::sleep(every).await;
            }
            // A console session that ended (signed out, idle) ends its streams.
            if session.as_ref().is_some_and(|id| !state.sessions.alive(id)) {
                return None;
            }
            let page = query.page(state.board.snapshot());
            let event = Event::default()
                .event("status")
                .json_data(&page)
                .unwrap_or_else(|_| Event::default().comment("unencodable status"));
            Some((
                Ok::<_, std::convert::Infallible>(event),
                (state, query, false),
            ))
        }
    });
    Ok(Sse::new(pages)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> PageQuery {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn bad_queries_are_refused_by_name() {
        assert!(query(r#"{"limit": 0}"#).check().is_err());
        assert!(query(r#"{"limit": 1001}"#).check().is_err());
        assert!(query(r#"{"kind": "east"}"#).check().is_err());
        assert!(query(r#"{"interval_ms": 10}"#).check().is_err());
        assert!(query("{}").check().is_ok());
    }
}
