//! `topics metrics`: offsets, message counts, replication state and size on disk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{wire, Admin, Result, Tp};

/// Metrics of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMetrics {
    /// Partition.
    pub partition: i32,
    /// Earliest offset.
    pub earliest: i64,
    /// Latest (log-end) offset.
    pub latest: i64,
    /// `latest - earliest` (for compacted topics an upper bound).
    pub messages: i64,
    /// Leader, `None` when offline.
    pub leader: Option<i32>,
    /// Replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// ISR smaller than the replica set.
    pub under_replicated: bool,
    /// No leader.
    pub offline: bool,
    /// Bytes on disk of the leader's replica (DescribeLogDirs); `None` when unavailable.
    pub size_bytes: Option<i64>,
}

/// Metrics of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMetrics {
    /// Topic.
    pub topic: String,
    /// Sum of the partitions' message counts.
    pub messages: i64,
    /// Sum of the partitions' sizes, if all are known.
    pub size_bytes: Option<i64>,
    /// Partitions.
    pub partitions: Vec<PartitionMetrics>,
}

/// The result of [`Admin::metrics`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Topics, sorted.
    pub topics: Vec<TopicMetrics>,
    /// Why sizes are missing, if they are.
    pub size_note: Option<String>,
}

impl Admin {
    /// Metrics of `topic`, or of every non-internal topic.
    pub async fn metrics(&self, topic: Option<&str>) -> Result<MetricsReport> {
        let topics: Vec<crate::TopicInfo> = match topic {
            Some(t) => vec![self.topic_metadata(t).await?],
            None => self
                .topics_metadata()
                .await?
                .into_iter()
                .filter(|t| !t.internal)
                .collect(),
        };
        let tps: Vec<Tp> = topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.partition)))
            .collect();
        let marks = self.watermarks(&tps).await?;
        let (sizes, size_note) = self.log_sizes(&topics).await;
        let out = topics
            .into_iter()
            .map(|t| {
                let partitions: Vec<PartitionMetrics> = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let key = (t.name.clone(), p.partition);
                        let (lo, hi) = marks.get(&key).copied().unwrap_or((0, 0));
                        PartitionMetrics {
                            partition: p.partition,
                            earliest: lo,
                            latest: hi,
                            messages: (hi - lo).max(0),
                            leader: p.leader,
                            replicas: p.replicas.clone(),
                            isr: p.isr.clone(),
                            under_replicated: p.under_replicated(),
                            offline: p.offline(),
                            size_bytes: p
                                .leader
                                .and_then(|l| sizes.get(&(l, t.name.clone(), p.partition)))
                                .copied(),
                        }
                    })
                    .collect();
                TopicMetrics {
                    messages: partitions.iter().map(|p| p.messages).sum(),
                    size_bytes: partitions.iter().map(|p| p.size_bytes).sum(),
                    topic: t.name,
                    partitions,
                }
            })
            .collect();
        Ok(MetricsReport {
            topics: out,
            size_note,
        })
    }

    /// `(broker, topic, partition) -> bytes` from DescribeLogDirs on every broker.
    async fn log_sizes(
        &self,
        topics: &[crate::TopicInfo],
    ) -> (BTreeMap<(i32, String, i32), i64>, Option<String>) {
        let brokers = match self.metadata().await {
            Ok(m) => m.brokers,
            Err(e) => return (BTreeMap::new(), Some(e.to_string())),
        };
        let filter: Vec<(String, Vec<i32>)> = topics
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.partitions.iter().map(|p| p.partition).collect(),
                )
            })
            .collect();
        let calls = brokers.iter().map(|b| {
            let addr = format!("{}:{}", b.host, b.port);
            let filter = &filter;
            async move {
                (
                    b.id,
                    wire::log_dir_sizes(&addr, Some(filter), &self.wire).await,
                )
            }
        });
        let mut out = BTreeMap::new();
        let mut notes = Vec::new();
        for (id, r) in futures::future::join_all(calls).await {
            match r {
                Ok(rows) => {
                    for (t, p, size) in rows {
                        *out.entry((id, t, p)).or_insert(0) += size;
                    }
                }
                Err(e) => notes.push(e.to_string()),
            }
        }
        (out, (!notes.is_empty()).then(|| notes.join("; ")))
    }
}
