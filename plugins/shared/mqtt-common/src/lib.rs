//! What the MQTT South and North plugins share: the broker settings and opening a session.

use oibus_plugin_api::prelude::*;
use oibus_plugin_api::tokio;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet,
};
use std::time::Duration;

pub use oibus_tls_common::Tls;
pub use rumqttc;

pub mod relay;

/// Where the broker is and how to log in: `url`, or `host` and `port`. The password is a secret:
/// never logged.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
#[schemars(extend("anyOf" = [{"required": ["url"]}, {"required": ["host"]}]))]
pub struct Broker {
    /// Broker URL, `mqtt://host[:port]` or `mqtts://host[:port]` (TLS); instead of `host` and
    /// `port`.
    #[serde(default)]
    #[schemars(extend("pattern" = "^(mqtts?|tcp|ssl|tls)://[^/]"))]
    pub url: Option<String>,
    /// Host name or IP address (or give `url`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub host: Option<String>,
    /// TCP port (default: 1883, or 8883 with TLS).
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
    /// Largest message, in bytes (topic and payload). A South counts, logs and acknowledges a
    /// larger message without turning it into a value; a North refuses to publish a larger one
    /// (the value goes to the error store). Default 1 MiB.
    #[serde(default = "default_max_packet_size")]
    #[schemars(range(min = 64, max = 268_435_455))]
    pub max_packet_size: usize,
}
fn default_max_packet_size() -> usize {
    1024 * 1024
}

/// The largest packet MQTT allows (remaining length 268,435,455 plus the fixed header), given to
/// the client as its limit both ways: a South decodes every message the broker may send, so that
/// one over `max_packet_size` is dropped with a reason instead of breaking the connection (and
/// being delivered again, for ever); a North checks `max_packet_size` itself before publishing.
pub const PROTOCOL_MAX_PACKET: usize = 268_435_455 + 5;

/// The size of a PUBLISH packet of `topic` and `payload` at QoS 1, as the broker counts it.
pub fn publish_size(topic: &str, payload: usize) -> usize {
    // Fixed header (at most 5 bytes), topic length prefix, topic, packet id, payload.
    5 + 2 + topic.len() + 2 + payload
}
fn default_keep_alive() -> u64 {
    60
}
fn default_timeout() -> u64 {
    5000
}

/// Where to connect, from `url` or `host`/`port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the connection is encrypted.
    pub tls: bool,
}

