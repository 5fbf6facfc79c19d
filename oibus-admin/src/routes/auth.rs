//! Who may call the API: the bearer token, the metrics token for `/metrics`, or the console's
//! session cookie with its CSRF token for changes.

use crate::{
    error::ApiError,
    state::ApiState,
    token,
    wrong_tokens::{client, held, wrong_token},
};
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The bearer token of a request.
pub(super) fn bearer(headers: &header::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// A 401 asking for a bearer token.
pub(super) fn unauthorized(why: &str) -> Response {
    let mut r = ApiError {
        status: 401,
        error: why.into(),
        problems: Vec::new(),
    }
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// A request passes with the bearer token, or with the console's session cookie (and, to change
/// anything, the session's CSRF token).
pub(super) async fn auth(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    use crate::console::session::Refused;
    if let Some(t) = bearer(request.headers()) {
        let ip = client(request.extensions());
        if let Some(r) = held(&state, ip) {
            return r;
        }
        return if token::matches(&state.token, t) {
            next.run(request).await
        } else {
            wrong_token(&state, ip, "bearer token");
            unauthorized("wrong bearer token (see the admin-token file in the data folder)")
        };
    }
    match state.sessions.check(request.method(), request.headers()) {
        Ok(()) => {
            let mut request = request;
            if let Some(id) = crate::console::session::SessionId::of(request.headers()) {
                request.extensions_mut().insert(id);
            }
            next.run(request).await
        }
        Err(Refused::Csrf) => ApiError {
            status: 403,
            error: "a change from the console needs its session's CSRF token (X-CSRF-Token) and \
                    no foreign Origin"
                .into(),
            problems: Vec::new(),
        }
        .into_response(),
        Err(Refused::NoSession) => unauthorized(
            "missing or wrong bearer token (see the admin-token file in the data folder), or no \
             console session",
        ),
    }
}
