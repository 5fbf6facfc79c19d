//! The scan modes: `GET /api/scan-modes`, `PUT` and `DELETE /api/scan-modes/{name}`. The body
//! is the configuration file's `[[scan_modes]]` entry (a `cron` or an `every`).

use crate::{error::ApiError, state::ApiState};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use oibus_engine::{config::ScanModeConfig, engine::commands::Command};

use super::ask::{ApiResult, ask, parse};

pub(super) async fn scan_modes(State(state): State<ApiState>) -> ApiResult<Vec<ScanModeConfig>> {
    ask(&state, Command::ScanModes).await.map(Json)
}

/// Creates or replaces scan mode `name`; the body's `name`, if given, must be the same.
pub(super) async fn put_scan_mode(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut value: serde_json::Value = parse(&body)?;
    match value.get("name") {
        None => {
            if let Some(o) = value.as_object_mut() {
                o.insert("name".into(), name.clone().into());
            }
        }
        Some(n) if n.as_str() == Some(name.as_str()) => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the body's name is not the one of the path: rename a scan mode by creating \
                 the new one, moving its items, then deleting the old one",
            ));
        }
    }
    let mode: ScanModeConfig = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid scan mode: {e}")))?;
    ask(&state, |reply| Command::PutScanMode { mode, reply }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn delete_scan_mode(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    ask(&state, |reply| Command::DeleteScanMode { name, reply }).await?;
    Ok(StatusCode::NO_CONTENT)
}
