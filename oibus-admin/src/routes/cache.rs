//! A North's cache: what is queued, the error store's entries sent again or deleted, and a
//! replay of what the Souths' logs retain.

use crate::{
    state::ApiState,
    wire::{CacheListing, ErrorSelection, ReplayAnswer, ReplayRequest},
};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use oibus_engine::engine::commands::{Command, ErrorAction};

use super::ask::{ApiResult, ask, parse};

pub(super) async fn cache(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<CacheListing> {
    ask(&state, |reply| Command::Cache { id, reply })
        .await
        .map(|c| Json(CacheListing::from(c)))
}

pub(super) async fn errors(
    state: &ApiState,
    id: String,
    action: ErrorAction,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    let selection: ErrorSelection = if body.is_empty() {
        ErrorSelection::default()
    } else {
        parse(&body)?
    };
    let count = ask(state, |reply| Command::CacheErrors {
        id,
        action,
        batches: selection.batches,
        files: selection.files,
        reply,
    })
    .await?;
    Ok(Json(serde_json::json!({"entries": count})))
}

pub(super) async fn retry_errors(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    errors(&s, id, ErrorAction::Retry, body).await
}

pub(super) async fn delete_errors(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    errors(&s, id, ErrorAction::Delete, body).await
}

pub(super) async fn replay(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<ReplayAnswer> {
    let r: ReplayRequest = parse(&body)?;
    ask(&state, |reply| Command::Replay {
        id,
        since: r.since,
        south: r.south,
        reply,
    })
    .await
    .map(|r| Json(ReplayAnswer::from(r)))
}
