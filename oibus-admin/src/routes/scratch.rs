//! Calls on a connector made for the request: test a connection, read an item once, browse.

use crate::{
    error::ApiError,
    state::ApiState,
    wire::{BrowseAnswer, BrowseApiRequest, TestItemAnswer, TestItemRequest, TestRequest},
};
use axum::{Json, body::Bytes, extract::State};
use oibus_engine::engine::commands::Command;
use oibus_plugin_api::ConnectorKind;

use super::ask::{ApiResult, ask, parse};

pub(super) async fn test(
    state: &ApiState,
    kind: ConnectorKind,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
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

pub(super) async fn test_south(
    State(s): State<ApiState>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    test(&s, ConnectorKind::South, body).await
}

pub(super) async fn test_north(
    State(s): State<ApiState>,
    body: Bytes,
) -> ApiResult<serde_json::Value> {
    test(&s, ConnectorKind::North, body).await
}

pub(super) async fn test_item(State(s): State<ApiState>, body: Bytes) -> ApiResult<TestItemAnswer> {
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

pub(super) async fn browse(State(s): State<ApiState>, body: Bytes) -> ApiResult<BrowseAnswer> {
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
