//! Turns a vendor's trait implementation into an FFI connector.

use super::{context::Context, runtime::spawn_ffi, traits::SouthItem};
use crate::{
    error::PluginError,
    error::Result,
    ffi::{FfiConnector, FfiResultFuture},
    manifest::Capability,
    model::Item,
    model::OibusValue,
    model::Timestamp,
};
use abi_stable::std_types::{ROption, RString, RVec};
use serde::de::DeserializeOwned;
use std::{future::Future, mem::ManuallyDrop, path::PathBuf, pin::Pin, sync::Arc};
use tokio::sync::Mutex;
use tracing::instrument::WithSubscriber as _;

pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

type ValuesFn<T> = for<'a> fn(&'a mut T, Vec<OibusValue>) -> BoxFut<'a, ()>;
type FileFn<T> = for<'a> fn(&'a mut T, PathBuf) -> BoxFut<'a, ()>;
type FilesFn<T> = for<'a> fn(&'a mut T, Vec<PathBuf>) -> BoxFut<'a, ()>;
type ItemsFn<T> = for<'a> fn(&'a mut T, Vec<Item>) -> BoxFut<'a, ()>;
type HistoryFn<T> =
    for<'a> fn(&'a mut T, Vec<Item>, Timestamp, Timestamp) -> BoxFut<'a, Option<Timestamp>>;
type TestItemFn<T> = for<'a> fn(&'a mut T, Item) -> BoxFut<'a, Vec<OibusValue>>;
type BrowseFn<T> = for<'a> fn(&'a mut T, String) -> BoxFut<'a, String>;

/// The capability entry points of a connector type; `None` where not implemented.
pub(crate) struct Caps<T> {
    pub handle_values: Option<ValuesFn<T>>,
    pub handle_file: Option<FileFn<T>>,
    pub handle_files: Option<FilesFn<T>>,
    pub last_point: Option<ItemsFn<T>>,
    pub file_query: Option<ItemsFn<T>>,
    pub history: Option<HistoryFn<T>>,
    pub subscribe: Option<ItemsFn<T>>,
    pub unsubscribe: Option<ItemsFn<T>>,
    pub test_item: Option<TestItemFn<T>>,
    pub browse: Option<BrowseFn<T>>,
}

impl<T> Clone for Caps<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Caps<T> {}

impl<T> Default for Caps<T> {
    fn default() -> Self {
        Self {
            handle_values: None,
            handle_file: None,
            handle_files: None,
            last_point: None,
            file_query: None,
            history: None,
            subscribe: None,
            unsubscribe: None,
            test_item: None,
            browse: None,
        }
    }
}

impl<T> Caps<T> {
    pub fn list(&self) -> Vec<Capability> {
        let mut v = Vec::new();
        if self.handle_values.is_some() {
            v.push(Capability::HandlesValues);
        }
        if self.handle_file.is_some() {
            v.push(Capability::HandlesFile);
        }
        if self.last_point.is_some() {
            v.push(Capability::QueriesLastPoint);
        }
        if self.file_query.is_some() {
            v.push(Capability::QueriesFile);
        }
        if self.history.is_some() {
            v.push(Capability::QueriesHistory);
        }
        if self.subscribe.is_some() {
            v.push(Capability::QueriesSubscription);
        }
        if self.test_item.is_some() {
            v.push(Capability::TestsItem);
        }
        if self.browse.is_some() {
            v.push(Capability::Browses);
        }
        if self.handle_files.is_some() {
            v.push(Capability::HandlesFileBatches);
        }
        v
    }
}

/// Deserializes the settings of each item, naming the item at fault.
pub(crate) fn parse_items<S: DeserializeOwned>(items: Vec<Item>) -> Result<Vec<SouthItem<S>>> {
    items
        .into_iter()
        .map(|item| {
            let settings = serde_json::from_str(&item.settings).map_err(|e| {
                PluginError::invalid_settings(format!(
                    "item {:?}: invalid settings: {e}",
                    item.name.as_str()
                ))
            })?;
            Ok(SouthItem {
                name: item.name.into(),
                enabled: item.enabled,
                scan_mode: item.scan_mode.into(),
                settings,
            })
        })
        .collect()
}

