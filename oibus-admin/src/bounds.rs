//! Bounds of what a request puts in its path and query: an id, a file name or a filter of a
//! megabyte is refused before any route reads it (and never echoed whole).

use super::error::ApiError;
use axum::{extract::Request, middleware::Next, response::Response};

/// Longest path segment (an id, a plugin file name): a file name's limit.
pub const MAX_SEGMENT: usize = 255;

/// Longest query string (the filters of the status and log pages).
pub const MAX_QUERY: usize = 4096;

/// Refuses a request whose path segment or query is longer than the bounds.
pub async fn bounded(request: Request, next: Next) -> Result<Response, ApiError> {
    let uri = request.uri();
    if let Some(len) = uri
        .path()
        .split('/')
        .map(str::len)
        .find(|len| *len > MAX_SEGMENT)
    {
        return Err(ApiError::bad_request(format!(
            "a path segment of {len} bytes is longer than the {MAX_SEGMENT} allowed (an id holds \
             at most {})",
            oibus_engine::config::limits::MAX_ID
        )));
    }
    if let Some(query) = uri.query()
        && query.len() > MAX_QUERY
    {
        return Err(ApiError::bad_request(format!(
            "a query string of {} bytes is longer than the {MAX_QUERY} allowed",
            query.len()
        )));
    }
    Ok(next.run(request).await)
}
