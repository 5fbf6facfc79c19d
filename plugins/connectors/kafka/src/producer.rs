//! The idempotent producer: records grouped per partition into record batches carrying this
//! producer's id and sequence numbers, sent with `acks=all`, and resent unchanged (same
//! sequence) after a lost connection or a leader change, so that the brokers store each batch
//! once even when an acknowledgement was lost on the way.
//!
//! A call succeeds only when every batch is acknowledged. When a call fails, the sequence of the
//! partitions it touched is uncertain: the next call starts with a new producer id (Kafka's own
//! producers bump their epoch for the same reason).

use crate::{
    cluster::{Cluster, lost},
    partition::partition_of,
    settings::Compression,
};
use bytes::{Bytes, BytesMut};
use kafka_protocol::{
    error::ParseResponseErrorCode,
    indexmap::IndexMap,
    messages::{
        InitProducerIdRequest, ProduceRequest, ProducerId, TopicName,
        produce_request::{PartitionProduceData, TopicProduceData},
    },
    protocol::StrBytes,
    records::{self, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType},
};
use oibus_plugin_api::prelude::*;
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    time::Duration,
};

/// One record to send.
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) key: Bytes,
    pub(crate) value: Bytes,
    pub(crate) headers: Vec<(&'static str, Bytes)>,
    pub(crate) timestamp_ms: i64,
    /// What it is, for messages (`value of "p" at …`, `file a.csv`).
    pub(crate) what: String,
}

impl Outgoing {
    /// This record in a batch of producer `who`, at `offset` in the batch, numbered `sequence`.
    fn record(&self, who: Identity, offset: usize, sequence: i32) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: who.id,
            producer_epoch: who.epoch,
            timestamp_type: TimestampType::Creation,
            offset: offset as i64,
            sequence,
            timestamp: self.timestamp_ms,
            key: Some(self.key.clone()),
            value: Some(self.value.clone()),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_static_str(k), Some(v.clone())))
                .collect::<IndexMap<_, _>>(),
        }
    }

    /// At least the bytes of this record in a batch (lengths and deltas as varints of 5 bytes).
    fn size_bound(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 10)
            .sum();
        self.key.len() + self.value.len() + headers + 32
    }
}

/// The bytes of a record batch's header.
const BATCH_OVERHEAD: usize = 61;
/// The bytes of a produce request besides its batches, per topic and partition (a bound).
const REQUEST_OVERHEAD: usize = 512;

/// The producer id and epoch the cluster gave.
#[derive(Clone, Copy)]
struct Identity {
    id: i64,
    epoch: i16,
}

/// A batch of records of one partition, in order.
struct Batch {
    topic: String,
    partition: i32,
    records: Vec<usize>,
    /// The encoded batch, kept to resend it unchanged.
    encoded: Option<Bytes>,
}

/// The most characters of a broker's error message kept.
const MAX_BROKER_MESSAGE: usize = 500;

/// How a partition's answer is handled.
enum Answer {
    Stored,
    Retry(String),
    NewIdentity(String),
    Refused(String),
}

fn classify(code: i16, message: Option<&str>) -> Answer {
    let Some(e) = code.err() else {
        return Answer::Stored;
    };
    let text = match message {
        Some(m) if !m.is_empty() => {
            // A broker's message, bounded: it ends in logs and the error store.
            let m: String = m.chars().take(MAX_BROKER_MESSAGE).collect();
            format!("{e:?}: {m}")
        }
        _ => format!("{e:?}"),
    };
    match code {
        // Already stored: an earlier attempt's acknowledgement was lost.
        46 => Answer::Stored,
        // The broker lost or fenced this producer's state (a restart, a deleted log).
        45 | 47 | 49 | 59 | 90 => Answer::NewIdentity(text),
        _ if e.is_retriable() => Answer::Retry(text),
        // Unknown server errors and unavailable brokers pass.
        -1 | 8 => Answer::Retry(text),
        _ => Answer::Refused(text),
    }
}

