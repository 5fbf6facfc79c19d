//! The plugins folder: list it, look at it now, upload a file, force or clear a version.

use crate::{
    error::ApiError,
    state::ApiState,
    wire::{ForceRequest, PluginsListing, UnforceRequest},
};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use oibus_engine::engine::commands::Command;

use super::ask::{ApiResult, ask, parse};

/// Largest plugin file accepted by an upload.
pub(super) const MAX_PLUGIN_FILE: usize = 512 << 20;

pub(super) async fn plugins(State(state): State<ApiState>) -> Json<PluginsListing> {
    let s = state.board.snapshot();
    Json(PluginsListing {
        plugins: s.plugins,
        loaded_versions: s.loaded_versions.into_iter().map(Into::into).collect(),
    })
}

pub(super) async fn rescan(
    State(state): State<ApiState>,
) -> ApiResult<Vec<oibus_engine::loader::PluginReport>> {
    ask(&state, Command::Rescan).await.map(Json)
}

/// `PUT /api/plugins/files/{name}`: the body is written into the plugins folder under `name`
/// (a library, or its `.minisig` signature: send the signature first), then the folder is
/// scanned; the answer is every file's report, as `plugins list` shows it.
pub(super) async fn upload(
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

pub(super) async fn force(
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

pub(super) async fn unforce(
    State(state): State<ApiState>,
    body: Bytes,
) -> ApiResult<oibus_engine::loader::PluginReport> {
    let r: UnforceRequest = parse(&body)?;
    let report = ask(&state, |reply| Command::Unforce { id: r.id, reply }).await?;
    Ok(Json(report))
}
