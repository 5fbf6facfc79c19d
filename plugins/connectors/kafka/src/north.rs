//! The `kafka-north` connector: its lifecycle and data calls.

use crate::{
    cluster::{Cluster, topic_name},
    producer::{Outgoing, Producer},
    settings::KafkaSettings,
};
use bytes::Bytes;
use oibus_plugin_api::{prelude::*, serde_json};
use std::{path::Path, sync::Arc, time::Duration};

/// A file larger than this is not read into memory (no Kafka topic takes it in one record).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// The Kafka North connector.
pub struct KafkaNorth {
    settings: Arc<KafkaSettings>,
    cluster: Cluster,
    producer: Producer,
}

impl KafkaNorth {
    /// The records of `values`, in order.
    fn records(&self, values: &[OibusValue]) -> Result<Vec<Outgoing>> {
        values
            .iter()
            .map(|v| {
                let point = v.point_id.as_str();
                Ok(Outgoing {
                    topic: topic_name(&self.settings.topic, point),
                    key: Bytes::copy_from_slice(point.as_bytes()),
                    value: Bytes::from(serde_json::to_vec(v)?),
                    headers: Vec::new(),
                    timestamp_ms: v.timestamp.as_millis(),
                    what: format!("value of {point:?} at {}", v.timestamp),
                })
            })
            .collect()
    }
}

impl Connector for KafkaNorth {
    type Settings = KafkaSettings;

    fn new(settings: KafkaSettings, _ctx: Context) -> Result<Self> {
        let settings = Arc::new(settings);
        Ok(Self {
            cluster: Cluster::new(settings.clone())?,
            producer: Producer::new(
                settings.compression,
                settings.max_request_bytes as usize,
                Duration::from_millis(settings.timeout_ms),
            ),
            settings,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.cluster.connect().await?;
        tracing::info!(
            "connected to Kafka through {}",
            self.settings.bootstrap_servers.join(", ")
        );
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        self.cluster.disconnect();
        self.producer.reset();
        Ok(())
    }

    /// Connects, checks the topics that do not depend on a point exist, and asks for a producer
    /// id (which needs the `IdempotentWrite` permission where ACLs are on).
    async fn test_connection(&mut self) -> Result<()> {
        self.cluster.connect().await?;
        let mut topics = vec![self.settings.file_topic.clone()];
        if !self.settings.topic.contains("{pointId}") {
            topics.push(self.settings.topic.clone());
        }
        for topic in topics {
            self.cluster.refresh(&topic).await?;
        }
        self.producer.ready(&mut self.cluster).await?;
        self.cluster.disconnect();
        Ok(())
    }
}

impl HandlesValues for KafkaNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let records = self.records(&values)?;
        self.producer.send(&mut self.cluster, &records).await
    }
}

impl HandlesFile for KafkaNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unreadable = |e: std::io::Error| {
            PluginError::transient(format!("cannot read {}: {e}", path.display()))
        };
        let size = tokio::fs::metadata(path).await.map_err(unreadable)?.len();
        if size > MAX_FILE_BYTES {
            return Err(PluginError::permanent(format!(
                "file {name}: {size} bytes, more than a Kafka record can hold ({MAX_FILE_BYTES} bytes at most read)"
            )));
        }
        let content = tokio::fs::read(path).await.map_err(unreadable)?;
        let record = Outgoing {
            topic: self.settings.file_topic.clone(),
            key: Bytes::copy_from_slice(name.as_bytes()),
            value: Bytes::from(content),
            headers: vec![("oibus-file-name", Bytes::copy_from_slice(name.as_bytes()))],
            timestamp_ms: Timestamp::now().as_millis(),
            what: format!("file {name}"),
        };
        self.producer.send(&mut self.cluster, &[record]).await
    }
}
