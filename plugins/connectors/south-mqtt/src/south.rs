//! The `south-mqtt` connector: its lifecycle and data calls.

use crate::payload::Unusable;
use crate::settings::{ItemSettings, Retained, SouthMqttSettings};
use oibus_mqtt_common::{
    Session, client_of, publish_size, qos,
    relay::{INVALID_TOPIC, Relay},
    rumqttc::{self, AsyncClient, Event, EventLoop, Packet, Publish, QoS},
};
use oibus_plugin_api::prelude::*;
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch};

pub(crate) type Items = Vec<SouthItem<ItemSettings>>;

/// The MQTT South connector.
pub struct MqttSouth {
    pub(crate) settings: SouthMqttSettings,
    pub(crate) ctx: Context,
    pub(crate) session: Option<Session>,
    /// The items, once the engine has given them (`None` until the first `subscribe`).
    pub(crate) items: watch::Sender<Option<Arc<Items>>>,
}

/// Receives the messages of one session, turns them into values and acknowledges each one to the
/// broker only once its value is durably in the engine, or once it is deliberately dropped with
/// a counted reason. Until the engine has given the items, messages wait unacknowledged: a
/// persistent session delivers its queued messages right after connecting, before `subscribe`.
pub(crate) struct Receiver {
    pub(crate) ctx: Context,
    pub(crate) acker: AsyncClient,
    pub(crate) settings: SouthMqttSettings,
    pub(crate) target: String,
}

impl Receiver {
    async fn ack(&self, p: &Publish) -> bool {
        if p.qos == QoS::AtMostOnce {
            return true;
        }
        if let Err(e) = self.acker.ack(p).await {
            self.ctx.connection_lost(format!(
                "MQTT broker {}: cannot acknowledge: {e}",
                self.target
            ));
            return false;
        }
        true
    }

    /// Sets aside a message whose topic the relay found unreadable: counted (and logged by the
    /// engine, as every drop), acknowledged.
    async fn set_aside(&self, p: &Publish) -> bool {
        let topic = &p.topic[INVALID_TOPIC.len()..];
        let reason = format!(
            "message on a topic that is not valid UTF-8 or holds U+0000 ({topic}) set aside"
        );
        self.drop_message(p, reason).await
    }

    /// Drops a message with a counted reason, and acknowledges it.
    async fn drop_message(&self, p: &Publish, reason: String) -> bool {
        self.ctx.dropped(1, &reason);
        self.ack(p).await
    }

    /// What a message gives: a value to buffer, or nothing (dropped and acknowledged).
    async fn take(
        &self,
        items: &Items,
        p: Publish,
        buffer: &mut Vec<(OibusValue, Publish)>,
    ) -> bool {
        if p.topic.starts_with(INVALID_TOPIC) {
            return self.set_aside(&p).await;
        }
        let limit = self.settings.broker.max_packet_size;
        let size = publish_size(&p.topic, p.payload.len());
        if size > limit {
            let reason = format!(
                "message on {} is {size} bytes, over max_packet_size {limit}",
                p.topic
            );
            return self.drop_message(&p, reason).await;
        }
        if p.retain && self.settings.retained == Retained::Skip {
            let reason = format!(
                "retained message on {} skipped (retained = \"skip\")",
                p.topic
            );
            return self.drop_message(&p, reason).await;
        }
        match crate::payload::to_value(items, &p) {
            Ok(v) => {
                buffer.push((v, p));
                true
            }
            Err(Unusable::Bad(reason)) => self.drop_message(&p, reason).await,
            Err(Unusable::NoItem) => {
                let reason = format!("no item's topic filter matches {}", p.topic);
                self.drop_message(&p, reason).await
            }
        }
    }