/// The object-safe view of one vendor connector inside the plugin.
pub(crate) trait DynConnector: Send {
    fn start(&mut self) -> BoxFut<'_, ()>;
    fn connect(&mut self) -> BoxFut<'_, ()>;
    fn stop(&mut self) -> BoxFut<'_, ()>;
    fn disconnect(&mut self) -> BoxFut<'_, ()>;
    fn test_connection(&mut self) -> BoxFut<'_, ()>;
    fn handle_values(&mut self, values: Vec<OibusValue>) -> BoxFut<'_, ()>;
    fn handle_file(&mut self, path: PathBuf) -> BoxFut<'_, ()>;
    fn handle_files(&mut self, paths: Vec<PathBuf>) -> BoxFut<'_, ()>;
    fn last_point_query(&mut self, items: Vec<Item>) -> BoxFut<'_, ()>;
    fn file_query(&mut self, items: Vec<Item>) -> BoxFut<'_, ()>;
    fn history_query(
        &mut self,
        items: Vec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> BoxFut<'_, Option<Timestamp>>;
    fn subscribe(&mut self, items: Vec<Item>) -> BoxFut<'_, ()>;
    fn unsubscribe(&mut self, items: Vec<Item>) -> BoxFut<'_, ()>;
    fn test_item(&mut self, item: Item) -> BoxFut<'_, Vec<OibusValue>>;
    fn browse(&mut self, request: String) -> BoxFut<'_, String>;
}

pub(crate) struct Adapter<T> {
    pub inner: T,
    pub caps: Caps<T>,
    pub type_id: &'static str,
}

impl<T> Adapter<T> {
    fn unsupported<R: Send + 'static>(&self, cap: Capability) -> BoxFut<'static, R> {
        let msg = format!("connector type {:?} does not implement {cap}", self.type_id);
        Box::pin(async move { Err(PluginError::not_supported(msg)) })
    }
}

impl<T: super::traits::Connector> DynConnector for Adapter<T> {
    fn start(&mut self) -> BoxFut<'_, ()> {
        Box::pin(self.inner.start())
    }
    fn connect(&mut self) -> BoxFut<'_, ()> {
        Box::pin(self.inner.connect())
    }
    fn stop(&mut self) -> BoxFut<'_, ()> {
        Box::pin(self.inner.stop())
    }
    fn disconnect(&mut self) -> BoxFut<'_, ()> {
        Box::pin(self.inner.disconnect())
    }
    fn test_connection(&mut self) -> BoxFut<'_, ()> {
        Box::pin(self.inner.test_connection())
    }
    fn handle_values(&mut self, values: Vec<OibusValue>) -> BoxFut<'_, ()> {
        match self.caps.handle_values {
            Some(f) => f(&mut self.inner, values),
            None => self.unsupported(Capability::HandlesValues),
        }
    }
    fn handle_file(&mut self, path: PathBuf) -> BoxFut<'_, ()> {
        match self.caps.handle_file {
            Some(f) => f(&mut self.inner, path),
            None => self.unsupported(Capability::HandlesFile),
        }
    }
    fn handle_files(&mut self, paths: Vec<PathBuf>) -> BoxFut<'_, ()> {
        match self.caps.handle_files {
            Some(f) => f(&mut self.inner, paths),
            None => self.unsupported(Capability::HandlesFileBatches),
        }
    }
    fn last_point_query(&mut self, items: Vec<Item>) -> BoxFut<'_, ()> {
        match self.caps.last_point {
            Some(f) => f(&mut self.inner, items),
            None => self.unsupported(Capability::QueriesLastPoint),
        }
    }
    fn file_query(&mut self, items: Vec<Item>) -> BoxFut<'_, ()> {
        match self.caps.file_query {
            Some(f) => f(&mut self.inner, items),
            None => self.unsupported(Capability::QueriesFile),
        }
    }
    fn history_query(
        &mut self,
        items: Vec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> BoxFut<'_, Option<Timestamp>> {
        match self.caps.history {
            Some(f) => f(&mut self.inner, items, start, end),
            None => self.unsupported(Capability::QueriesHistory),
        }
    }
    fn subscribe(&mut self, items: Vec<Item>) -> BoxFut<'_, ()> {
        match self.caps.subscribe {
            Some(f) => f(&mut self.inner, items),
            None => self.unsupported(Capability::QueriesSubscription),
        }
    }
    fn unsubscribe(&mut self, items: Vec<Item>) -> BoxFut<'_, ()> {
        match self.caps.unsubscribe {
            Some(f) => f(&mut self.inner, items),
            None => self.unsupported(Capability::QueriesSubscription),
        }
    }
    fn test_item(&mut self, item: Item) -> BoxFut<'_, Vec<OibusValue>> {
        match self.caps.test_item {
            Some(f) => f(&mut self.inner, item),
            None => self.unsupported(Capability::TestsItem),
        }
    }
    fn browse(&mut self, request: String) -> BoxFut<'_, String> {
        match self.caps.browse {
            Some(f) => f(&mut self.inner, request),
            None => self.unsupported(Capability::Browses),
        }
    }
}

