//! Connectors: list, read (secrets left out), create, replace, delete, start and stop.

use crate::{error::ApiError, state::ApiState, wire::DeleteQuery};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use oibus_engine::{
    config::{NorthConfig, SouthConfig},
    engine::commands::{Command, ConnectorConfig},
};
use oibus_plugin_api::ConnectorKind;

use super::ask::{ApiResult, ask, parse};

pub(super) async fn list_south(State(state): State<ApiState>) -> ApiResult<Vec<SouthConfig>> {
    Ok(Json(ask(&state, Command::Config).await?.south.to_vec()))
}

pub(super) async fn list_north(State(state): State<ApiState>) -> ApiResult<Vec<NorthConfig>> {
    Ok(Json(ask(&state, Command::Config).await?.north.to_vec()))
}

pub(super) async fn get_south(
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

pub(super) async fn get_north(
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

pub(super) async fn upsert(
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
pub(super) fn with_id(
    mut body: serde_json::Value,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
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

pub(super) async fn create_south(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    upsert(&state, ConnectorConfig::South(parse(&body)?), true).await
}

pub(super) async fn create_north(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    upsert(&state, ConnectorConfig::North(parse(&body)?), true).await
}

pub(super) async fn update_south(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = with_id(parse(&body)?, &id)?;
    let south = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid South: {e}")))?;
    upsert(&state, ConnectorConfig::South(south), false).await
}

pub(super) async fn update_north(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = with_id(parse(&body)?, &id)?;
    let north = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid North: {e}")))?;
    upsert(&state, ConnectorConfig::North(north), false).await
}

pub(super) async fn delete_connector(
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

pub(super) async fn delete_south(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    delete_connector(&state, ConnectorKind::South, id, false).await
}

pub(super) async fn delete_north(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    delete_connector(&state, ConnectorKind::North, id, query.discard_queue).await
}

pub(super) async fn run(
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

pub(super) async fn start_south(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::South, id, true).await
}

pub(super) async fn stop_south(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::South, id, false).await
}

pub(super) async fn start_north(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::North, id, true).await
}

pub(super) async fn stop_north(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(&s, ConnectorKind::North, id, false).await
}
