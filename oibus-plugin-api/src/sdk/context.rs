//! The engine, as a connector sees it.

use super::runtime;
use crate::{error::PluginError, error::Result, ffi::HostBox, model::OibusValue};
use abi_stable::std_types::{RString, RVec};
use std::{future::Future, path::Path, path::PathBuf, sync::Arc};
use tracing::instrument::WithSubscriber as _;

/// What the engine gives a connector. Cheap to clone; clone it into tasks you spawn.
#[derive(Clone)]
pub struct Context {
    host: Arc<HostBox>,
    dispatch: tracing::Dispatch,
}

impl Context {
    /// A context on `host`; events of targets starting with one of `quiet` are logged at debug.
    pub(crate) fn new(host: HostBox, quiet: &[&'static str]) -> Self {
        let host = Arc::new(host);
        let dispatch = super::logging::dispatch_for(host.clone(), quiet.to_vec());
        Self { host, dispatch }
    }

    pub(crate) fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }

    /// The id of this connector in the engine's configuration.
    pub fn connector_id(&self) -> String {
        self.host.connector_id().into()
    }

    /// A folder private to this connector, kept across restarts and plugin upgrades.
    pub fn state_dir(&self) -> PathBuf {
        PathBuf::from(self.host.state_dir().as_str())
    }

    /// A folder shared by every connector of this plugin, kept across restarts and plugin
    /// upgrades: what the connectors of one plugin have in common, such as a trust list of
    /// server certificates. The engine gives `<data>/plugin-data/<plugin id>/` (API 1.1).
    pub fn plugin_dir(&self) -> PathBuf {
        PathBuf::from(self.host.plugin_dir().as_str())
    }

    /// Hands values to the engine. Completes when every subscribed North has them durably in its
    /// cache: only then may the source consider them delivered (acknowledge, advance a cursor…).
    pub async fn add_values(&self, values: Vec<OibusValue>) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        self.host.add_values(RVec::from(values)).await.into()
    }

    /// Hands a file to the engine. Completes when the engine has its own durable copy: only then
    /// may the source remove or mark the original.
    pub async fn add_file(&self, path: &Path) -> Result<()> {
        let path = path.to_str().ok_or_else(|| {
            PluginError::permanent(format!("file path is not UTF-8: {}", path.display()))
        })?;
        self.host.add_file(RString::from(path)).await.into()
    }

    /// Tells the engine the connection to the target is lost, from a task of yours that noticed
    /// (a subscription's listener). The engine then calls `disconnect`, waits (back-off) and calls
    /// `connect` and, for a South, `subscribe` again. In a trait method, return
    /// [`PluginError::connection_lost`] instead.
    pub fn connection_lost(&self, reason: impl std::fmt::Display) {
        let reason = reason.to_string();
        self.host
            .connection_lost(abi_stable::std_types::RStr::from_str(&reason));
    }

    /// Tells the engine that `count` messages (rows, files…) of the source were deliberately not
    /// turned into data, with the reason (a payload that is not a number, a message larger than
    /// the limit, a topic no item wants). The engine counts them and shows the last reason in the
    /// connector's status; log the details yourself if they help. Use it whenever you acknowledge
    /// something to the source without handing it to [`Self::add_values`]: an acknowledged
    /// message that is neither stored nor counted is silently lost data.
    ///
    /// ```no_run
    /// # fn f(ctx: &oibus_plugin_api::prelude::Context) {
    /// ctx.dropped(1, "message on plant/a is not a number: \"hot\"");
    /// # }
    /// ```
    pub fn dropped(&self, count: u64, reason: impl std::fmt::Display) {
        let reason = reason.to_string();
        self.host
            .dropped(count, abi_stable::std_types::RStr::from_str(&reason));
    }

    /// Reports that item `item` fails, with the reason (shown in the status by item name) while
    /// the other items go on. Call [`Self::item_ok`] once it works again.
    pub fn item_failed(&self, item: &str, reason: impl std::fmt::Display) {
        let reason = reason.to_string();
        self.host.item_status(
            abi_stable::std_types::RStr::from_str(item),
            abi_stable::std_types::ROption::RSome(abi_stable::std_types::RStr::from_str(&reason)),
        );
    }

    /// Reports that item `item` works (again): it leaves the status's list of failed items.
    pub fn item_ok(&self, item: &str) {
        self.host.item_status(
            abi_stable::std_types::RStr::from_str(item),
            abi_stable::std_types::ROption::RNone,
        );
    }

    /// Spawns a background task on the plugin's runtime, with this connector's logging. Use it
    /// for subscriptions and listeners instead of `tokio::spawn`. A panic of the task is logged as
    /// an error of this connector (the task then ends as panicked).
    pub fn spawn<F>(&self, fut: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let logged = runtime::LogPanic::new(fut, self.dispatch.clone());
        let handle = runtime::handle()?;
        runtime::spawned_by(&self.host);
        Ok(handle.spawn(logged.with_subscriber(self.dispatch.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[test]
    fn events_of_a_quiet_library_are_logged_at_debug_and_the_connectors_own_are_not() {
        let (ctx, recorded) = TestHost::new("/nonexistent").context("c3");
        let host = ctx.host.clone();
        let quiet = super::Context {
            dispatch: super::super::logging::dispatch_for(host, vec!["noisy_lib"]),
            host: ctx.host.clone(),
        };
        tracing::dispatcher::with_default(quiet.dispatch(), || {
            tracing::error!(target: "noisy_lib::transport", "socket closed");
            tracing::warn!(target: "my_plugin", "item x failed");
        });
        assert_eq!(
            recorded.logs(),
            ["DEBUG socket closed", "WARN item x failed"]
        );
    }

    #[test]
    fn a_lost_connection_reaches_the_host() {
        let (ctx, recorded) = TestHost::new("/nonexistent").context("c2");
        ctx.connection_lost("broker closed the socket");
        assert_eq!(recorded.connection_losses(), ["broker closed the socket"]);
    }

    #[test]
    fn a_panicking_background_task_is_logged_as_an_error_of_the_connector() {
        let (ctx, recorded) = TestHost::new("/nonexistent").context("c1");
        let task = ctx.spawn(async { panic!("listener exploded") }).unwrap();
        let result = super::runtime::handle().unwrap().block_on(task);
        assert!(result.unwrap_err().is_panic());
        let logs = recorded.logs();
        assert!(
            logs.iter()
                .any(|l| l.starts_with("ERROR") && l.contains("listener exploded")),
            "{logs:?}"
        );
    }
}
