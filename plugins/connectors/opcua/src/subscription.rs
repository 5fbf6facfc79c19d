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
/// Most monitored items created in one request when the server sets no lower limit (500 string
/// node ids make some 35 KiB: under the 64 KiB some servers take in a request).
const PER_CALL: usize = 500;

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
    /// Monitored items created per request: [`PER_CALL`], the server's
    /// `MaxMonitoredItemsPerCall`, or what it was seen to refuse as too large.
    per_call: usize,
    /// The task handing values to the engine (none for an item test).
    forwarder: Option<JoinHandle<()>>,
}

/// What the server published: the client handle of the monitored item, and the value.
type Published = (u32, UaValue);

/// The outcome of monitoring each item: its name, and why the server refused it.
pub type Monitoring = Vec<(String, std::result::Result<(), String>)>;

impl Subscription {
    /// Creates the subscription on `session`, and the task that hands its values to the engine.
    pub async fn create(
        session: &Session,
        settings: &OpcuaSettings,
        ctx: &Context,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<Published>();
        let mut made = Self::open(session, settings, tx).await?;
        made.forwarder = Some(ctx.spawn(forward(rx, made.handles.clone(), ctx.clone()))?);
        Ok(made)
    }

    /// Creates the subscription on `session`, its publications sent to `tx`.
    async fn open(
        session: &Session,
        settings: &OpcuaSettings,
        tx: mpsc::UnboundedSender<Published>,
    ) -> Result<Self> {
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
        let limit = crate::nodes::operation_limit(
            session,
            opcua::types::VariableId::Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
        )
        .await;
        Ok(Self {
            id,
            handles: Arc::default(),
            items: HashMap::new(),
            next_handle: 1,
            per_call: PER_CALL.min(limit.unwrap_or(usize::MAX)),
            forwarder: None,
        })
    }

    /// Monitors `items` and reports each to the engine (one the server refuses is named, the
    /// others are monitored all the same).
    pub async fn add(
        &mut self,
        session: &Session,
        items: &[(SouthItem<ItemSettings>, NodeId)],
        ctx: &Context,
    ) -> Result<()> {
        for (name, outcome) in self.monitor(session, items).await? {
            match outcome {
                Ok(()) => ctx.item_ok(&name),
                Err(why) => ctx.item_failed(&name, why),
            }
        }
        Ok(())
    }

    /// For an item test: monitors the item's node in a subscription of its own, waits up to
    /// `wait` for what the server publishes first (every new monitored item reports its current
    /// value) and for one publishing interval more, then deletes the subscription.
    pub async fn first_values(
        session: &Session,
        settings: &OpcuaSettings,
        item: &SouthItem<ItemSettings>,
        node: NodeId,
        wait: Duration,
    ) -> Result<Vec<OibusValue>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Published>();
        let mut made = Self::open(session, settings, tx).await?;
        let outcome = made
            .monitor(session, &[(item.clone(), node)])
            .await
            .map(|mut o| o.pop().map_or(Ok(()), |(_, r)| r));
        let mut published = Vec::new();
        if let Ok(Ok(())) = outcome
            && let Ok(Some(first)) = tokio::time::timeout(wait, rx.recv()).await
        {
            published.push(first);
            let more = Duration::from_millis(settings.publishing_interval_ms);
            while let Ok(Some(next)) = tokio::time::timeout(more, rx.recv()).await {
                published.push(next);
            }
        }
        let _ = session.delete_subscription(made.id).await;
        let name = &item.name;
        outcome?.map_err(|why| PluginError::invalid_settings(format!("item {name:?}: {why}")))?;
        if published.is_empty() {
            return Err(PluginError::transient(format!(
                "item {name:?}: the server published nothing within {} ms",
                wait.as_millis()
            )));
        }
        let origin = item.settings.timestamp_origin;
        published
            .iter()
            .map(|(_, v)| {
                crate::convert::value(name, v, origin, Timestamp::now())
                    .map_err(|why| PluginError::invalid_settings(format!("item {name:?}: {why}")))
            })
            .collect()
    }

    /// Monitors `items`: for each, whether the server took it.
    async fn monitor(
        &mut self,
        session: &Session,
        items: &[(SouthItem<ItemSettings>, NodeId)],
    ) -> Result<Monitoring> {
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
        let mut created = Vec::with_capacity(requests.len());
        while created.len() < requests.len() {
            let from = created.len();
            let to = (from + self.per_call).min(requests.len());
            match session
                .create_monitored_items(
                    self.id,
                    TimestampsToReturn::Both,
                    requests[from..to].to_vec(),
                )
                .await
            {
                Ok(made) => created.extend(made),
                Err(e) if crate::request_size::too_large(e.status()) && to - from > 1 => {
                    self.per_call = ((to - from) / 2).max(1);
                    tracing::warn!(
                        "the server refused to create {} monitored items at once ({}): {} at a time",
                        to - from,
                        crate::convert::status_text(e.status()),
                        self.per_call
                    );
                }
                Err(e) => {
                    return Err(PluginError::connection_lost(format!(
                        "cannot create monitored items: {}",
                        crate::convert::status_text(e.status())
                    )));
                }
            }
        }
        let mut outcome = Vec::with_capacity(names.len());
        for ((name, handle, node), created) in names.into_iter().zip(created) {
            let status = created.result.status_code;
            if status.is_bad() {
                if let Ok(mut h) = self.handles.lock() {
                    h.remove(&handle);
                }
                let why = format!(
                    "node {node}: cannot be monitored: {}",
                    crate::convert::status_text(status)
                );
                outcome.push((name, Err(why)));
            } else {
                self.items
                    .insert(name.clone(), (handle, created.result.monitored_item_id));
                outcome.push((name, Ok(())));
            }
        }
        Ok(outcome)
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
        for chunk in ids.chunks(PER_CALL) {
            let _ = session.delete_monitored_items(self.id, chunk).await;
        }
    }

    /// Ends the task that hands values over (the subscription ends with its session).
    pub fn close(self) {
        if let Some(f) = self.forwarder {
            f.abort();
        }
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
