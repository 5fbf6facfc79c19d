//! What the engine offers a connector: data acknowledgement, logging, identity, a state folder.
// The sabi_trait macro generates impls inside a const block.
#![allow(non_local_definitions)]

use super::future::FfiResultFuture;
use crate::model::OibusValue;
use abi_stable::{
    StableAbi, sabi_trait,
    std_types::{RBox, ROption, RStr, RString, RVec},
};

/// Log levels forwarded from a plugin to the host (`tracing` levels).
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogLevel(pub u8);

impl LogLevel {
    /// Errors.
    pub const ERROR: Self = Self(1);
    /// Warnings.
    pub const WARN: Self = Self(2);
    /// Information.
    pub const INFO: Self = Self(3);
    /// Debugging.
    pub const DEBUG: Self = Self(4);
    /// Tracing.
    pub const TRACE: Self = Self(5);
}

/// The host context, implemented by the engine, given to each connector when it is created.
///
/// Evolution: functions are only ever appended, after the last one of API 1.0, each with a
/// default body (used when the vtable comes from an older host).
#[sabi_trait]
pub trait FfiHost: Send + Sync + 'static {
    /// The id of the connector this context belongs to.
    fn connector_id(&self) -> RString;
    /// A folder private to this connector, kept across restarts and upgrades.
    fn state_dir(&self) -> RString;
    /// The most verbose level the host wants; more verbose records may be skipped.
    fn max_level(&self) -> LogLevel;
    /// Forwards one log record into the host's `tracing`, inside the connector's span.
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
    /// Hands values to the engine; completes when they are durably accepted.
    fn add_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()>;
    /// Hands a file to the engine; completes when it is durably accepted (the file may then be removed).
    fn add_file(&self, path: RString) -> FfiResultFuture<()>;
    /// Tells the engine the connection to the target is lost (from a background task, such as a
    /// subscription's listener): it calls `disconnect`, backs off and connects again.
    fn connection_lost(&self, reason: RStr<'_>);
    /// Tells the engine that `count` messages (or rows, files…) were deliberately not turned into
    /// data, and why: counted and shown in the connector's status, with the last reason.
    fn dropped(&self, count: u64, reason: RStr<'_>);
    /// The state of one item: `RNone` when it works (again), the reason when it fails. Shown in
    /// the connector's status by item name. (Last function of API 1.0: later ones are appended
    /// after it, each with a default body that runs when an older host lacks it.)
    #[sabi(last_prefix_field)]
    fn item_status(&self, item: RStr<'_>, error: ROption<RStr<'_>>);

    /// A folder shared by every connector of this plugin, kept across restarts and upgrades
    /// (API 1.1), such as an OPC UA trust list. Empty from a host without it.
    fn plugin_dir(&self) -> RString {
        RString::new()
    }
}

/// An owned host context.
pub type HostBox = FfiHost_TO<RBox<()>>;
