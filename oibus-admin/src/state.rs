//! What every handler shares: the tokens, the channel to the engine, its status board, the
//! console's sessions, the count of wrong tokens per client.

use crate::{console::session::Sessions, throttle::Throttle};
use oibus_engine::engine::{commands::Command, status::StatusBoard};
use std::sync::Arc;
use tokio::sync::mpsc;

/// State shared by the handlers.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub token: Arc<String>,
    pub metrics_token: Option<Arc<String>>,
    pub commands: mpsc::Sender<Command>,
    pub board: Arc<StatusBoard>,
    pub sessions: Arc<Sessions>,
    pub throttle: Arc<Throttle>,
    /// Whether the API is served over HTTPS (the console's cookie is then `Secure`).
    pub tls: bool,
}
