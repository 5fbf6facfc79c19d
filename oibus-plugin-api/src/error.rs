//! The error type that crosses the plugin boundary.

use abi_stable::{StableAbi, std_types::RString};
use std::fmt;

/// Result alias used throughout the SDK.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// What kind of failure a [`PluginError`] reports. FFI-safe and open-ended: a newer plugin may send a
/// kind this host does not know, which the host treats as [`ErrorKind::TRANSIENT`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(u8);

impl ErrorKind {
    /// A failure that may succeed if retried later (network down, server busy). The default.
    pub const TRANSIENT: Self = Self(0);
    /// A failure that will never succeed for this input (rejected payload). A North's batch or file
    /// goes straight to the error store.
    pub const PERMANENT: Self = Self(1);
    /// The settings given to the connector (or an item's settings) are invalid.
    pub const INVALID_SETTINGS: Self = Self(2);
    /// The connector does not implement the requested capability.
    pub const NOT_SUPPORTED: Self = Self(3);
    /// The plugin code panicked; the SDK caught it.
    pub const PANICKED: Self = Self(4);
    /// The engine refused or could not store the data (host side of `add_values`/`add_file`).
    pub const REJECTED_BY_HOST: Self = Self(5);
    /// The connection to the target is lost: the engine calls `disconnect`, waits (back-off) and
    /// connects again (then re-subscribes a South's subscriptions).
    pub const CONNECTION_LOST: Self = Self(6);

    /// The kind's number, for hosts that carry errors over a wire.
    ///
    /// ```
    /// use oibus_plugin_api::ErrorKind;
    /// assert_eq!(ErrorKind::from_code(ErrorKind::PERMANENT.code()), ErrorKind::PERMANENT);
    /// ```
    pub fn code(self) -> u8 {
        self.0
    }

    /// The kind of number `code` (a kind unknown to this host is kept as it is; it counts as
    /// transient).
    pub fn from_code(code: u8) -> Self {
        Self(code)
    }

    /// A stable name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::TRANSIENT => "transient",
            Self::PERMANENT => "permanent",
            Self::INVALID_SETTINGS => "invalid-settings",
            Self::NOT_SUPPORTED => "not-supported",
            Self::PANICKED => "panicked",
            Self::REJECTED_BY_HOST => "rejected-by-host",
            Self::CONNECTION_LOST => "connection-lost",
            _ => "unknown",
        }
    }

    /// Whether retrying the same operation later can succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            Self::PERMANENT | Self::INVALID_SETTINGS | Self::NOT_SUPPORTED
        )
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error returned by a connector (or by the host to a connector). FFI-safe.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// A human-readable message; name the setting, file or server at fault.
    pub message: RString,
}

impl PluginError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self {
            kind,
            message: RString::from(message.to_string()),
        }
    }
    /// A failure that may succeed later.
    pub fn transient(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::TRANSIENT, message)
    }
    /// A failure that will never succeed for this input.
    pub fn permanent(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::PERMANENT, message)
    }
    /// Invalid connector or item settings.
    pub fn invalid_settings(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::INVALID_SETTINGS, message)
    }
    /// The connection to the target is lost; the engine will reconnect.
    pub fn connection_lost(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::CONNECTION_LOST, message)
    }
    /// The capability is not implemented by this connector.
    pub fn not_supported(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NOT_SUPPORTED, message)
    }
    /// The message as a `&str`.
    pub fn message(&self) -> &str {
        self.message.as_str()
    }
}

/// An error with the chain of its causes, `outer: cause: root cause`, each said once. Many
/// client libraries leave the cause out of their own message ("error connecting to server",
/// without "Connection refused"): put this in your messages instead of `e.to_string()`.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginError({:?}: {})", self.kind, self.message)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.name())
    }
}

impl std::error::Error for PluginError {}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        Self::transient(e)
    }
}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> Self {
        Self::permanent(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error connecting to server")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_appended_once_each() {
        let refused = || std::io::Error::other("Connection refused");
        assert_eq!(
            with_causes(&Outer(refused())),
            "error connecting to server: Connection refused"
        );
        assert_eq!(with_causes(&refused()), "Connection refused");
    }
}
