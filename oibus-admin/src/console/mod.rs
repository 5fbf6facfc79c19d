//! The web console: a page and its scripts, embedded in the binary (rust-embed), served on the
//! admin address under `/console/`, and the sign-in that turns the admin token into a session
//! cookie. The console is a client of the admin API and nothing else: every page reads and
//! changes the gateway through the same `/api/…` routes that `curl` uses, so what the console
//! shows is what the API answers, and the API's tests cover what it does.

pub mod session;

use super::{error::ApiError, listener::Peer, state::ApiState, token};
use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use rust_embed::Embed;
use serde::Deserialize;

/// The console's files (`assets/`), in the binary.
#[derive(Embed)]
#[folder = "src/console/assets/"]
struct Assets;

/// What a console page may load and talk to: only this server, no inline script, nothing
/// framed (the gateway is often offline, and a page of it must not be embedded elsewhere).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (they need no bearer token: sign-in is one of them).
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(|| async { asset("index.html") }))
        .route(
            "/console/{*path}",
            get(|Path(p): Path<String>| async move { asset(&p) }),
        )
        .route(
            "/console-session",
            get(whoami).post(sign_in).delete(sign_out),
        )
}

/// The content type of an asset, from its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// One embedded file, with headers that keep it to this origin.
fn asset(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::not_found(format!("no console file {path:?}")).into_response();
    };
    let mut r = file.data.into_owned().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

fn with_csrf(csrf: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "csrf": csrf, "csrf_header": session::CSRF_HEADER }))
}

/// `POST /console-session` `{"token": …}`: the session cookie, and the CSRF token in the body.
/// Only JSON is taken, which a form of another site cannot send without the browser asking
/// this server first (and it never says yes).
async fn sign_in(
    State(state): State<ApiState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = peer.map(|Extension(ConnectInfo(Peer(a)))| a.ip());
    if let Some(r) = crate::wrong_tokens::held(&state, ip) {
        return r;
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return ApiError::bad_request("sign in with a JSON body {\"token\": …}").into_response();
    }
    let Ok(request) = serde_json::from_slice::<SignIn>(&body) else {
        return ApiError::bad_request("sign in with a JSON body {\"token\": …}").into_response();
    };
    if !token::matches(&state.token, request.token.trim()) {
        crate::wrong_tokens::wrong_token(&state, ip, "token at the console's sign-in");
        return ApiError {
            status: 401,
            error: "wrong token: it is the admin token, in the admin-token file of the data \
                    folder (or engine.admin.token)"
                .into(),
            problems: Vec::new(),
        }
        .into_response();
    }
    let Some((id, csrf)) = state.sessions.open() else {
        return ApiError::internal("no random numbers to make a session with").into_response();
    };
    let mut r = with_csrf(&csrf).into_response();
    let secure = state.tls || behind_https_proxy(&headers);
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id, secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Whether a reverse proxy says the browser reached it over HTTPS (`X-Forwarded-Proto` or
/// `Forwarded: proto=https`). Only the cookie's `Secure` flag follows it: a client that lies
/// gets a cookie its browser will not send back over plain HTTP.
fn behind_https_proxy(headers: &HeaderMap) -> bool {
    let says = |name: &str, check: &dyn Fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| check(&v.to_ascii_lowercase()))
    };
    says("x-forwarded-proto", &|v| v.trim() == "https")
        || says("forwarded", &|v| {
            v.split([';', ','])
                .any(|p| p.trim() == "proto=https" || p.trim() == "proto=\"https\"")
        })
}

/// `GET /console-session`: the CSRF token of the browser's session, or 401.
async fn whoami(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match state.sessions.csrf(&headers) {
        Some(csrf) => with_csrf(&csrf).into_response(),
        None => ApiError {
            status: 401,
            error: "not signed in".into(),
            problems: Vec::new(),
        }
        .into_response(),
    }
}

/// `DELETE /console-session`: signs out (with the session's CSRF token).
async fn sign_out(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if state
        .sessions
        .check(&axum::http::Method::DELETE, &headers)
        .is_err()
    {
        return ApiError {
            status: 403,
            error: "signing out needs the session's CSRF token".into(),
            problems: Vec::new(),
        }
        .into_response();
    }
    state.sessions.close(&headers);
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
