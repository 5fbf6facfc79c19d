//! The admin API's routes: [`router`] names every path; one file per resource holds its
//! handlers, and [`ask`] what they share.

mod ask;
mod auth;
mod cache;
mod connectors;
mod history;
mod logs;
mod plugins;
mod scan_modes;
mod scratch;
mod status;
mod types;

use self::{
    auth::auth,
    cache::{cache, delete_errors, replay, retry_errors},
    connectors::{
        create_north, create_south, delete_north, delete_south, get_north, get_south, list_north,
        list_south, start_north, start_south, stop_north, stop_south, update_north, update_south,
    },
    history::history,
    logs::{follow_logs, logs},
    plugins::{force, plugins, remove, rescan, unforce, upload},
    scan_modes::{delete_scan_mode, put_scan_mode, scan_modes},
    scratch::{browse, test_item, test_north, test_south},
    status::{metrics, status},
    types::{connector_type, connector_types},
};
use crate::{error::ApiError, live, openapi, state::ApiState};
use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The routes.
pub(crate) fn router(state: ApiState, hosts: crate::host::AllowedHosts) -> Router {
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
            axum::routing::put(upload).delete(remove),
        )
        .route("/api/plugins/force", post(force))
        .route("/api/plugins/unforce", post(unforce))
        .route("/api/scan-modes", get(scan_modes))
        .route(
            "/api/scan-modes/{name}",
            axum::routing::put(put_scan_mode).delete(delete_scan_mode),
        )
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
        .route("/api/north/{id}/cache/replay", post(replay))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/metrics", get(metrics))
        .merge(protected)
        .merge(crate::console::router())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn(crate::bounds::bounded))
        .layer(middleware::from_fn_with_state(hosts, crate::host::checked))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
