//! The cluster as this producer sees it: connections to its brokers (API versions agreed and SASL
//! done on each), which broker leads each partition, and the size limits of topics.

use crate::{
    sasl::{AuthError, authenticate},
    settings::KafkaSettings,
    wire::{Connection, WireError, api_name},
};
use kafka_protocol::{
    error::ParseResponseErrorCode,
    messages::{
        ApiKey, ApiVersionsRequest, DescribeConfigsRequest, MetadataRequest, TopicName,
        describe_configs_request::DescribeConfigsResource, metadata_request::MetadataRequestTopic,
    },
    protocol::{Request, StrBytes},
};
use oibus_plugin_api::prelude::*;
use std::{collections::HashMap, sync::Arc, time::Duration};

/// The versions of each API this client speaks (the newest both sides know is used).
const SPOKEN: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 0, 3),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// The API versions agreed with one broker.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Versions {
    pub(crate) produce: i16,
    pub(crate) metadata: i16,
    pub(crate) init_producer_id: i16,
    pub(crate) describe_configs: Option<i16>,
    sasl_authenticate: Option<i16>,
}

/// A connection ready for requests.
pub(crate) struct Session {
    pub(crate) conn: Connection,
    pub(crate) versions: Versions,
}

/// A partition's leader, or none while the cluster elects one.
pub(crate) type Leaders = Vec<Option<i32>>;

/// The brokers, their connections and what is known of the topics.
pub(crate) struct Cluster {
    settings: Arc<KafkaSettings>,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    /// Broker id → `host:port`, from the last metadata.
    brokers: HashMap<i32, String>,
    sessions: HashMap<i32, Session>,
    /// A session to any broker, for metadata and producer ids.
    any: Option<Session>,
    topics: HashMap<String, Leaders>,
    limits: HashMap<String, usize>,
}

/// A failure of the cluster, as the engine should see it.
pub(crate) fn lost(e: WireError) -> PluginError {
    PluginError::connection_lost(e.to_string())
}

fn agree(answer: &kafka_protocol::messages::ApiVersionsResponse, addr: &str) -> Result<Versions> {
    let mut agreed = HashMap::new();
    for (key, min, max) in SPOKEN {
        let theirs = answer.api_keys.iter().find(|k| k.api_key == *key as i16);
        if let Some(k) = theirs {
            let top = k.max_version.min(*max);
            if top >= (*min).max(k.min_version) {
                agreed.insert(*key as i16, top);
            }
        }
    }
    let need = |key: ApiKey| {
        agreed.get(&(key as i16)).copied().ok_or_else(|| {
            PluginError::permanent(format!(
                "broker {addr} does not speak {} in a version this client knows (needs Kafka 2.4 or later)",
                api_name(key as i16)
            ))
        })
    };
    Ok(Versions {
        produce: need(ApiKey::Produce)?,
        metadata: need(ApiKey::Metadata)?,
        init_producer_id: need(ApiKey::InitProducerId)?,
        describe_configs: agreed.get(&(ApiKey::DescribeConfigs as i16)).copied(),
        sasl_authenticate: agreed.get(&(ApiKey::SaslAuthenticate as i16)).copied(),
    })
}

/// Kafka accepts `[a-zA-Z0-9._-]` in topic names: the rest becomes `_`.
pub fn topic_name(template: &str, point_id: &str) -> String {
    let id: String = point_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    template.replace("{pointId}", &id)
}

impl Cluster {
    /// A cluster not contacted yet.
    pub(crate) fn new(settings: Arc<KafkaSettings>) -> Result<Self> {
        let tls = settings
            .tls
            .as_ref()
            .map(oibus_tls_common::Tls::client_config)
            .transpose()?;
        Ok(Self {
            timeout: Duration::from_millis(settings.timeout_ms),
            settings,
            tls,
            brokers: HashMap::new(),
            sessions: HashMap::new(),
            any: None,
            topics: HashMap::new(),
            limits: HashMap::new(),
        })
    }

