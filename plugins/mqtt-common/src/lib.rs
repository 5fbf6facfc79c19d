//! What the MQTT South and North plugins share: the broker settings and opening a session.

use oibus_plugin_api::prelude::*;
use oibus_plugin_api::tokio;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet,
};
use std::time::Duration;

pub use oibus_tls_common::Tls;
pub use rumqttc;

/// Where the broker is and how to log in. The password is a secret: never logged.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Broker {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port (default: 1883, or 8883 with `tls`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Client id (default: `oibus-<connector id>`). A South keeps its session under it.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (a secret: write-only, never logged).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// Keep-alive interval in seconds.
    #[serde(default = "default_keep_alive")]
    #[schemars(range(min = 5))]
    pub keep_alive_s: u64,
    /// How long to wait for the broker to accept the connection, in milliseconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1))]
    pub connect_timeout_ms: u64,
    /// Encrypt the connection (TLS) and verify the broker's certificate.
    #[serde(default)]
    pub tls: Option<Tls>,
}
fn default_keep_alive() -> u64 {
    60
}
fn default_timeout() -> u64 {
    5000
}

impl Broker {
    /// `host:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port())
    }

    /// The port: the one set, else MQTT's (1883) or MQTT over TLS's (8883).
    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or(if self.tls.is_some() { 8883 } else { 1883 })
    }

    /// Session options for connector `connector_id`; errors name a TLS file that cannot be used.
    pub fn options(&self, connector_id: &str, clean_session: bool) -> Result<MqttOptions> {
        let id = self
            .client_id
            .clone()
            .unwrap_or_else(|| format!("oibus-{connector_id}"));
        let mut o = MqttOptions::new(id, self.host.clone(), self.port());
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s))
            .set_clean_session(clean_session);
        if let Some(user) = &self.username {
            o.set_credentials(user.clone(), self.password.clone().unwrap_or_default());
        }
        if let Some(tls) = &self.tls {
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(tls.client_config()?),
            ));
        }
        Ok(o)
    }

    /// Opens a session and waits for the broker's acceptance. Refused credentials are an
    /// `invalid_settings` error; anything else may work later.
    pub async fn connect(&self, options: MqttOptions) -> Result<(AsyncClient, EventLoop)> {
        let target = self.target();
        let (client, mut events) = AsyncClient::new(options, 1000);
        let wait = async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        };
        match tokio::time::timeout(Duration::from_millis(self.connect_timeout_ms), wait).await {
            Ok(Ok(())) => Ok((client, events)),
            Ok(Err(ConnectionError::ConnectionRefused(
                code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
            ))) => Err(PluginError::invalid_settings(format!(
                "MQTT broker {target} refused the credentials ({code:?}): check username and password"
            ))),
            Ok(Err(e)) => Err(PluginError::transient(format!(
                "MQTT broker {target}: cannot connect: {}",
                oibus_plugin_api::with_causes(&e)
            ))),
            Err(_) => Err(PluginError::transient(format!(
                "MQTT broker {target}: no answer within {} ms",
                self.connect_timeout_ms
            ))),
        }
    }
}

/// An open MQTT session: the client, and the task of the plugin that polls its event loop.
pub struct Session {
    client: AsyncClient,
    events: tokio::task::JoinHandle<()>,
}

impl Session {
    /// A session made of a client and the task polling its event loop.
    pub fn new(client: AsyncClient, events: tokio::task::JoinHandle<()>) -> Self {
        Self { client, events }
    }

    /// Ends it without waiting on the request queue (with the broker gone it may be full).
    pub fn close(self) {
        let _ = self.client.try_disconnect();
        self.events.abort();
    }
}

/// The client of the open session, or the `connection_lost` error of a call made without one.
pub fn client_of(session: &Option<Session>, broker: &Broker) -> Result<AsyncClient> {
    session.as_ref().map(|s| s.client.clone()).ok_or_else(|| {
        PluginError::connection_lost(format!("MQTT broker {}: not connected", broker.target()))
    })
}

/// QoS 0 or 1.
pub fn qos(level: u8) -> rumqttc::QoS {
    if level == 0 {
        rumqttc::QoS::AtMostOnce
    } else {
        rumqttc::QoS::AtLeastOnce
    }
}
