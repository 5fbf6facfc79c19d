//! What every handler shares: reading a JSON body, asking the engine and waiting for its reply.

use crate::{error::ApiError, state::ApiState};
use axum::{Json, body::Bytes};
use oibus_engine::engine::commands::{Command, CommandError};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

pub(super) type ApiResult<T> = Result<Json<T>, ApiError>;

/// Parses a JSON body, with a 400 that says what is wrong.
pub(super) fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Sends a command to the engine and waits for its reply.
pub(super) async fn ask<T>(
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