    /// Opens a session to `addr`: connection, API versions, SASL.
    async fn open(&self, addr: &str) -> Result<Session> {
        let mut conn = Connection::open(
            addr,
            self.tls.as_ref(),
            self.timeout,
            &self.settings.client_id,
        )
        .await
        .map_err(lost)?;
        let hello = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("oibus-rs"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let answer = conn.call(&hello, 3).await.map_err(lost)?;
        if let Some(e) = answer.error_code.err() {
            return Err(PluginError::permanent(format!(
                "broker {addr} refused ApiVersions v3: {e} (this client needs Kafka 2.4 or later)"
            )));
        }
        let versions = agree(&answer, addr)?;
        tracing::debug!("broker {addr}: API versions {versions:?}");
        if let Some(sasl) = &self.settings.sasl {
            let version = versions.sasl_authenticate.unwrap_or(0);
            authenticate(&mut conn, sasl, version)
                .await
                .map_err(|e| match e {
                    AuthError::Wire(e) => PluginError::connection_lost(format!(
                        "{e} (during SASL {} authentication: does the broker offer it?)",
                        sasl.mechanism.name()
                    )),
                    AuthError::Refused(why) => PluginError::invalid_settings(why),
                })?;
        }
        Ok(Session { conn, versions })
    }

    /// Connects to the first bootstrap server that answers.
    pub(crate) async fn connect(&mut self) -> Result<()> {
        let mut failures = Vec::new();
        for addr in &self.settings.bootstrap_servers {
            match self.open(addr).await {
                Ok(session) => {
                    self.any = Some(session);
                    return Ok(());
                }
                Err(e) if e.kind == oibus_plugin_api::ErrorKind::CONNECTION_LOST => {
                    failures.push(e.message.to_string())
                }
                Err(e) => return Err(e),
            }
        }
        Err(PluginError::connection_lost(format!(
            "no bootstrap server answers: {}",
            failures.join("; ")
        )))
    }

    /// Forgets every connection (after a broken one, or to close).
    pub(crate) fn disconnect(&mut self) {
        self.sessions.clear();
        self.any = None;
    }

    /// Drops the connection to `broker` (it broke) and what is known of leaders.
    pub(crate) fn forget(&mut self, broker: i32) {
        self.sessions.remove(&broker);
        self.topics.clear();
        if self
            .any
            .as_ref()
            .is_some_and(|s| self.brokers.get(&broker).is_some_and(|a| *a == s.conn.addr))
        {
            self.any = None;
        }
    }

    /// Forgets the leaders of `topic`: the next use asks the cluster again.
    pub(crate) fn stale(&mut self, topic: &str) {
        self.topics.remove(topic);
    }

    /// A session to any broker (reconnecting through the bootstrap servers if needed).
    pub(crate) async fn any(&mut self) -> Result<&mut Session> {
        if self.any.is_none() {
            self.connect().await?;
        }
        self.any
            .as_mut()
            .ok_or_else(|| PluginError::connection_lost("no broker connected"))
    }

    /// Calls any broker; a broken connection is dropped before the error is returned.
    pub(crate) async fn call_any<R: Request>(
        &mut self,
        request: &R,
        version: impl Fn(&Versions) -> i16,
    ) -> Result<R::Response> {
        let session = self.any().await?;
        let v = version(&session.versions);
        match session.conn.call(request, v).await {
            Ok(answer) => Ok(answer),
            Err(e) => {
                self.any = None;
                Err(lost(e))
            }
        }
    }

    /// A session to broker `id`, opened if needed.
    pub(crate) async fn session(&mut self, id: i32) -> Result<&mut Session> {
        if !self.sessions.contains_key(&id) {
            let addr = self.brokers.get(&id).cloned().ok_or_else(|| {
                PluginError::connection_lost(format!(
                    "broker {id} is not in the cluster's metadata"
                ))
            })?;
            let session = self.open(&addr).await?;
            self.sessions.insert(id, session);
        }
        self.sessions
            .get_mut(&id)
            .ok_or_else(|| PluginError::connection_lost(format!("broker {id}: no session")))
    }

    /// The address of broker `id`, for messages.
    pub(crate) fn addr(&self, id: i32) -> String {
        self.brokers
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("broker {id}"))
    }

