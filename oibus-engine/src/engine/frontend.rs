//! What is served beside the engine and drives it only through its command channel (the admin
//! API, later a console): the engine starts and stops it without knowing what it is, so that
//! imports run one way, from the front ends to the engine.

use super::{commands::Command, data_dir::DataDir, status::StatusBoard};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A front end, started once the connectors run.
pub trait Frontend: Send {
    /// Claims what it needs from the system (its listening address) before any connector
    /// starts, so that an address in use stops the engine before it has run anything.
    fn bind(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Starts serving: `commands` reach the engine's main loop, `board` is the live status.
    fn start(
        self: Box<Self>,
        data: DataDir,
        commands: mpsc::Sender<Command>,
        board: Arc<StatusBoard>,
    ) -> BoxFuture<'static, anyhow::Result<Box<dyn RunningFrontend>>>;
}

/// A started front end.
pub trait RunningFrontend: Send {
    /// Stops it and waits until it has (the engine is stopping).
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}
