//! `POST /api/south/{id}/history`: read a South's history over a range.

use crate::{state::ApiState, wire::HistoryRequest};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use oibus_engine::engine::commands::Command;

use super::ask::{ApiResult, ask, parse};

pub(super) async fn history(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    let r: HistoryRequest = parse(&body)?;
    let windows = ask(&state, |reply| Command::History {
        id,
        start: r.start,
        end: r.end,
        reply,
    })
    .await?;
    Ok(Json(serde_json::json!({"windows": windows})))
}