    /// The leaders of `topic`'s partitions, asking the cluster when not known. A topic that does
    /// not exist (and that the brokers do not create) is a permanent error for its data.
    pub(crate) async fn leaders(&mut self, topic: &str) -> Result<&Leaders> {
        if !self.topics.contains_key(topic) {
            self.refresh(topic).await?;
        }
        self.topics
            .get(topic)
            .ok_or_else(|| PluginError::transient(format!("topic {topic:?}: no metadata")))
    }

    /// Asks the cluster for `topic`'s partitions, waiting out a leader election or a topic being
    /// created (within the time-out).
    pub(crate) async fn refresh(&mut self, topic: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(50);
        loop {
            let request = MetadataRequest::default()
                .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                    TopicName(StrBytes::from_string(topic.to_owned())),
                ))]))
                .with_allow_auto_topic_creation(true);
            let answer = self.call_any(&request, |v| v.metadata).await?;
            for b in &answer.brokers {
                let host = b.host.as_str();
                let addr = if host.contains(':') {
                    format!("[{host}]:{}", b.port)
                } else {
                    format!("{host}:{}", b.port)
                };
                if self.brokers.get(&b.node_id.0) != Some(&addr) {
                    self.sessions.remove(&b.node_id.0);
                    self.brokers.insert(b.node_id.0, addr);
                }
            }
            let found = answer
                .topics
                .iter()
                .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic));
            let waiting = match found.map(|t| (t.error_code.err(), t)) {
                None => format!("topic {topic:?} is not in the metadata answer"),
                Some((None, t)) if !t.partitions.is_empty() => {
                    let mut leaders: Leaders = vec![None; t.partitions.len()];
                    for p in &t.partitions {
                        let i = usize::try_from(p.partition_index).unwrap_or(usize::MAX);
                        if i < leaders.len() && p.error_code.is_ok() && p.leader_id.0 >= 0 {
                            leaders[i] = Some(p.leader_id.0);
                        }
                    }
                    self.topics.insert(topic.to_owned(), leaders);
                    return Ok(());
                }
                Some((None, _)) => format!("topic {topic:?} has no partition yet"),
                Some((Some(e), _)) if e.is_retriable() && e.code() != 3 => {
                    format!("topic {topic:?}: {e:?}")
                }
                Some((Some(e), _)) => {
                    return Err(PluginError::permanent(match e.code() {
                        3 => format!(
                            "topic {topic:?} does not exist and the brokers do not create topics: create it, or set auto.create.topics.enable"
                        ),
                        17 => format!("{topic:?} is not a valid Kafka topic name"),
                        29 => format!("not authorized to write to topic {topic:?}"),
                        _ => format!("topic {topic:?}: {e:?}"),
                    }));
                }
            };
            if tokio::time::Instant::now() + pause > deadline {
                return Err(PluginError::transient(waiting));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// The largest record batch `topic` takes: its `max.message.bytes` when the brokers tell,
    /// else the setting.
    pub(crate) async fn max_message_bytes(&mut self, topic: &str) -> Result<usize> {
        if let Some(limit) = self.limits.get(topic) {
            return Ok(*limit);
        }
        let fallback = self.settings.max_message_bytes as usize;
        let limit = match self.any().await?.versions.describe_configs {
            None => fallback,
            Some(_) => {
                let request = DescribeConfigsRequest::default().with_resources(vec![
                    DescribeConfigsResource::default()
                        .with_resource_type(2) // topic
                        .with_resource_name(StrBytes::from_string(topic.to_owned()))
                        .with_configuration_keys(None),
                ]);
                let answer = self
                    .call_any(&request, |v| v.describe_configs.unwrap_or(0))
                    .await?;
                answer
                    .results
                    .iter()
                    .filter(|r| r.error_code.is_ok())
                    .flat_map(|r| &r.configs)
                    .find(|c| c.name.as_str() == "max.message.bytes")
                    .and_then(|c| c.value.as_ref()?.as_str().parse::<usize>().ok())
                    .unwrap_or(fallback)
            }
        };
        self.limits.insert(topic.to_owned(), limit);
        Ok(limit)
    }
}
