//! The future every asynchronous call across the boundary returns.

use crate::error::PluginError;
use abi_stable::std_types::RResult;
use async_ffi::FfiFuture;

/// The future type every asynchronous call across the boundary returns.
pub type FfiResultFuture<T> = FfiFuture<RResult<T, PluginError>>;
