//! Why a command was refused, in the engine's words: a front end turns a [`Refusal`] into its
//! own answer (the admin API into an HTTP status).

/// Why a command was refused, in the engine's words (a front end turns it into its own answer:
/// the admin API into an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// What the command names does not exist.
    NotFound,
    /// The command is invalid (settings that do not fit their schema, a bad value).
    Invalid,
    /// The command conflicts with the engine's state (the embedded configuration).
    Conflict,
    /// The command ran and its test failed, or the plugin does not offer it.
    Failed,
    /// A source the command read from failed.
    SourceFailed,
    /// The engine could not carry it out.
    Internal,
}

/// A refused command: why, the message, and the problems, each with a JSON pointer into the
/// connector configuration or settings the command carried.
#[derive(Debug, Clone)]
pub struct CommandError {
    /// Why.
    pub refusal: Refusal,
    /// What is wrong.
    pub error: String,
    /// Each problem, with the JSON pointer of the offending value in what the command carried.
    pub problems: Vec<PointedProblem>,
}

/// One problem of what a command carried.
#[derive(Debug, Clone)]
pub struct PointedProblem {
    /// JSON pointer into the connector configuration or settings (`/settings/port`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl CommandError {
    /// A refusal with a message and no pointed problem.
    pub fn new(refusal: Refusal, what: impl Into<String>) -> Self {
        Self {
            refusal,
            error: what.into(),
            problems: Vec::new(),
        }
    }
    /// What the command names does not exist.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(Refusal::NotFound, what)
    }
    /// The command is invalid (a setting, a value, a file it carries).
    pub fn invalid(what: impl Into<String>) -> Self {
        Self::new(Refusal::Invalid, what)
    }
    /// The command conflicts with the engine's state.
    pub fn conflict(what: impl Into<String>) -> Self {
        Self::new(Refusal::Conflict, what)
    }
    /// The engine could not carry it out.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::new(Refusal::Internal, what.to_string())
    }
}
