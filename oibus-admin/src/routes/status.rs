//! `GET /api/status` and `GET /metrics`.

use crate::{error::ApiError, listener::Peer, state::ApiState, token};
use axum::{
    Extension, Json,
    extract::{ConnectInfo, State},
    http::header,
    response::{IntoResponse, Response},
};

use super::auth::{bearer, unauthorized};
use crate::wrong_tokens::{held, wrong_token};

/// `GET /metrics`: Prometheus text, for the admin token or `metrics_token`.
pub(super) async fn metrics(
    State(state): State<ApiState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: header::HeaderMap,
) -> Response {
    let ip = peer.map(|Extension(ConnectInfo(Peer(a)))| a.ip());
    if bearer(&headers).is_some()
        && let Some(r) = held(&state, ip)
    {
        return r;
    }
    let allowed = bearer(&headers).is_some_and(|t| {
        token::matches(&state.token, t)
            || state
                .metrics_token
                .as_deref()
                .is_some_and(|m| token::matches(m, t))
    });
    if !allowed {
        if bearer(&headers).is_some() {
            wrong_token(&state, ip, "metrics token");
        }
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
