//! The admin API's routes and handlers.

use super::{
    error::ApiError,
    live, openapi,
    state::ApiState,
    token,
    wire::{
        BrowseAnswer, BrowseApiRequest, DeleteQuery, ErrorSelection, ForceRequest, HistoryRequest,
        PluginsListing, TestItemAnswer, TestItemRequest, TestRequest, UnforceRequest,
    },
    wire::{CacheListing, TypeInfo},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use oibus_engine::{
    config::{NorthConfig, SouthConfig},
    engine::commands::{Command, CommandError, ConnectorConfig, ErrorAction},
};
use oibus_plugin_api::ConnectorKind;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Largest plugin file accepted by an upload.
const MAX_PLUGIN_FILE: usize = 512 << 20;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The routes.
pub(crate) fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/api/status", get(status))
        .route("/api/status/page", get(live::page))
        .route("/api/status/stream", get(live::stream))
        .route("/api/logs", get(logs))
        .route("/api/logs/stream", get(follow_logs))
        .route("/api/plugins", get(plugins))
        .route("/api/plugins/rescan", post(rescan))
        .route(
            "/api/plugins/files/{name}",
            axum::routing::put(upload).layer(DefaultBodyLimit::max(MAX_PLUGIN_FILE)),
        )
        .route("/api/plugins/force", post(force))
        .route("/api/plugins/unforce", post(unforce))
        .route("/api/connector-types", get(connector_types))
        .route("/api/connector-types/{type}", get(connector_type))
        .route("/api/south", get(list_south).post(create_south))
        .route("/api/south/test-connection", post(test_south))
        .route("/api/south/test-item", post(test_item))
        .route("/api/south/browse", post(browse))
        .route(
            "/api/south/{id}",
            get(get_south).put(update_south).delete(delete_south),
        )
        .route("/api/south/{id}/start", post(start_south))
        .route("/api/south/{id}/stop", post(stop_south))
        .route("/api/south/{id}/history", post(history))
        .route("/api/north", get(list_north).post(create_north))
        .route("/api/north/test-connection", post(test_north))
        .route(
            "/api/north/{id}",
            get(get_north).put(update_north).delete(delete_north),
        )
        .route("/api/north/{id}/start", post(start_north))
        .route("/api/north/{id}/stop", post(stop_north))
        .route("/api/north/{id}/cache", get(cache))
        .route("/api/north/{id}/cache/errors/retry", post(retry_errors))
        .route("/api/north/{id}/cache/errors/delete", post(delete_errors))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/metrics", get(metrics))
        .merge(protected)
        .merge(super::console::router())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn(super::bounds::bounded))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The bearer token of a request.
