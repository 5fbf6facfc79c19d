//! Subscriptions (`QueriesSubscription`): one OPC UA subscription per connector, a monitored item
//! per item with its sampling interval, queue size and deadband. The client's callback only
//! queues what the server publishes; a task hands it to the engine in batches.

use crate::settings::{Deadband, DeadbandKind, ItemSettings, OpcuaSettings, TimestampOrigin};
use oibus_plugin_api::prelude::*;
use opcua::{
    client::{DataChangeCallback, Session},
    types::{
        DataChangeFilter, DataChangeTrigger, DataValue as UaValue, DeadbandType, ExtensionObject,
        MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, NodeId, ReadValueId,
        TimestampsToReturn,
    },
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::mpsc, task::JoinHandle};

/// Values handed to the engine in one call at most.
const BATCH: usize = 1000;
/// How long a value waits for others before its batch is handed over.
const FLUSH: Duration = Duration::from_millis(100);

/// What a notification's client handle stands for.
#[derive(Clone)]
struct Monitored {
    name: String,
    origin: TimestampOrigin,
}

/// The connector's subscription and its monitored items.
pub struct Subscription {
    id: u32,
    handles: Arc<Mutex<HashMap<u32, Monitored>>>,
    /// Item name → (client handle, monitored item id).
    items: HashMap<String, (u32, u32)>,
    next_handle: u32,
    forwarder: JoinHandle<()>,
}

impl Subscription {
    /// Creates the subscription on `session`, and the task that hands its values to the engine.
    pub async fn create(
        session: &Session,
        settings: &OpcuaSettings,
        ctx: &Context,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<(u32, UaValue)>();
        let interval = Duration::from_millis(settings.publishing_interval_ms);
        let id = session
            .create_subscription(
                interval,
                // Lifetime and keep-alive counts, in publishing intervals.
                60,
                10,
                0,
                0,
                true,
                DataChangeCallback::new(move |value, item| {
                    let _ = tx.send((item.client_handle(), value));
                }),
            )
            .await
            .map_err(|e| {
                PluginError::connection_lost(format!(
                    "OPC UA server {}: cannot create a subscription: {}",
                    settings.connection.url,
                    crate::convert::status_text(e.status())
                ))
            })?;
        let handles: Arc<Mutex<HashMap<u32, Monitored>>> = Arc::default();
        let forwarder = ctx.spawn(forward(rx, handles.clone(), ctx.clone()))?;
        Ok(Self {
            id,
            handles,
            items: HashMap::new(),
            next_handle: 1,
            forwarder,
        })
    }

    /// Monitors `items`; an item the server refuses is reported by name, the others are
    /// monitored all the same.
    pub async fn add(
        &mut self,
        session: &Session,
        items: &[(SouthItem<ItemSettings>, NodeId)],
        ctx: &Context,
    ) -> Result<()> {
        let mut requests = Vec::with_capacity(items.len());
        let mut names = Vec::with_capacity(items.len());
        for (item, node) in items {
            if let Some((_, old)) = self.items.remove(&item.name) {
                let _ = session.delete_monitored_items(self.id, &[old]).await;
            }
            let handle = self.next_handle;
            self.next_handle += 1;
            if let Ok(mut h) = self.handles.lock() {
                h.insert(
                    handle,
                    Monitored {
                        name: item.name.clone(),
                        origin: item.settings.timestamp_origin,
                    },
                );
            }
            requests.push(MonitoredItemCreateRequest::new(
                ReadValueId::from(node.clone()),
                MonitoringMode::Reporting,
                MonitoringParameters {
                    client_handle: handle,
                    sampling_interval: item.settings.sampling_interval_ms as f64,
                    filter: filter(item.settings.deadband.as_ref()),
                    queue_size: item.settings.queue_size,
                    discard_oldest: true,
                },
            ));
            names.push((item.name.clone(), handle, node.clone()));
        }
        let created = session
            .create_monitored_items(self.id, TimestampsToReturn::Both, requests)
            .await
            .map_err(|e| {
                PluginError::connection_lost(format!(
                    "cannot create monitored items: {}",
                    crate::convert::status_text(e.status())
                ))
            })?;
        for ((name, handle, node), created) in names.into_iter().zip(created) {
            let status = created.result.status_code;
            if status.is_bad() {
                if let Ok(mut h) = self.handles.lock() {
                    h.remove(&handle);
                }
                ctx.item_failed(
                    &name,
                    format!(
                        "node {node}: cannot be monitored: {}",
                        crate::convert::status_text(status)
                    ),
                );
            } else {
                ctx.item_ok(&name);
                self.items
                    .insert(name, (handle, created.result.monitored_item_id));
            }
        }
        Ok(())
    }

    /// Stops monitoring `names`.
    pub async fn remove(&mut self, session: &Session, names: &[&str]) {
        let mut ids = Vec::new();
        for name in names {
            if let Some((handle, id)) = self.items.remove(*name) {
                ids.push(id);
                if let Ok(mut h) = self.handles.lock() {
                    h.remove(&handle);
                }
            }
        }
        if !ids.is_empty() {
            let _ = session.delete_monitored_items(self.id, &ids).await;
        }
    }

    /// Ends the task that hands values over (the subscription ends with its session).
    pub fn close(self) {
        self.forwarder.abort();
    }
}

fn filter(deadband: Option<&Deadband>) -> ExtensionObject {
    match deadband {
        None => ExtensionObject::null(),
        Some(d) => ExtensionObject::from_message(DataChangeFilter {
            trigger: DataChangeTrigger::StatusValue,
            deadband_type: match d.kind {
                DeadbandKind::Absolute => DeadbandType::Absolute as u32,
                DeadbandKind::Percent => DeadbandType::Percent as u32,
            },
            deadband_value: d.value,
        }),
    }
}

/// Hands what the server publishes to the engine, in batches of up to [`BATCH`] values or
/// after [`FLUSH`].
async fn forward(
    mut rx: mpsc::UnboundedReceiver<(u32, UaValue)>,
    handles: Arc<Mutex<HashMap<u32, Monitored>>>,
    ctx: Context,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = match rx.recv().await {
            Some(n) => n,
            None => return,
        };
        let deadline = tokio::time::Instant::now() + FLUSH;
        let mut next = Some(first);
        while let Some((handle, value)) = next.take() {
            let monitored = handles.lock().ok().and_then(|h| h.get(&handle).cloned());
            if let Some(m) = monitored {
                match crate::convert::value(&m.name, &value, m.origin, Timestamp::now()) {
                    Ok(v) => batch.push(v),
                    Err(why) => ctx.item_failed(&m.name, why),
                }
            }
            if batch.len() >= BATCH {
                break;
            }
            next = match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(n)) => Some(n),
                Ok(None) | Err(_) => None,
            };
        }
        let values = std::mem::take(&mut batch);
        let count = values.len() as u64;
        if let Err(e) = ctx.add_values(values).await {
            // The client has already acknowledged these notifications to the server: say so.
            ctx.dropped(
                count,
                format!("the engine refused published values: {}", e.message()),
            );
        }
    }
}
