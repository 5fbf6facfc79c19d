//! The API's error answer: an HTTP status, what is wrong, and each problem at its JSON pointer
//! in the request body. The engine refuses commands in its own words ([`CommandError`]); this
//! is where they become HTTP.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use oibus_engine::engine::commands::{CommandError, PointedProblem, Refusal};
use schemars::JsonSchema;
use serde::Serialize;

/// A refused request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiError {
    /// HTTP status code.
    #[serde(skip)]
    pub status: u16,
    /// What is wrong.
    pub error: String,
    /// Each problem, with the JSON pointer of the offending value in the request body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// One problem of a request body.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// JSON pointer into the body (`/settings/port`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl From<PointedProblem> for Problem {
    fn from(p: PointedProblem) -> Self {
        Self {
            pointer: p.pointer,
            message: p.message,
        }
    }
}

impl ApiError {
    fn with(status: u16, what: impl Into<String>) -> Self {
        Self {
            status,
            error: what.into(),
            problems: Vec::new(),
        }
    }
    /// A 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::with(404, what)
    }
    /// A 400.
    pub fn bad_request(what: impl Into<String>) -> Self {
        Self::with(400, what)
    }
    /// A 500.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::with(500, what.to_string())
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        let status = match e.refusal {
            Refusal::NotFound => 404,
            Refusal::Invalid => 400,
            Refusal::Conflict => 409,
            Refusal::Failed => 422,
            Refusal::SourceFailed => 502,
            Refusal::Internal => 500,
        };
        Self {
            status,
            error: e.error,
            problems: e.problems.into_iter().map(Problem::from).collect(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_and_keeps_its_problems() {
        let mut e = CommandError::invalid("invalid settings");
        e.problems.push(PointedProblem {
            pointer: "/settings/port".into(),
            message: "not an integer".into(),
        });
        let api = ApiError::from(e);
        assert_eq!((api.status, api.problems.len()), (400, 1));
        for (refusal, status) in [
            (Refusal::NotFound, 404),
            (Refusal::Conflict, 409),
            (Refusal::Failed, 422),
            (Refusal::SourceFailed, 502),
            (Refusal::Internal, 500),
        ] {
            assert_eq!(
                ApiError::from(CommandError::new(refusal, "x")).status,
                status
            );
        }
    }
}