impl Broker {
    /// Where to connect; errors name the setting at fault.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let bad = |m: String| PluginError::invalid_settings(m);
        let (host, port, tls) = match (&self.url, &self.host) {
            (Some(_), Some(_)) => {
                return Err(bad("broker: give url, or host and port, not both".into()));
            }
            (None, None) => return Err(bad("broker: url (or host) is required".into())),
            (None, Some(host)) => (host.clone(), self.port, self.tls.is_some()),
            (Some(text), None) => {
                let url =
                    url::Url::parse(text).map_err(|e| bad(format!("broker.url {text:?}: {e}")))?;
                let tls = match url.scheme() {
                    "mqtt" | "tcp" => false,
                    "mqtts" | "ssl" | "tls" => true,
                    other => {
                        return Err(bad(format!(
                            "broker.url {text:?}: scheme {other:?} is not mqtt:// or mqtts://"
                        )));
                    }
                };
                if !tls && self.tls.is_some() {
                    return Err(bad(format!(
                        "broker.url {text:?} is not encrypted but tls is set: write mqtts://"
                    )));
                }
                let host = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| bad(format!("broker.url {text:?}: no host")))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                (host.to_string(), url.port().or(self.port), tls)
            }
        };
        Ok(Endpoint {
            port: port.unwrap_or(if tls { 8883 } else { 1883 }),
            host,
            tls,
        })
    }

    /// `host:port`, for messages (the `url` as written if it cannot be read).
    pub fn target(&self) -> String {
        match self.endpoint() {
            Ok(e) => format!("{}:{}", e.host, e.port),
            Err(_) => self.url.clone().or(self.host.clone()).unwrap_or_default(),
        }
    }

    /// Session options for connector `connector_id`; errors name a TLS file that cannot be used.
    pub fn options(&self, connector_id: &str, clean_session: bool) -> Result<MqttOptions> {
        let endpoint = self.endpoint()?;
        let mut o = self.options_to(connector_id, clean_session, endpoint.host, endpoint.port);
        if endpoint.tls {
            let tls = self.tls.clone().unwrap_or_default();
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(tls.client_config()?),
            ));
        }
        Ok(o)
    }

    fn options_to(
        &self,
        connector_id: &str,
        clean_session: bool,
        host: String,
        port: u16,
    ) -> MqttOptions {
        let id = self
            .client_id
            .clone()
            .unwrap_or_else(|| format!("oibus-{connector_id}"));
        let mut o = MqttOptions::new(id, host, port);
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s))
            .set_clean_session(clean_session)
            .set_max_packet_size(PROTOCOL_MAX_PACKET, PROTOCOL_MAX_PACKET);
        if let Some(user) = &self.username {
            o.set_credentials(user.clone(), self.password.clone().unwrap_or_default());
        }
        o
    }

    /// Where a [`relay::Relay`] connects for these settings (the relay holds the TLS).
    pub fn upstream(&self) -> Result<relay::Upstream> {
        let endpoint = self.endpoint()?;
        let tls = match endpoint.tls {
            true => Some(self.tls.clone().unwrap_or_default().client_config()?),
            false => None,
        };
        Ok(relay::Upstream {
            host: endpoint.host,
            port: endpoint.port,
            tls,
            timeout: Duration::from_millis(self.connect_timeout_ms),
        })
    }

    /// Session options for connector `connector_id` through a relay listening on `port` of
    /// 127.0.0.1, which connects to the broker (and encrypts) itself.
    pub fn relayed_options(
        &self,
        connector_id: &str,
        clean_session: bool,
        port: u16,
    ) -> MqttOptions {
        self.options_to(connector_id, clean_session, "127.0.0.1".into(), port)
    }

    /// Opens a session and waits for the broker's acceptance. Refused credentials are an
    /// `invalid_settings` error; anything else may work later. Through a `relay`, the reason
    /// its connection to the broker failed is the one given.
    pub async fn connect(
        &self,
        options: MqttOptions,
        relay: Option<&relay::Relay>,
    ) -> Result<(AsyncClient, EventLoop)> {
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
                relay
                    .and_then(relay::Relay::failure)
                    .unwrap_or_else(|| oibus_plugin_api::with_causes(&e))
            ))),
            Err(_) => Err(PluginError::transient(
                match relay.and_then(relay::Relay::failure) {
                    Some(why) => format!("MQTT broker {target}: cannot connect: {why}"),
                    None => format!(
                        "MQTT broker {target}: no answer within {} ms",
                        self.connect_timeout_ms
                    ),
                },
            )),
        }
    }
}

/// An open MQTT session: the client, and the tasks of the plugin that poll its event loop and
/// handle what arrives.
pub struct Session {
    client: AsyncClient,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Session {
    /// A session made of a client and the tasks serving it (the one polling its event loop…).
    pub fn new(client: AsyncClient, tasks: Vec<tokio::task::JoinHandle<()>>) -> Self {
        Self { client, tasks }
    }

    /// Ends it without waiting on the request queue (with the broker gone it may be full).
    pub fn close(self) {
        let _ = self.client.try_disconnect();
        for t in self.tasks {
            t.abort();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(json: &str) -> Broker {
        oibus_plugin_api::serde_json::from_str(json).unwrap()
    }

    fn endpoint(json: &str) -> Result<Endpoint> {
        broker(json).endpoint()
    }

    #[test]
    fn a_url_or_a_host_says_where_the_broker_is() {
        let at = |host: &str, port, tls| Endpoint {
            host: host.into(),
            port,
            tls,
        };
        assert_eq!(
            endpoint(r#"{"url": "mqtt://broker.plant"}"#).unwrap(),
            at("broker.plant", 1883, false)
        );
        assert_eq!(
            endpoint(r#"{"url": "mqtts://10.0.0.5"}"#).unwrap(),
            at("10.0.0.5", 8883, true)
        );
        assert_eq!(
            endpoint(r#"{"url": "mqtt://[::1]:1884"}"#).unwrap(),
            at("::1", 1884, false)
        );
        assert_eq!(
            endpoint(r#"{"host": "b", "port": 2000}"#).unwrap(),
            at("b", 2000, false)
        );
        assert_eq!(
            endpoint(r#"{"host": "b", "tls": {}}"#).unwrap(),
            at("b", 8883, true)
        );
    }

    #[test]
    fn contradictions_are_named() {
        for (json, says) in [
            (r#"{"url": "mqtt://a", "host": "b"}"#, "not both"),
            (r#"{}"#, "url (or host) is required"),
            (r#"{"url": "http://a"}"#, "scheme \"http\""),
            (r#"{"url": "mqtt://a", "tls": {}}"#, "write mqtts://"),
            (r#"{"url": "not a url"}"#, "broker.url \"not a url\""),
        ] {
            let e = endpoint(json).unwrap_err();
            assert!(e.message().contains(says), "{json}: {e}");
        }
    }
}
