//! The plugins folder: list it, look at it now, upload a file, force or clear a version.

use crate::{
    error::ApiError,
    state::ApiState,
    wire::{ForceRequest, PluginsListing, UnforceRequest},
};
use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, header},
};
use futures_util::StreamExt as _;
use oibus_engine::engine::{commands::Command, plugin_folder::UploadError};

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

/// `PUT /api/plugins/files/{name}`: the body is streamed into the plugins folder under `name`
/// (a library, or its `.minisig` signature: send the signature first), then the folder is
/// scanned; the answer is every file's report, as `plugins list` shows it. A body declared
/// larger than [`MAX_PLUGIN_FILE`] is refused before a byte of it is read; one that grows past
/// it is cut off and removed; a file that is not a plugin library is refused and not kept.
pub(super) async fn upload(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Vec<oibus_engine::loader::PluginReport>> {
    let too_large = || ApiError {
        status: 413,
        error: format!(
            "a plugin file may have at most {MAX_PLUGIN_FILE} bytes ({} MiB)",
            MAX_PLUGIN_FILE >> 20
        ),
        problems: Vec::new(),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_PLUGIN_FILE as u64) {
        return Err(too_large());
    }
    let mut upload = ask(&state, |reply| Command::OpenUpload {
        name,
        limit: MAX_PLUGIN_FILE as u64,
        reply,
    })
    .await?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!(
                "the upload of {:?} broke off after {} bytes: {e}",
                upload.name(),
                upload.written()
            ))
        })?;
        upload.write(&chunk).await.map_err(|e| match e {
            UploadError::TooLarge { .. } => too_large(),
            e @ UploadError::Io { .. } => ApiError::internal(e.to_string()),
        })?;
    }
    ask(&state, |reply| Command::InstallPluginFile { upload, reply })
        .await
        .map(Json)
}

/// `DELETE /api/plugins/files/{name}`: removes a file of the plugins folder (a refused upload, a
/// plugin no connector runs on, a signature), then scans the folder; the answer is every
/// remaining file's report.
pub(super) async fn remove(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Vec<oibus_engine::loader::PluginReport>> {
    ask(&state, |reply| Command::RemovePluginFile { name, reply })
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
