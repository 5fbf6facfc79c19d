//! What the service functions take and answer, shared by both platforms' implementations.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// How a service is registered.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The service's key name (`sc query <name>`).
    pub name: String,
    /// The name the Services console shows.
    pub display_name: String,
    /// The description the Services console shows.
    pub description: String,
    /// The program the manager starts (an absolute path).
    pub program: PathBuf,
    /// Its arguments.
    pub arguments: Vec<OsString>,
    /// Started with the system (`true`) or only on demand.
    pub automatic: bool,
}

/// Where a service is in its life, as the manager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not running. `exit_code` is what the service reported when it stopped (0: a clean stop).
    Stopped {
        /// The service's own exit code (the `oibus` exit code), 0 when it stopped cleanly.
        exit_code: u32,
    },
    /// Starting.
    StartPending,
    /// Running.
    Running,
    /// Stopping.
    StopPending,
    /// Paused, or between pause and continue (the gateway never asks for either).
    Paused,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Stopped { exit_code: 0 } => f.write_str("stopped"),
            State::Stopped { exit_code } => write!(f, "stopped with code {exit_code}"),
            State::StartPending => f.write_str("starting"),
            State::Running => f.write_str("running"),
            State::StopPending => f.write_str("stopping"),
            State::Paused => f.write_str("paused"),
        }
    }
}

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// This platform has no service manager of this kind.
    #[error(
        "Windows services exist only on Windows; on Linux run the engine under systemd (the .deb \
         installs oibus.service: `systemctl enable --now oibus`)"
    )]
    Unsupported,
    /// No service of that name is registered.
    #[error("no service named {name:?} is installed")]
    NotInstalled {
        /// The service name.
        name: String,
    },
    /// A service of that name is registered already.
    #[error(
        "a service named {name:?} is installed already (`oibus service uninstall --name {name}` first)"
    )]
    AlreadyInstalled {
        /// The service name.
        name: String,
    },
    /// The user may not do this (installing and removing services needs an administrator).
    #[error("{action} service {name:?}: access denied (run it from an administrator's prompt)")]
    AccessDenied {
        /// What was being done.
        action: &'static str,
        /// The service name.
        name: String,
    },
    /// The program was started by hand, not by the service manager.
    #[error(
        "`oibus service run` is started by the Windows service manager, not by hand (use \
         `oibus run` in a console, or `oibus service start`)"
    )]
    NotUnderManager,
    /// Any other failure of the manager.
    #[error("{action} service {name:?}: {source}")]
    Os {
        /// What was being done.
        action: &'static str,
        /// The service name.
        name: String,
        /// What the system said.
        source: std::io::Error,
    },
}
