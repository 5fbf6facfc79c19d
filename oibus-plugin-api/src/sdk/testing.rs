//! Helpers for unit-testing a connector without the engine: a [`Context`] whose `add_values` and
//! `add_file` record what the connector produced.
//!
//! ```
//! use oibus_plugin_api::prelude::*;
//! use oibus_plugin_api::sdk::testing::TestHost;
//!
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(crate = "oibus_plugin_api::serde")]
//! #[schemars(crate = "oibus_plugin_api::schemars")]
//! struct Settings {
//!     value: f64,
//! }
//!
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(crate = "oibus_plugin_api::serde")]
//! #[schemars(crate = "oibus_plugin_api::schemars")]
//! struct NoItemSettings {}
//!
//! /// A South whose items all read the same constant.
//! struct MySouth {
//!     value: f64,
//!     ctx: Context,
//! }
//!
//! impl Connector for MySouth {
//!     type Settings = Settings;
//!     fn new(settings: Settings, ctx: Context) -> Result<Self> {
//!         Ok(Self { value: settings.value, ctx })
//!     }
//! }
//!
//! impl South for MySouth {
//!     type ItemSettings = NoItemSettings;
//! }
//!
//! impl QueriesLastPoint for MySouth {
//!     async fn last_point_query(&mut self, items: &[SouthItem<NoItemSettings>]) -> Result<()> {
//!         let now = Timestamp::now();
//!         let values = items.iter().map(|i| OibusValue::new(i.name.as_str(), now, self.value));
//!         self.ctx.add_values(values.collect()).await
//!     }
//! }
//!
//! // In a test module: #[tokio::test(crate = "oibus_plugin_api::tokio")]
//! #[tokio::main(crate = "oibus_plugin_api::tokio")]
//! async fn main() -> Result<()> {
//!     let state_dir = std::env::temp_dir();
//!     let (ctx, recorded) = TestHost::new(state_dir).context("my-south");
//!     let mut south = MySouth::new(Settings { value: 1.5 }, ctx)?;
//!     let items: Vec<_> = ["a", "b", "c"]
//!         .map(|name| SouthItem {
//!             name: name.to_string(),
//!             enabled: true,
//!             scan_mode: "every-second".to_string(),
//!             settings: NoItemSettings {},
//!         })
//!         .into();
//!     south.last_point_query(&items).await?;
//!     assert_eq!(recorded.values().len(), 3);
//!     assert_eq!(recorded.values()[0].value, DataValue::Float(1.5));
//!
//!     // An engine whose cache is full refuses the data: the query fails, nothing is recorded.
//!     recorded.refuse(Some("cache full"));
//!     assert!(south.last_point_query(&items).await.is_err());
//!     assert_eq!(recorded.values().len(), 3);
//!     Ok(())
//! }
//! ```

use super::context::Context;
use crate::{
    error::PluginError,
    ffi::{FfiHost, FfiHost_TO, FfiResultFuture, LogLevel},
    model::OibusValue,
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RStr, RString, RVec},
};
use async_ffi::FutureExt as _;
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

/// What a connector handed to a [`TestHost`].
#[derive(Default)]
pub struct Recorded {
    values: Mutex<Vec<OibusValue>>,
    files: Mutex<Vec<(PathBuf, Vec<u8>)>>,
    logs: Mutex<Vec<String>>,
    lost: Mutex<Vec<String>>,
    dropped: Mutex<Vec<(u64, String)>>,
    failed_items: Mutex<std::collections::BTreeMap<String, String>>,
    refuse: Mutex<Option<String>>,
}

