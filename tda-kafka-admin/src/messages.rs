//! `topics produce` and `topics consume`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::{Admin, AdminError, Result};

/// What to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceRequest {
    /// Topic.
    pub topic: String,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Value.
    pub value: Vec<u8>,
    /// How many copies to send (0 sends nothing).
    pub count: usize,
    /// Fixed partition, or the partitioner's choice.
    pub partition: Option<i32>,
}

/// Where a message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Where consumption starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// Earliest offset (or the group's committed offset).
    Beginning,
    /// Log end: only new messages (or the group's committed offset).
    End,
    /// This offset in every partition.
    Offset(i64),
    /// The first offset with a timestamp >= this (ms).
    Timestamp(i64),
}

/// How to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOptions {
    /// Topic.
    pub topic: String,
    /// Start position.
    pub start: StartAt,
    /// Stop after this many messages.
    pub max: Option<usize>,
    /// Consume as this group (subscribe; a message's offset is committed only
    /// after the callback returned `Ok` for it); without it, partitions are
    /// assigned directly and nothing is committed.
    pub group: Option<String>,
    /// Keep waiting for new messages until shutdown; otherwise stop at the end.
    pub follow: bool,
}

/// A consumed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedMessage {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms.
    pub timestamp: Option<i64>,
    /// Key (lossy UTF-8).
    pub key: Option<String>,
    /// Headers (values lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Value (lossy UTF-8).
    pub value: Option<String>,
}

impl Admin {
    /// Sends `req.count` copies of the message with acks=all; returns where each landed.
    pub async fn produce(&self, req: &ProduceRequest) -> Result<Vec<Delivered>> {
        self.topic_metadata(&req.topic).await?;
        let mut cfg = self.config.clone();
        cfg.set("acks", "all");
        cfg.set("message.timeout.ms", self.timeout.as_millis().to_string());
        let producer: FutureProducer =
            cfg.create().map_err(AdminError::kafka("create producer"))?;
        let mut out = Vec::new();
        for _ in 0..req.count {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &req.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut rec = FutureRecord::<[u8], [u8]>::to(&req.topic)
                .payload(&req.value)
                .headers(headers);
            if let Some(k) = &req.key {
                rec = rec.key(k);
            }
            if let Some(p) = req.partition {
                rec = rec.partition(p);
            }
            let d = producer
                .send(rec, self.timeout)
                .await
                .map_err(|(e, _)| AdminError::Kafka {
                    operation: "produce",
                    source: e,
                })?;
            out.push(Delivered {
                partition: d.partition,
                offset: d.offset,
            });
        }
        Ok(out)
    }

    /// Reads messages and hands each to `on_message` until `max` is reached,
    /// the end of every partition is reached (unless `follow`), or `shutdown`
    /// is set. Returns the number of messages handed on successfully.
    ///
    /// With a group, a message's offset is committed only after `on_message`
    /// returned `Ok` for it (e.g. after it was written and flushed), so a
    /// message is never committed before it was handed on. When `on_message`
    /// fails (a closed pipe, a full disk) consumption stops without committing
    /// that message and the error is returned as [`AdminError::Output`].
    pub async fn consume<F>(
        &self,
        opts: &ConsumeOptions,
        shutdown: Arc<AtomicBool>,
        mut on_message: F,
    ) -> Result<usize>
    where
        F: FnMut(&ConsumedMessage) -> std::io::Result<()> + Send + 'static,
    {
        let info = self.topic_metadata(&opts.topic).await?;
        let partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        let starts = match opts.start {
            StartAt::Timestamp(ts) => {
                let tps: Vec<crate::Tp> = partitions
                    .iter()
                    .map(|p| (opts.topic.clone(), *p))
                    .collect();
                Some(self.list_offsets(&tps, Offset::Offset(ts)).await?)
            }
            _ => None,
        };
        let mut cfg = self.config.clone();
        cfg.set("enable.partition.eof", "true");
        cfg.set("enable.auto.commit", "false");
        cfg.set("allow.auto.create.topics", "false");
        cfg.set(
            "auto.offset.reset",
            if opts.start == StartAt::End {
                "latest"
            } else {
                "earliest"
            },
        );
        cfg.set(
            "group.id",
            opts.group.as_deref().unwrap_or("tda-kafka-consume"),
        );
        let consumer: BaseConsumer = cfg.create().map_err(AdminError::kafka("create consumer"))?;
        let topic = opts.topic.clone();
        let group = opts.group.is_some();
        let start = opts.start;
        let max = opts.max;
        let follow = opts.follow;
        let timeout = self.timeout;
        tokio::task::spawn_blocking(move || -> Result<usize> {
            if group {
                consumer
                    .subscribe(&[&topic])
                    .map_err(AdminError::kafka("subscribe"))?;
            } else {
                let mut tpl = TopicPartitionList::new();
                for p in &partitions {
                    let off = match start {
                        StartAt::Beginning => Offset::Beginning,
                        StartAt::End => Offset::End,
                        StartAt::Offset(o) => Offset::Offset(o),
                        StartAt::Timestamp(_) => starts
                            .as_ref()
                            .and_then(|m| m.get(&(topic.clone(), *p)))
                            .map_or(Offset::End, |o| Offset::Offset(*o)),
                    };
                    tpl.add_partition_offset(&topic, *p, off)
                        .map_err(AdminError::kafka("assign"))?;
                }
                consumer.assign(&tpl).map_err(AdminError::kafka("assign"))?;
            }
            let mut eof = std::collections::BTreeSet::new();
            let mut seen = 0usize;
            let started = std::time::Instant::now();
            loop {
                if shutdown.load(Ordering::SeqCst) || max.is_some_and(|m| seen >= m) {
                    break;
                }
                if !follow && eof.len() >= partitions.len() {
                    break;
                }
                if !follow
                    && group
                    && eof.is_empty()
                    && seen == 0
                    && started.elapsed() > timeout * 3
                {
                    break;
                }
                match consumer.poll(Duration::from_millis(200)) {
                    None => {}
                    Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                        eof.insert(p);
                    }
                    Some(Err(e)) => {
                        return Err(AdminError::Kafka {
                            operation: "consume",
                            source: e,
                        })
                    }
                    Some(Ok(m)) => {
                        eof.remove(&m.partition());
                        let headers = m
                            .headers()
                            .map(|hs| {
                                hs.iter()
                                    .map(|h| {
                                        (
                                            h.key.to_owned(),
                                            h.value
                                                .map(|v| String::from_utf8_lossy(v).into_owned())
                                                .unwrap_or_default(),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let msg = ConsumedMessage {
                            topic: m.topic().to_owned(),
                            partition: m.partition(),
                            offset: m.offset(),
                            timestamp: m.timestamp().to_millis(),
                            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                            headers,
                            value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                        };
                        if let Err(source) = on_message(&msg) {
                            // Not handed on: leave it uncommitted (redelivered
                            // to the group's next reader).
                            if group {
                                consumer.unsubscribe();
                            }
                            return Err(AdminError::Output {
                                topic: msg.topic,
                                partition: msg.partition,
                                offset: msg.offset,
                                committed: seen,
                                source,
                            });
                        }
                        if group {
                            consumer
                                .commit_message(&m, CommitMode::Sync)
                                .map_err(AdminError::kafka("commit"))?;
                        }
                        seen += 1;
                    }
                }
            }
            if group {
                consumer.unsubscribe();
            }
            Ok(seen)
        })
        .await
        .expect("consume task panicked")
    }
}