/// Sequence numbers wrap to 0 after `i32::MAX`, as Kafka's.
fn advance(sequence: i32, by: usize) -> i32 {
    ((i64::from(sequence) + by as i64) % (i64::from(i32::MAX) + 1)) as i32
}

/// The idempotent producer's state.
pub(crate) struct Producer {
    compression: records::Compression,
    max_request: usize,
    timeout: Duration,
    identity: Option<Identity>,
    sequences: HashMap<(String, i32), i32>,
}

impl Producer {
    /// A producer that has no id yet.
    pub(crate) fn new(compression: Compression, max_request: usize, timeout: Duration) -> Self {
        Self {
            compression: match compression {
                Compression::None => records::Compression::None,
                Compression::Gzip => records::Compression::Gzip,
                Compression::Snappy => records::Compression::Snappy,
                Compression::Lz4 => records::Compression::Lz4,
                Compression::Zstd => records::Compression::Zstd,
            },
            max_request,
            timeout,
            identity: None,
            sequences: HashMap::new(),
        }
    }

    /// Forgets the producer id: the next send asks for a new one.
    pub(crate) fn reset(&mut self) {
        self.identity = None;
        self.sequences.clear();
    }

    async fn identity(&mut self, cluster: &mut Cluster) -> Result<Identity> {
        if let Some(identity) = self.identity {
            return Ok(identity);
        }
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(i32::MAX)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let answer = cluster.call_any(&request, |v| v.init_producer_id).await?;
        if let Some(e) = answer.error_code.err() {
            let text = format!("the cluster gave no producer id: {e:?}");
            return Err(match answer.error_code {
                31 => PluginError::invalid_settings(format!(
                    "{text} (the user needs the IdempotentWrite permission on the cluster)"
                )),
                _ if e.is_retriable() => PluginError::transient(text),
                _ => PluginError::permanent(text),
            });
        }
        let identity = Identity {
            id: answer.producer_id.0,
            epoch: answer.producer_epoch,
        };
        tracing::debug!("producer id {} epoch {}", identity.id, identity.epoch);
        self.identity = Some(identity);
        self.sequences.clear();
        Ok(identity)
    }