impl Recorded {
    /// Every value `add_values` accepted so far, in the order of the calls (values of a call
    /// refused with [`Recorded::refuse`] are not in it).
    pub fn values(&self) -> Vec<OibusValue> {
        self.values.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// Every file received so far, with the content it had when it was handed over.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        self.files.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// Every log line (`LEVEL message`).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// Every `connection_lost` reported, with its reason.
    pub fn connection_losses(&self) -> Vec<String> {
        self.lost.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// Every `dropped` report: count and reason.
    pub fn dropped(&self) -> Vec<(u64, String)> {
        self.dropped.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// The items reported failing now (`item_failed` not followed by `item_ok`), with the reason.
    pub fn failed_items(&self) -> std::collections::BTreeMap<String, String> {
        self.failed_items
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
    /// From now on, refuse data with this message (`None` to accept again), as an engine whose
    /// cache is full or broken would.
    pub fn refuse(&self, message: Option<&str>) {
        if let Ok(mut r) = self.refuse.lock() {
            *r = message.map(str::to_string);
        }
    }
    fn refusal(&self) -> Option<PluginError> {
        self.refuse
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .map(|m| PluginError::new(crate::error::ErrorKind::REJECTED_BY_HOST, m))
    }
}

/// An in-memory host for unit tests.
pub struct TestHost {
    state_dir: PathBuf,
    plugin_dir: Option<PathBuf>,
    recorded: Arc<Recorded>,
}

struct Host {
    id: String,
    state_dir: PathBuf,
    plugin_dir: PathBuf,
    recorded: Arc<Recorded>,
}

impl TestHost {
    /// A host whose connectors get `state_dir` as their state folder.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            plugin_dir: None,
            recorded: Arc::default(),
        }
    }

    /// Gives the connectors `plugin_dir` as the folder shared by the plugin's connectors
    /// (`ctx.plugin_dir()`); without it, `<state_dir>/plugin`.
    pub fn plugin_dir(mut self, plugin_dir: impl Into<PathBuf>) -> Self {
        self.plugin_dir = Some(plugin_dir.into());
        self
    }

    /// A context for connector `id`, and the record of what it produces.
    pub fn context(self, id: &str) -> (Context, Arc<Recorded>) {
        let host = Host {
            id: id.to_string(),
            plugin_dir: self
                .plugin_dir
                .unwrap_or_else(|| self.state_dir.join("plugin")),
            state_dir: self.state_dir,
            recorded: self.recorded.clone(),
        };
        (
            Context::new(FfiHost_TO::from_value(host, TD_Opaque), &[]),
            self.recorded,
        )
    }
}

impl FfiHost for Host {
    fn connector_id(&self) -> RString {
        self.id.as_str().into()
    }
    fn state_dir(&self) -> RString {
        self.state_dir.to_string_lossy().into_owned().into()
    }
    fn max_level(&self) -> LogLevel {
        LogLevel::DEBUG
    }
    fn plugin_dir(&self) -> RString {
        self.plugin_dir.to_string_lossy().into_owned().into()
    }
    fn log(&self, level: LogLevel, _target: RStr<'_>, message: RStr<'_>) {
        if let Ok(mut l) = self.recorded.logs.lock() {
            let name = match level {
                LogLevel::ERROR => "ERROR",
                LogLevel::WARN => "WARN",
                LogLevel::INFO => "INFO",
                LogLevel::DEBUG => "DEBUG",
                _ => "TRACE",
            };
            l.push(format!("{name} {}", message.as_str()));
        }
    }
    fn connection_lost(&self, reason: RStr<'_>) {
        if let Ok(mut l) = self.recorded.lost.lock() {
            l.push(reason.as_str().to_string());
        }
    }
    fn dropped(&self, count: u64, reason: RStr<'_>) {
        if let Ok(mut l) = self.recorded.dropped.lock() {
            l.push((count, reason.as_str().to_string()));
        }
    }
    fn item_status(&self, item: RStr<'_>, error: ROption<RStr<'_>>) {
        if let Ok(mut m) = self.recorded.failed_items.lock() {
            match error {
                ROption::RSome(e) => {
                    m.insert(item.as_str().to_string(), e.as_str().to_string());
                }
                ROption::RNone => {
                    m.remove(item.as_str());
                }
            }
        }
    }
    fn add_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()> {
        let result = match self.recorded.refusal() {
            Some(e) => Err(e),
            None => {
                if let Ok(mut v) = self.recorded.values.lock() {
                    v.extend(values.into_vec());
                }
                Ok(())
            }
        };
        async move { RResult::from(result) }.into_ffi()
    }
    fn add_file(&self, path: RString) -> FfiResultFuture<()> {
        let result = match self.recorded.refusal() {
            Some(e) => Err(e),
            None => std::fs::read(path.as_str())
                .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.as_str())))
                .map(|bytes| {
                    if let Ok(mut f) = self.recorded.files.lock() {
                        f.push((PathBuf::from(path.as_str()), bytes));
                    }
                }),
        };
        async move { RResult::from(result) }.into_ffi()
    }
}
