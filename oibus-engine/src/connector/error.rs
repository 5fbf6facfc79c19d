//! Typed failures of connector calls.

use oibus_plugin_api::{ErrorKind, PluginError};
use std::time::Duration;

/// A failed connector call, always naming the connector and the operation.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The connector type is not provided by any loaded plugin.
    #[error("connector {connector:?}: unknown type {type_id:?} (loaded types: {available})")]
    UnknownType {
        /// Connector id.
        connector: String,
        /// Requested type.
        type_id: String,
        /// The types that are available.
        available: String,
    },
    /// Settings do not match the type's schema.
    #[error(transparent)]
    InvalidSettings(#[from] crate::schema::SchemaError),
    /// The plugin returned an error.
    #[error("connector {connector:?}: {op} failed: {error}")]
    Plugin {
        /// Connector id.
        connector: String,
        /// Operation.
        op: &'static str,
        /// The plugin's error.
        error: PluginError,
    },
    /// The plugin panicked; the panic was caught and the host keeps running.
    #[error("connector {connector:?}: {op} panicked in the plugin: {message}")]
    Panicked {
        /// Connector id.
        connector: String,
        /// Operation.
        op: &'static str,
        /// The panic message.
        message: String,
    },
    /// The engine itself failed around the call (its cache store, for example).
    #[error("connector {connector:?}: engine error: {message}")]
    Engine {
        /// Connector id.
        connector: String,
        /// What failed.
        message: String,
    },
    /// An isolated connector crashed too often: it is not restarted until an operator restarts it.
    #[error("connector {connector:?}: quarantined: {reason}")]
    Quarantined {
        /// Connector id.
        connector: String,
        /// The crashes, with the last one's cause.
        reason: String,
    },
    /// The child process of an isolated connector could not be started or refused the plugin.
    #[error("connector {connector:?}: plugin host process: {message}")]
    Host {
        /// Connector id.
        connector: String,
        /// What failed.
        message: String,
    },
    /// The call did not complete in time; the plugin's task was cancelled.
    #[error("connector {connector:?}: {op} timed out after {after:?}")]
    TimedOut {
        /// Connector id.
        connector: String,
        /// Operation.
        op: &'static str,
        /// The time-out that expired.
        after: Duration,
    },
}

impl ConnectorError {
    pub(crate) fn from_plugin(connector: &str, op: &'static str, error: PluginError) -> Self {
        if error.kind == ErrorKind::PANICKED {
            Self::Panicked {
                connector: connector.to_string(),
                op,
                message: error.message.into_string(),
            }
        } else {
            Self::Plugin {
                connector: connector.to_string(),
                op,
                error,
            }
        }
    }

    /// What the plugin said, when it said something (`probe: value 7 refused (permanent)`);
    /// else the whole error: for a reason kept with data the error store sets aside, where the
    /// connector and the operation go without saying.
    pub fn reason(&self) -> String {
        match self {
            Self::Plugin { error, .. } => error.to_string(),
            other => other.to_string(),
        }
    }

    /// Whether the connection to the target should be considered lost: the plugin said so, or a
    /// call hung until its time-out. The engine then reconnects.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Self::Plugin { error, .. } => error.kind == ErrorKind::CONNECTION_LOST,
            Self::TimedOut { .. } => true,
            _ => false,
        }
    }

    /// Whether retrying later may succeed (used by the engine's retry and reconnect logic).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Plugin { error, .. } => error.kind.is_retryable(),
            Self::UnknownType { .. } | Self::InvalidSettings(_) | Self::Quarantined { .. } => false,
            Self::Host { .. } => true,
            Self::Panicked { .. } | Self::TimedOut { .. } | Self::Engine { .. } => true,
        }
    }
}
