//! `GET /api/logs` and its live stream.

use crate::{error::ApiError, state::ApiState};
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

/// `GET /api/logs`: the recent log records that pass the query's filter.
pub(super) async fn logs(
    axum::extract::Query(filter): axum::extract::Query<oibus_engine::logs::Filter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    filter.check().map_err(ApiError::bad_request)?;
    let records = oibus_engine::logs::ring().query(&filter);
    Ok(Json(serde_json::json!({ "records": records })))
}

/// `GET /api/logs/stream`: the records that pass the filter as they are logged (server-sent
/// events, one record of JSON each), after those already kept.
pub(super) async fn follow_logs(
    State(state): State<ApiState>,
    session: Option<axum::Extension<crate::console::session::SessionId>>,
    headers: header::HeaderMap,
    axum::extract::Query(mut filter): axum::extract::Query<oibus_engine::logs::Filter>,
) -> Result<Response, ApiError> {
    // A browser that reconnects says which record it saw last: go on from there.
    if let Some(last) = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        filter.after = Some(last);
    }
    let session = session.map(|axum::Extension(id)| id);
    use axum::response::sse::{Event, KeepAlive, Sse};
    filter.check().map_err(ApiError::bad_request)?;
    let ring = oibus_engine::logs::ring();
    // Subscribed before the kept records are read: none falls between them.
    let live = ring.follow();
    let kept = ring.query(&filter);
    let last = kept.last().map(|r| r.seq);
    let event = |r: &oibus_engine::logs::LogRecord| {
        Event::default()
            .id(r.seq.to_string())
            .json_data(r)
            .unwrap_or_else(|_| Event::default().comment("unencodable record"))
    };
    let first = futures_util::stream::iter(
        kept.iter()
            .map(|r| Ok::<_, std::convert::Infallible>(event(r)))
            .collect::<Vec<_>>(),
    );
    let sessions = state.sessions.clone();
    let next =
        futures_util::stream::unfold((live, filter, last), move |(mut live, filter, last)| {
            let (sessions, session) = (sessions.clone(), session.clone());
            async move {
                loop {
                    // A console session that ended (signed out, idle) ends its streams.
                    let received =
                        tokio::time::timeout(std::time::Duration::from_secs(5), live.recv()).await;
                    if session.as_ref().is_some_and(|id| !sessions.alive(id)) {
                        return None;
                    }
                    let Ok(received) = received else { continue };
                    match received {
                        Ok(r) if last.is_some_and(|l| r.seq <= l) || !filter.matches(&r) => {
                            continue;
                        }
                        Ok(r) => return Some((Ok(event(&r)), (live, filter, last))),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            let note = Event::default()
                                .event("lagged")
                                .data(format!("{n} record(s) skipped: the reader was too slow"));
                            return Some((Ok(note), (live, filter, last)));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
    use futures_util::StreamExt as _;
    Ok(Sse::new(first.chain(next))
        .keep_alive(KeepAlive::default())
        .into_response())
}
