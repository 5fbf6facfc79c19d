//! The `north-mqtt` connector: its lifecycle and data calls.

use crate::settings::*;
use oibus_mqtt_common::{
    Session, client_of, publish_size, qos,
    rumqttc::{self, Event, Outgoing, Packet},
};
use oibus_plugin_api::{prelude::*, serde_json};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::oneshot;

/// The topic of a value: the template with `{pointId}` replaced. The MQTT wildcards `+` and `#`
/// cannot appear in a published topic: in point ids they become `_`.
pub fn topic_of(template: &str, point_id: &str) -> String {
    template.replace("{pointId}", &point_id.replace(['+', '#'], "_"))
}

/// Publishes waiting for the broker, in the order they were sent.
#[derive(Default)]
pub(crate) struct Pending {
    /// Not yet written to the socket: their packet id is not known yet.
    pub(crate) unsent: VecDeque<oneshot::Sender<()>>,
    /// Written, waiting for the broker's PubAck, by packet id.
    pub(crate) unacked: HashMap<u16, oneshot::Sender<()>>,
}

/// The MQTT North connector.
pub struct MqttNorth {
    pub(crate) settings: NorthMqttSettings,
    pub(crate) ctx: Context,
    pub(crate) session: Option<Session>,
    pub(crate) pending: Arc<Mutex<Pending>>,
}

impl Connector for MqttNorth {
    type Settings = NorthMqttSettings;

    fn new(settings: NorthMqttSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            session: None,
            pending: Arc::default(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let broker = self.settings.broker.clone();
        let options = broker.options(&self.ctx.connector_id(), true)?;
        let (client, mut events) = broker.connect(options, None).await?;
        let pending = Arc::new(Mutex::new(Pending::default()));
        self.pending = pending.clone();
        let ctx = self.ctx.clone();
        let target = broker.target();
        let events = self.ctx.spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(done) = p.unsent.pop_front() {
                            if pkid == 0 {
                                let _ = done.send(()); // QoS 0: written is all there is
                            } else {
                                p.unacked.insert(pkid, done);
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(done) = p.unacked.remove(&ack.pkid) {
                            let _ = done.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // Dropping the waiters fails the batch in progress.
                        *pending.lock().unwrap_or_else(|e| e.into_inner()) = Pending::default();
                        ctx.connection_lost(format!("MQTT broker {target}: {e}"));
                        return;
                    }
                }
            }
        })?;
        self.session = Some(Session::new(client, vec![events]));
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

impl HandlesValues for MqttNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let target = self.settings.broker.target();
        let client = client_of(&self.session, &self.settings.broker)?;
        // Each message's topic and payload first: a bad topic or an oversized message fails the
        // batch before anything is sent (the engine then sends the rest without it).
        let mut messages = Vec::with_capacity(values.len());
        for v in &values {
            let topic = topic_of(&self.settings.topic, v.point_id.as_str());
            if !rumqttc::valid_topic(&topic) {
                return Err(PluginError::invalid_settings(format!(
                    "topic {topic:?} (from {:?}) is not a valid MQTT topic",
                    self.settings.topic
                )));
            }
            let payload = serde_json::to_vec(v)?;
            let size = publish_size(&topic, payload.len());
            let limit = self.settings.broker.max_packet_size;
            if size > limit {
                return Err(PluginError::permanent(format!(
                    "value of {:?} at {}: message of {size} bytes to {topic} is over max_packet_size {limit}",
                    v.point_id.as_str(),
                    v.timestamp
                )));
            }
            messages.push((topic, payload));
        }
        let (qos_level, retain, pending) = (
            qos(self.settings.qos),
            self.settings.retain,
            self.pending.clone(),
        );
        let lost =
            |what: &str| PluginError::connection_lost(format!("MQTT broker {target}: {what}"));
        let send_all = async {
            let mut acks = Vec::with_capacity(messages.len());
            for (topic, payload) in messages {
                let (done, ack) = oneshot::channel();
                pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .unsent
                    .push_back(done);
                // Waits while the broker is slower than us (bounded queue, in-flight window).
                client
                    .publish(topic, qos_level, retain, payload)
                    .await
                    .map_err(|e| lost(&e.to_string()))?;
                acks.push(ack);
            }
            for ack in acks {
                ack.await
                    .map_err(|_| lost("connection lost before every message was acknowledged"))?;
            }
            Ok(())
        };
        let limit = Duration::from_millis(self.settings.ack_timeout_ms);
        match tokio::time::timeout(limit, send_all).await {
            Ok(r) => r,
            Err(_) => Err(lost(&format!(
                "not every message sent and acknowledged within {} ms",
                self.settings.ack_timeout_ms
            ))),
        }
    }
}