/// `fut` with its success turned into the FFI type the vtable returns (`Vec` into `RVec`…).
fn converted<T, R>(fut: FfiResultFuture<T>) -> FfiResultFuture<R>
where
    T: Send + 'static,
    R: From<T> + Send + 'static,
{
    async_ffi::FutureExt::into_ffi(async move { fut.await.map(R::from) })
}

/// The FFI connector handed to the host: calls run one at a time on the plugin runtime, with the
/// connector's logging.
pub(crate) struct FfiAdapter {
    /// Dropped by hand in `Drop`, to catch a panic of the vendor's destructor.
    inner: ManuallyDrop<Arc<Mutex<Box<dyn DynConnector>>>>,
    ctx: Context,
}

impl FfiAdapter {
    pub fn new(inner: Box<dyn DynConnector>, ctx: Context) -> Self {
        Self {
            inner: ManuallyDrop::new(Arc::new(Mutex::new(inner))),
            ctx,
        }
    }

    fn call<R, F>(&self, what: &'static str, f: F) -> FfiResultFuture<R>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a mut dyn DynConnector) -> BoxFut<'a, R> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let fut = async move {
            let mut guard = inner.lock().await;
            f(guard.as_mut()).await
        };
        spawn_ffi(what, fut.with_subscriber(self.ctx.dispatch().clone()))
    }
}

impl Drop for FfiAdapter {
    fn drop(&mut self) {
        // The vendor's Drop runs here, called from the host through an `extern "C"` vtable:
        // a panic must not unwind across it.
        // SAFETY: `inner` is never used again after this point.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(inner)))
        {
            let msg = super::runtime::panic_message(&*p);
            tracing::dispatcher::with_default(self.ctx.dispatch(), || {
                tracing::error!("connector panicked while being dropped: {msg}")
            });
        }
    }
}

impl FfiConnector for FfiAdapter {
    fn start(&self) -> FfiResultFuture<()> {
        self.call("start", |c| c.start())
    }
    fn connect(&self) -> FfiResultFuture<()> {
        self.call("connect", |c| c.connect())
    }
    fn stop(&self) -> FfiResultFuture<()> {
        self.call("stop", |c| c.stop())
    }
    fn disconnect(&self) -> FfiResultFuture<()> {
        self.call("disconnect", |c| c.disconnect())
    }
    fn test_connection(&self) -> FfiResultFuture<()> {
        self.call("test_connection", |c| c.test_connection())
    }
    fn handle_values(&self, values: RVec<OibusValue>) -> FfiResultFuture<()> {
        let values = values.into_vec();
        self.call("handle_values", move |c| c.handle_values(values))
    }
    fn handle_file(&self, path: RString) -> FfiResultFuture<()> {
        let path = PathBuf::from(path.into_string());
        self.call("handle_file", move |c| c.handle_file(path))
    }
    fn last_point_query(&self, items: RVec<Item>) -> FfiResultFuture<()> {
        let items = items.into_vec();
        self.call("last_point_query", move |c| c.last_point_query(items))
    }
    fn file_query(&self, items: RVec<Item>) -> FfiResultFuture<()> {
        let items = items.into_vec();
        self.call("file_query", move |c| c.file_query(items))
    }
    fn history_query(
        &self,
        items: RVec<Item>,
        start: Timestamp,
        end: Timestamp,
    ) -> FfiResultFuture<ROption<Timestamp>> {
        let items = items.into_vec();
        let fut = self.call("history_query", move |c| c.history_query(items, start, end));
        converted(fut)
    }
    fn subscribe(&self, items: RVec<Item>) -> FfiResultFuture<()> {
        let items = items.into_vec();
        self.call("subscribe", move |c| c.subscribe(items))
    }
    fn unsubscribe(&self, items: RVec<Item>) -> FfiResultFuture<()> {
        let items = items.into_vec();
        self.call("unsubscribe", move |c| c.unsubscribe(items))
    }
    fn browse(&self, request: RString) -> FfiResultFuture<RString> {
        let request = request.into_string();
        let fut = self.call("browse", move |c| c.browse(request));
        converted(fut)
    }
    fn test_item(&self, item: Item) -> FfiResultFuture<RVec<OibusValue>> {
        let fut = self.call("test_item", move |c| c.test_item(item));
        converted(fut)
    }
    fn handle_files(&self, paths: RVec<RString>) -> FfiResultFuture<()> {
        let paths = paths
            .into_iter()
            .map(|p| PathBuf::from(p.into_string()))
            .collect();
        self.call("handle_files", move |c| c.handle_files(paths))
    }
}
