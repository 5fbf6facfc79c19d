//! `GET /api/status` and `GET /metrics`.

use crate::{error::ApiError, state::ApiState, token};
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use super::auth::{bearer, unauthorized};

/// `GET /metrics`: Prometheus text, for the admin token or `metrics_token`.
pub(super) async fn metrics(State(state): State<ApiState>, headers: header::HeaderMap) -> Response {
    let allowed = bearer(&headers).is_some_and(|t| {
        token::matches(&state.token, t)
            || state
                .metrics_token
                .as_deref()
                .is_some_and(|m| token::matches(m, t))
    });
    if !allowed {
        return unauthorized(
            "missing or wrong bearer token (the admin token, or engine.admin.metrics_token)",
        );
    }
    let board = state.board.clone();
    match tokio::task::spawn_blocking(move || crate::metrics::render(board)).await {
        Ok(Ok(text)) => {
            ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
        }
        _ => ApiError {
            status: 500,
            error: "the metrics could not be written".into(),
            problems: Vec::new(),
        }
        .into_response(),
    }
}

pub(super) async fn status(State(state): State<ApiState>) -> Json<crate::wire::StatusAnswer> {
    Json(state.board.snapshot().into())
}