fn bearer(headers: &header::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// A 401 asking for a bearer token.
fn unauthorized(why: &str) -> Response {
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
async fn auth(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    use super::console::session::Refused;
    if let Some(t) = bearer(request.headers()) {
        return if token::matches(&state.token, t) {
            next.run(request).await
        } else {
            unauthorized("wrong bearer token (see the admin-token file in the data folder)")
        };
    }
    match state.sessions.check(request.method(), request.headers()) {
        Ok(()) => {
            let mut request = request;
            if let Some(id) = super::console::session::SessionId::of(request.headers()) {
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

/// `GET /api/logs`: the recent log records that pass the query's filter.
async fn logs(
    axum::extract::Query(filter): axum::extract::Query<oibus_engine::logs::Filter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    filter.check().map_err(ApiError::bad_request)?;
    let records = oibus_engine::logs::ring().query(&filter);
    Ok(Json(serde_json::json!({ "records": records })))
}

/// `GET /api/logs/stream`: the records that pass the filter as they are logged (server-sent
/// events, one record of JSON each), after those already kept.
async fn follow_logs(
    State(state): State<ApiState>,
    session: Option<axum::Extension<super::console::session::SessionId>>,
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

/// `GET /metrics`: Prometheus text, for the admin token or `metrics_token`.
async fn metrics(State(state): State<ApiState>, headers: header::HeaderMap) -> Response {
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
    match tokio::task::spawn_blocking(move || super::metrics::render(board)).await {
        Ok(Ok(text)) => {
            ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], text).into_response()
        }
        _ => ApiError {
            status: 500,
            error: "the metrics could not be written".into(),
            problems: Vec::new(),
        }
        .into_response(),
    }
}

/// Parses a JSON body, with a 400 that says what is wrong.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Sends a command to the engine and waits for its reply.
async fn ask<T>(
    state: &ApiState,
    make: impl FnOnce(oneshot::Sender<Result<T, CommandError>>) -> Command,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    state
        .commands
        .send(make(tx))
        .await
        .map_err(|_| ApiError::internal("the engine is stopping"))?;
    Ok(rx
        .await
        .map_err(|_| ApiError::internal("the engine dropped the request"))??)
}

async fn status(State(state): State<ApiState>) -> Json<oibus_engine::engine::Snapshot> {
    Json(state.board.snapshot())
}

async fn plugins(State(state): State<ApiState>) -> Json<PluginsListing> {
    let s = state.board.snapshot();
    Json(PluginsListing {
        plugins: s.plugins,
        loaded_versions: s.loaded_versions,
    })
}

async fn rescan(
    State(state): State<ApiState>,
) -> ApiResult<Vec<oibus_engine::loader::PluginReport>> {
    ask(&state, Command::Rescan).await.map(Json)
}

/// `PUT /api/plugins/files/{name}`: the body is written into the plugins folder under `name`
/// (a library, or its `.minisig` signature: send the signature first), then the folder is
/// scanned; the answer is every file's report, as `plugins list` shows it.
async fn upload(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Vec<oibus_engine::loader::PluginReport>> {
    if body.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{name:?}: the file is empty"
        )));
    }
    ask(&state, |reply| Command::InstallPluginFile {
        name,
        bytes: body.to_vec(),
        reply,
    })
    .await
    .map(Json)
}

async fn force(
    State(state): State<ApiState>,
    body: Bytes,
) -> ApiResult<oibus_engine::loader::PluginReport> {
    let r: ForceRequest = parse(&body)?;
    let report = ask(&state, |reply| Command::Force {
        file: r.file,
        reply,
    })
    .await?;
    Ok(Json(report))
}

async fn unforce(
    State(state): State<ApiState>,
    body: Bytes,
) -> ApiResult<oibus_engine::loader::PluginReport> {
    let r: UnforceRequest = parse(&body)?;
    let report = ask(&state, |reply| Command::Unforce { id: r.id, reply }).await?;
    Ok(Json(report))
}

async fn connector_types(State(state): State<ApiState>) -> ApiResult<Vec<TypeInfo>> {
    let types = ask(&state, Command::ConnectorTypes).await?;
    Ok(Json(types.into_iter().map(TypeInfo::from).collect()))
}

async fn connector_type(
    State(state): State<ApiState>,
    Path(type_id): Path<String>,
) -> ApiResult<TypeInfo> {
    ask(&state, Command::ConnectorTypes)
        .await?
        .into_iter()
        .find(|t| t.manifest.id == type_id)
        .map(|t| Json(TypeInfo::from(t)))
        .ok_or_else(|| ApiError::not_found(format!("no connector type {type_id:?}")))
}

async fn list_south(State(state): State<ApiState>) -> ApiResult<Vec<SouthConfig>> {
    Ok(Json(ask(&state, Command::Config).await?.south.to_vec()))
}

async fn list_north(State(state): State<ApiState>) -> ApiResult<Vec<NorthConfig>> {
    Ok(Json(ask(&state, Command::Config).await?.north.to_vec()))
}

async fn get_south(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<SouthConfig> {
    let config = ask(&state, Command::Config).await?;
    config
        .south
        .iter()
        .find(|s| s.id == id)
        .map(|s| Json(s.clone()))
        .ok_or_else(|| ApiError::not_found(format!("no South {id:?}")))
}

async fn get_north(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<NorthConfig> {
    let config = ask(&state, Command::Config).await?;
    config
        .north
        .iter()
        .find(|n| n.id == id)
        .map(|n| Json(n.clone()))
        .ok_or_else(|| ApiError::not_found(format!("no North {id:?}")))
}

async fn upsert(
    state: &ApiState,
    connector: ConnectorConfig,
    create: bool,
) -> Result<Response, ApiError> {
    ask(state, |reply| Command::Upsert {
        connector,
        create,
        reply,
    })
    .await?;
    Ok(if create {
        StatusCode::CREATED.into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// A body's `id` must match the path's (or be absent).
fn with_id(mut body: serde_json::Value, id: &str) -> Result<serde_json::Value, ApiError> {
    match body.get("id") {
        None => {
            if let Some(o) = body.as_object_mut() {
                o.insert("id".into(), id.into());
            }
            Ok(body)
        }
        Some(v) if v == id => Ok(body),
        Some(v) => Err(ApiError::bad_request(format!(
            "the body's id {v} differs from {id:?}"
        ))),
    }
}

async fn create_south(State(state): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    upsert(&state, ConnectorConfig::South(parse(&body)?), true).await
}

async fn create_north(State(state): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    upsert(&state, ConnectorConfig::North(parse(&body)?), true).await
}

async fn update_south(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = with_id(parse(&body)?, &id)?;
    let south = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid South: {e}")))?;
    upsert(&state, ConnectorConfig::South(south), false).await
}

async fn update_north(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = with_id(parse(&body)?, &id)?;
    let north = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid North: {e}")))?;
    upsert(&state, ConnectorConfig::North(north), false).await
}

async fn delete_connector(
    state: &ApiState,
    kind: ConnectorKind,
    id: String,
    discard_queue: bool,
) -> Result<Response, ApiError> {
    ask(state, |reply| Command::Delete {
        kind,
        id,
        discard_queue,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_south(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    delete_connector(&state, ConnectorKind::South, id, false).await
}

async fn delete_north(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    delete_connector(&state, ConnectorKind::North, id, query.discard_queue).await
}

async fn run(
    state: &ApiState,
    kind: ConnectorKind,
    id: String,
    start: bool,
) -> Result<Response, ApiError> {
    ask(state, |reply| Command::Run {
        kind,
        id,
        start,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn start_south(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::South, id, true).await
}
async fn stop_south(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::South, id, false).await
}
async fn start_north(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::North, id, true).await
}
async fn stop_north(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::North, id, false).await
}

async fn test(state: &ApiState, kind: ConnectorKind, body: Bytes) -> ApiResult<serde_json::Value> {
    let r: TestRequest = parse(&body)?;
    ask(state, |reply| Command::TestConnection {
        kind,
        type_id: r.type_id,
        settings: r.settings,
        saved: r.id,
        reply,
    })
    .await?;
    Ok(Json(serde_json::json!({"ok": true})))
}

async fn test_south(State(s): State<ApiState>, body: Bytes) -> ApiResult<serde_json::Value> {
    test(&s, ConnectorKind::South, body).await
}
async fn test_north(State(s): State<ApiState>, body: Bytes) -> ApiResult<serde_json::Value> {
    test(&s, ConnectorKind::North, body).await
}

async fn test_item(State(s): State<ApiState>, body: Bytes) -> ApiResult<TestItemAnswer> {
    let r: TestItemRequest = parse(&body)?;
    let values = ask(&s, |reply| Command::TestItem {
        type_id: r.type_id,
        settings: r.settings,
        item: r.item,
        saved: r.id,
        reply,
    })
    .await?;
    let values = values
        .iter()
        .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
        .collect();
    Ok(Json(TestItemAnswer { values }))
}

async fn browse(State(s): State<ApiState>, body: Bytes) -> ApiResult<BrowseAnswer> {
    let r: BrowseApiRequest = parse(&body)?;
    if !(1..=10).contains(&r.depth) {
        return Err(ApiError::bad_request("depth must be from 1 to 10"));
    }
    let nodes = ask(&s, |reply| Command::Browse {
        type_id: r.type_id,
        settings: r.settings,
        saved: r.id,
        request: oibus_plugin_api::BrowseRequest {
            from: r.from,
            depth: r.depth,
        },
        reply,
    })
    .await?;
    let nodes = nodes
        .iter()
        .map(|n| serde_json::to_value(n).unwrap_or(serde_json::Value::Null))
        .collect();
    Ok(Json(BrowseAnswer { nodes }))
}

async fn history(
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

async fn cache(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<CacheListing> {
    ask(&state, |reply| Command::Cache { id, reply })
        .await
        .map(|c| Json(CacheListing::from(c)))
}

async fn errors(
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

async fn retry_errors(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    errors(&s, id, ErrorAction::Retry, body).await
}

async fn delete_errors(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    errors(&s, id, ErrorAction::Delete, body).await
}