    /// `records` as one record batch (format v2) with this producer's compression.
    fn batch_bytes(&self, records: &[Record]) -> anyhow::Result<BytesMut> {
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: self.compression,
        };
        RecordBatchEncoder::encode(&mut buf, records, &options)?;
        Ok(buf)
    }

    fn encode(&mut self, batch: &Batch, all: &[Outgoing], who: Identity) -> Result<Bytes> {
        let key = (batch.topic.clone(), batch.partition);
        let base = self.sequences.get(&key).copied().unwrap_or(0);
        let records: Vec<Record> = batch
            .records
            .iter()
            .enumerate()
            .map(|(i, &r)| all[r].record(who, i, advance(base, i)))
            .collect();
        let buf = self
            .batch_bytes(&records)
            .map_err(|e| PluginError::permanent(format!("cannot encode a record batch: {e}")))?;
        self.sequences
            .insert(key, advance(base, batch.records.len()));
        Ok(buf.freeze())
    }

    /// Asks the cluster for a producer id now (`test-connection`: where ACLs are on, the user
    /// needs the `IdempotentWrite` permission).
    pub(crate) async fn ready(&mut self, cluster: &mut Cluster) -> Result<()> {
        self.identity(cluster).await.map(drop)
    }

    /// Sends `all`; Ok once the brokers acknowledged every record.
    pub(crate) async fn send(&mut self, cluster: &mut Cluster, all: &[Outgoing]) -> Result<()> {
        let result = self.send_all(cluster, all).await;
        if result.is_err() {
            self.reset();
        }
        result
    }

    async fn send_all(&mut self, cluster: &mut Cluster, all: &[Outgoing]) -> Result<()> {
        let mut queues = self.plan(cluster, all).await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(50);
        let mut renewed = false;
        while !queues.is_empty() {
            let mut last_failure = None;
            // Each partition's first batch, grouped by leader.
            let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
            let mut stale = Vec::new();
            for key in queues.keys() {
                let leaders = cluster.leaders(&key.0).await?;
                match leaders.get(key.1 as usize).copied().flatten() {
                    Some(leader) => by_leader.entry(leader).or_default().push(key.clone()),
                    None => {
                        last_failure = Some(format!("{}/{}: no leader", key.0, key.1));
                        stale.push(key.0.clone());
                    }
                }
            }
            for topic in stale {
                cluster.stale(&topic);
            }
            let who = self.identity(cluster).await?;
            for (leader, keys) in by_leader {
                let mut chosen = Vec::new();
                let mut size = 0;
                for key in keys {
                    let Some(batch) = queues.get_mut(&key).and_then(VecDeque::front_mut) else {
                        continue;
                    };
                    if batch.encoded.is_none() {
                        let bytes = self.encode(batch, all, who)?;
                        batch.encoded = Some(bytes);
                    }
                    let len = batch.encoded.as_ref().map_or(0, Bytes::len);
                    if !chosen.is_empty() && size + len + REQUEST_OVERHEAD > self.max_request {
                        continue; // the next round takes it
                    }
                    size += len + REQUEST_OVERHEAD;
                    chosen.push(key);
                }
                match self.produce(cluster, leader, &chosen, &queues).await {
                    Err(e) => {
                        last_failure = Some(e.to_string());
                        cluster.forget(leader);
                    }
                    Ok(answers) => {
                        for (key, answer) in answers {
                            match answer {
                                Answer::Stored => {
                                    if let Some(q) = queues.get_mut(&key) {
                                        q.pop_front();
                                        if q.is_empty() {
                                            queues.remove(&key);
                                        }
                                    }
                                }
                                Answer::Retry(why) => {
                                    last_failure = Some(format!("{}/{}: {why}", key.0, key.1));
                                    cluster.forget(leader);
                                }
                                Answer::NewIdentity(why) if !renewed => {
                                    tracing::warn!(
                                        "{}/{}: {why}: asking for a new producer id and sending the unacknowledged batches again",
                                        key.0,
                                        key.1
                                    );
                                    renewed = true;
                                    self.reset();
                                    for q in queues.values_mut() {
                                        for b in q.iter_mut() {
                                            b.encoded = None;
                                        }
                                    }
                                    last_failure = Some(why);
                                }
                                Answer::NewIdentity(why) => {
                                    return Err(PluginError::transient(format!(
                                        "{}/{}: {why}, again with a new producer id",
                                        key.0, key.1
                                    )));
                                }
                                Answer::Refused(why) => {
                                    let batch = queues.get(&key).and_then(VecDeque::front);
                                    let what = match batch.map(|b| b.records.as_slice()) {
                                        Some([one]) => all[*one].what.clone(),
                                        Some(many) => format!("{} records", many.len()),
                                        None => "records".into(),
                                    };
                                    return Err(PluginError::permanent(format!(
                                        "{what} refused by broker {} for {}/{}: {why}",
                                        cluster.addr(leader),
                                        key.0,
                                        key.1
                                    )));
                                }
                            }
                        }
                    }
                }
            }
            if queues.is_empty() {
                break;
            }
            if let Some(why) = last_failure {
                if tokio::time::Instant::now() + pause > deadline {
                    return Err(PluginError::connection_lost(format!(
                        "not every record acknowledged within {} ms: {why}",
                        self.timeout.as_millis()
                    )));
                }
                tracing::debug!("sending again in {} ms: {why}", pause.as_millis());
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
        Ok(())
    }

    /// Groups `all` per partition, in order, into batches within the size limits; a record too
    /// large for its topic refuses the whole call before anything is sent.
    async fn plan(
        &mut self,
        cluster: &mut Cluster,
        all: &[Outgoing],
    ) -> Result<BTreeMap<(String, i32), VecDeque<Batch>>> {
        let mut queues: BTreeMap<(String, i32), VecDeque<Batch>> = BTreeMap::new();
        let mut sizes: HashMap<(String, i32), usize> = HashMap::new();
        for (i, o) in all.iter().enumerate() {
            let count = cluster.leaders(&o.topic).await?.len();
            let limit = cluster.max_message_bytes(&o.topic).await?;
            let bound = o.size_bound();
            if bound + BATCH_OVERHEAD > limit {
                self.check_alone(o, limit)?;
            }
            let cap = limit.min(self.max_request.saturating_sub(REQUEST_OVERHEAD));
            let partition = partition_of(&o.key, count) as i32;
            let key = (o.topic.clone(), partition);
            let queue = queues.entry(key.clone()).or_default();
            let size = sizes.entry(key).or_insert(0);
            match queue.back_mut() {
                Some(b) if *size + bound + BATCH_OVERHEAD <= cap => b.records.push(i),
                _ => {
                    queue.push_back(Batch {
                        topic: o.topic.clone(),
                        partition,
                        records: vec![i],
                        encoded: None,
                    });
                    *size = 0;
                }
            }
            *size += bound;
        }
        Ok(queues)
    }

    /// Refuses a record whose batch alone, compressed, is over `limit`.
    fn check_alone(&self, o: &Outgoing, limit: usize) -> Result<()> {
        let record = o.record(Identity { id: 0, epoch: 0 }, 0, 0);
        let buf = self
            .batch_bytes(std::slice::from_ref(&record))
            .map_err(|e| PluginError::permanent(format!("{}: cannot encode: {e}", o.what)))?;
        if buf.len() > limit {
            return Err(PluginError::permanent(format!(
                "{}: a record of {} bytes is over the {limit} bytes topic {:?} takes (max.message.bytes)",
                o.what,
                buf.len(),
                o.topic
            )));
        }
        Ok(())
    }

    /// Sends the first batch of each of `keys` to `leader` and reads each partition's answer.
    async fn produce(
        &mut self,
        cluster: &mut Cluster,
        leader: i32,
        keys: &[(String, i32)],
        queues: &BTreeMap<(String, i32), VecDeque<Batch>>,
    ) -> Result<Vec<((String, i32), Answer)>> {
        let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
        for key in keys {
            if let Some(b) = queues.get(key).and_then(VecDeque::front) {
                topics.entry(&key.0).or_default().push(
                    PartitionProduceData::default()
                        .with_index(key.1)
                        .with_records(b.encoded.clone()),
                );
            }
        }
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topic_data(
                topics
                    .into_iter()
                    .map(|(t, parts)| {
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_owned())))
                            .with_partition_data(parts)
                    })
                    .collect(),
            );
        let session = cluster.session(leader).await?;
        let version = session.versions.produce;
        let answer = session.conn.call(&request, version).await.map_err(lost)?;
        let mut out = Vec::new();
        for key in keys {
            let found = answer
                .responses
                .iter()
                .filter(|t| t.name.0.as_str() == key.0)
                .flat_map(|t| &t.partition_responses)
                .find(|p| p.index == key.1);
            let answer = match found {
                Some(p) => classify(p.error_code, p.error_message.as_ref().map(|m| m.as_str())),
                None => Answer::Retry("no answer for this partition".into()),
            };
            out.push((key.clone(), answer));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_after_i32_max() {
        assert_eq!(advance(0, 5), 5);
        assert_eq!(advance(i32::MAX, 1), 0);
        assert_eq!(advance(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn answers_are_classified_as_kafka_producers_do() {
        assert!(matches!(classify(0, None), Answer::Stored));
        assert!(matches!(classify(46, None), Answer::Stored));
        assert!(matches!(classify(6, None), Answer::Retry(_)));
        assert!(matches!(classify(7, None), Answer::Retry(_)));
        assert!(matches!(classify(59, None), Answer::NewIdentity(_)));
        assert!(matches!(classify(45, None), Answer::NewIdentity(_)));
        assert!(
            matches!(classify(10, Some("too big")), Answer::Refused(t) if t.contains("too big"))
        );
        assert!(matches!(classify(29, None), Answer::Refused(_)));
    }
}
