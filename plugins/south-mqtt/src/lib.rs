//! `south-mqtt`: subscribes to topics (with wildcards) and turns messages into values. The
//! session is persistent and each QoS 1 message is acknowledged to the broker only after the
//! engine durably accepted its value: a message in flight when the gateway stops or the connection
//! drops is delivered again by the broker.

mod payload;

pub use payload::{PayloadFormat, PayloadSettings};

use oibus_mqtt_common::{
    Broker, Session, client_of, qos,
    rumqttc::{self, Event, Packet, Publish},
};
use oibus_plugin_api::prelude::*;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// Connector settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SouthMqttSettings {
    /// The broker.
    pub broker: Broker,
    /// QoS of the subscriptions: 0 (at most once) or 1 (at least once, persistent session).
    #[serde(default = "one")]
    #[schemars(range(max = 1))]
    pub qos: u8,
    /// Values are handed to the engine when this many are buffered…
    #[serde(default = "default_flush_size")]
    #[schemars(range(min = 1))]
    pub flush_size: usize,
    /// …or when the oldest has waited this long, in milliseconds.
    #[serde(default = "default_flush_timeout")]
    #[schemars(range(min = 1))]
    pub flush_timeout_ms: u64,
}

fn one() -> u8 {
    1
}
fn default_flush_size() -> usize {
    100
}
fn default_flush_timeout() -> u64 {
    500
}

/// Item settings: a topic filter and how to read its messages.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// Topic filter (`+` and `#` wildcards allowed).
    #[schemars(length(min = 1))]
    pub topic: String,
    /// How to read a message.
    #[serde(default)]
    pub payload: PayloadSettings,
}

/// The MQTT South connector.
pub struct MqttSouth {
    settings: SouthMqttSettings,
    ctx: Context,
    session: Option<Session>,
    items: Arc<Mutex<Vec<SouthItem<ItemSettings>>>>,
}

impl Connector for MqttSouth {
    type Settings = SouthMqttSettings;

    fn new(settings: SouthMqttSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            session: None,
            items: Arc::default(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let broker = self.settings.broker.clone();
        let mut options = broker.options(&self.ctx.connector_id(), false)?;
        options.set_manual_acks(true);
        let (client, mut events) = broker.connect(options).await?;
        let (ctx, items, target) = (self.ctx.clone(), self.items.clone(), broker.target());
        let acker = client.clone();
        let flush_size = self.settings.flush_size;
        let flush_after = Duration::from_millis(self.settings.flush_timeout_ms);
        let events = self.ctx.spawn(async move {
            let mut buffer: Vec<(OibusValue, Publish)> = Vec::new();
            let mut deadline = None;
            loop {
                let flush_now = tokio::select! {
                    event = events.poll() => match event {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let value = {
                                let items = items.lock().unwrap_or_else(|e| e.into_inner());
                                payload::to_value(&items, &p)
                            };
                            match value {
                                Some(Ok(v)) => buffer.push((v, p)),
                                Some(Err(e)) => {
                                    tracing::warn!("{e}: message dropped");
                                    let _ = acker.try_ack(&p);
                                }
                                None => {
                                    let _ = acker.try_ack(&p); // no item wants it (any more)
                                }
                            }
                            deadline.get_or_insert_with(|| tokio::time::Instant::now() + flush_after);
                            buffer.len() >= flush_size
                        }
                        Ok(_) => false,
                        Err(e) => {
                            ctx.connection_lost(format!("MQTT broker {target}: {e}"));
                            return;
                        }
                    },
                    () = async {
                        match deadline {
                            Some(d) => tokio::time::sleep_until(d).await,
                            None => std::future::pending().await,
                        }
                    } => true,
                };
                if flush_now && !buffer.is_empty() {
                    let batch = std::mem::take(&mut buffer);
                    deadline = None;
                    let values = batch.iter().map(|(v, _)| v.clone()).collect();
                    if let Err(e) = ctx.add_values(values).await {
                        // Not acknowledged: the broker delivers them again after a reconnection.
                        ctx.connection_lost(format!("values not accepted by the engine ({e})"));
                        return;
                    }
                    for (_, p) in &batch {
                        let _ = acker.try_ack(p);
                    }
                }
            }
        })?;
        self.session = Some(Session::new(client, events));
        tracing::info!("connected to {}", broker.target());
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
            if !rumqttc::valid_filter(&item.settings.topic) {
                return Err(PluginError::invalid_settings(format!(
                    "item {:?}: {:?} is not a valid MQTT topic filter",
                    item.name, item.settings.topic
                )));
            }
        }
        {
            let mut known = self.items.lock().unwrap_or_else(|e| e.into_inner());
            for item in items {
                known.retain(|i| i.name != item.name);
                known.push(item.clone());
            }
        }
        for item in items {
            client
                .try_subscribe(item.settings.topic.clone(), qos(self.settings.qos))
                .map_err(|e| PluginError::connection_lost(format!("MQTT broker {target}: {e}")))?;
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|i| items.iter().all(|x| x.name != i.name));
        if let Ok(client) = client_of(&self.session, &self.settings.broker) {
            for item in items {
                let _ = client.try_unsubscribe(item.settings.topic.clone());
            }
        }
        Ok(())
    }
}

fn plugin() -> Plugin {
    Plugin::new("MQTT subscriber", "oibus-rs")
        .description("Subscribes to MQTT topics")
        .connector(
            ConnectorType::<MqttSouth>::south("mqtt-south", "MQTT")
                .description("Topics with wildcards, number or JSON payloads, persistent session")
                .queries_subscription(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
