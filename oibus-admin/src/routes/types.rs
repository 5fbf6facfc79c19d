//! The connector types the loaded plugins offer.

use crate::{error::ApiError, state::ApiState, wire::TypeInfo};
use axum::{
    Json,
    extract::{Path, State},
};
use oibus_engine::engine::commands::Command;

use super::ask::{ApiResult, ask};

pub(super) async fn connector_types(State(state): State<ApiState>) -> ApiResult<Vec<TypeInfo>> {
    let types = ask(&state, Command::ConnectorTypes).await?;
    Ok(Json(types.into_iter().map(TypeInfo::from).collect()))
}

pub(super) async fn connector_type(
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