    /// Hands the buffered values to the engine, then acknowledges their messages, in order.
    async fn flush(&self, buffer: &mut Vec<(OibusValue, Publish)>) -> bool {
        if buffer.is_empty() {
            return true;
        }
        let batch = std::mem::take(buffer);
        let values = batch.iter().map(|(v, _)| v.clone()).collect();
        if let Err(e) = self.ctx.add_values(values).await {
            // Not acknowledged: the broker delivers them again after the reconnection.
            self.ctx
                .connection_lost(format!("values not accepted by the engine ({e})"));
            return false;
        }
        for (_, p) in &batch {
            if !self.ack(p).await {
                return false;
            }
        }
        true
    }

    async fn run(
        self,
        mut messages: mpsc::UnboundedReceiver<Publish>,
        mut items: watch::Receiver<Option<Arc<Items>>>,
    ) {
        let flush_after = Duration::from_millis(self.settings.flush_timeout_ms);
        let mut buffer: Vec<(OibusValue, Publish)> = Vec::new();
        let mut waiting: Vec<Publish> = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let known = items.borrow_and_update().clone();
            if let Some(known) = &known {
                for p in std::mem::take(&mut waiting) {
                    if !self.take(known, p, &mut buffer).await {
                        return;
                    }
                }
            }
            if !buffer.is_empty() {
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + flush_after);
            }
            // Handed over as soon as no other message is waiting (while the engine stores one
            // group, the next one gathers: a group commit that follows the broker's pace, even
            // when it sends the next message only once the last is acknowledged), or at
            // `flush_size`.
            let idle = !buffer.is_empty() && messages.is_empty();
            if idle || buffer.len() >= self.settings.flush_size {
                if !self.flush(&mut buffer).await {
                    return;
                }
                deadline = None;
                continue;
            }
            // Every branch is cancel-safe: a message is either received whole or stays queued.
            tokio::select! {
                m = messages.recv() => match m {
                    Some(p) => match &known {
                        Some(known) => if !self.take(known, p, &mut buffer).await { return },
                        None => waiting.push(p),
                    },
                    None => {
                        // The event loop ended (it reported why): keep nothing unacknowledged
                        // half-done, the broker redelivers.
                        return;
                    }
                },
                r = items.changed() => if r.is_err() { return },
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    if !self.flush(&mut buffer).await {
                        return;
                    }
                    deadline = None;
                }
            }
        }
    }
}

impl MqttSouth {
    /// A session with manual acknowledgements, through a relay of its own (the relay's task is
    /// returned, to end with the session); `suffix` is added to the client id.
    async fn open(
        &self,
        clean_session: bool,
        suffix: Option<String>,
    ) -> Result<(AsyncClient, EventLoop, tokio::task::JoinHandle<()>)> {
        let broker = &self.settings.broker;
        let (relay, task) = Relay::start(&self.ctx, broker.upstream()?).await?;
        let mut options =
            broker.relayed_options(&self.ctx.connector_id(), clean_session, relay.port());
        if let Some(suffix) = suffix {
            options.set_client_id(format!("{}-{suffix}", options.client_id()));
        }
        options.set_manual_acks(true);
        match broker.connect(options, Some(&relay)).await {
            Ok((client, events)) => Ok((client, events, task)),
            Err(e) => {
                task.abort();
                Err(e)
            }
        }
    }
}

impl Connector for MqttSouth {
    type Settings = SouthMqttSettings;

    fn new(settings: SouthMqttSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            session: None,
            items: watch::Sender::new(None),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let broker = self.settings.broker.clone();
        let (client, mut events, relay) = self.open(false, None).await?;
        let target = broker.target();
        let (to_receiver, messages) = mpsc::unbounded_channel();
        // The event loop is polled by a task of its own and never cancelled mid-poll. The
        // channel needs no bound: the broker sends at most its in-flight window of
        // unacknowledged QoS 1 messages.
        let (ctx, poll_target) = (self.ctx.clone(), target.clone());
        let poller = self.ctx.spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if to_receiver.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        ctx.connection_lost(format!(
                            "MQTT broker {poll_target}: {}",
                            oibus_plugin_api::with_causes(&e)
                        ));
                        return;
                    }
                }
            }
        })?;
        let receiver = Receiver {
            ctx: self.ctx.clone(),
            acker: client.clone(),
            settings: self.settings.clone(),
            target: target.clone(),
        };
        let receiving = self
            .ctx
            .spawn(receiver.run(messages, self.items.subscribe()))?;
        self.session = Some(Session::new(client, vec![poller, receiving, relay]));
        tracing::info!("connected to {target}");
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(session) = self.session.take() {
            session.close();
        }
        Ok(())
    }
}

impl South for MqttSouth {
    type ItemSettings = ItemSettings;
}

impl QueriesSubscription for MqttSouth {
    async fn subscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let target = self.settings.broker.target();
        let client = client_of(&self.session, &self.settings.broker)?;
        for item in items {
            Self::check_item(item)?;
        }
        self.items.send_modify(|known| {
            let mut all: Items = known.as_deref().cloned().unwrap_or_default();
            for item in items {
                all.retain(|i| i.name != item.name);
                all.push(item.clone());
            }
            *known = Some(Arc::new(all));
        });
        for item in items {
            client
                .subscribe(item.settings.topic.clone(), qos(self.settings.qos))
                .await
                .map_err(|e| PluginError::connection_lost(format!("MQTT broker {target}: {e}")))?;
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        self.items.send_modify(|known| {
            let mut all: Items = known.as_deref().cloned().unwrap_or_default();
            all.retain(|i| items.iter().all(|x| x.name != i.name));
            *known = Some(Arc::new(all));
        });
        if let Ok(client) = client_of(&self.session, &self.settings.broker) {
            for item in items {
                let _ = client.try_unsubscribe(item.settings.topic.clone());
            }
        }
        Ok(())
    }
}

/// How long an item test waits for a message.
pub(crate) const TEST_WAIT: Duration = Duration::from_secs(5);

impl MqttSouth {
    /// Refuses an item whose topic filter or point template cannot work.
    fn check_item(item: &SouthItem<ItemSettings>) -> Result<()> {
        if !rumqttc::valid_filter(&item.settings.topic) {
            return Err(PluginError::invalid_settings(format!(
                "item {:?}: {:?} is not a valid MQTT topic filter",
                item.name, item.settings.topic
            )));
        }
        // A template error shows on any topic with enough levels.
        crate::payload::point_id(item, &"level/".repeat(64))
            .map_err(PluginError::invalid_settings)?;
        Ok(())
    }
}

impl TestsItem for MqttSouth {
    /// Subscribes to the item's topic filter with a client of its own (a clean session at QoS 0,
    /// so that the connector's persistent session and its unacknowledged messages are left
    /// alone), waits up to 5 s for a message (a retained one comes at once), and reads it as
    /// the connector would.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        Self::check_item(item)?;
        let target = self.settings.broker.target();
        let nanos = Timestamp::now().as_nanos();
        let (client, mut events, relay) = self.open(true, Some(format!("test-{nanos:x}"))).await?;
        let topic = item.settings.topic.clone();
        client
            .subscribe(topic.clone(), QoS::AtMostOnce)
            .await
            .map_err(|e| PluginError::connection_lost(format!("MQTT broker {target}: {e}")))?;
        let items = vec![item.clone()];
        let wait = async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        match crate::payload::to_value(&items, &p) {
                            Ok(v) => return Ok(vec![v]),
                            Err(Unusable::Bad(why)) => {
                                return Err(PluginError::invalid_settings(format!(
                                    "item {:?}: {why}",
                                    item.name
                                )));
                            }
                            Err(Unusable::NoItem) => {}
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Err(PluginError::connection_lost(format!(
                            "MQTT broker {target}: {}",
                            oibus_plugin_api::with_causes(&e)
                        )));
                    }
                }
            }
        };
        let result = tokio::time::timeout(TEST_WAIT, wait)
            .await
            .unwrap_or_else(|_| {
                Err(PluginError::transient(format!(
                    "item {:?}: no message on {topic:?} within {} s",
                    item.name,
                    TEST_WAIT.as_secs()
                )))
            });
        let _ = client.try_disconnect();
        relay.abort();
        result
    }
}
