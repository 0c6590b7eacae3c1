//! Consumer groups: list, describe with lag, reset offsets, delete.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::offsets::Tp;
use crate::{Admin, AdminError, Result};

/// A group in `groups list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Group id.
    pub group: String,
    /// State (`Stable`, `Empty`, `PreparingRebalance`, ...).
    pub state: String,
    /// Protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// Assignor (`range`, `roundrobin`, ...).
    pub protocol: String,
    /// Number of members.
    pub members: usize,
}

/// Partitions of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPartitions {
    /// Topic.
    pub topic: String,
    /// Partition ids.
    pub partitions: Vec<i32>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Member id.
    pub member_id: String,
    /// `client.id` of the consumer.
    pub client_id: String,
    /// Host the consumer connects from.
    pub host: String,
    /// Assigned partitions.
    pub assignment: Vec<TopicPartitions>,
}

/// Committed offset, log-end offset and lag of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's committed offset, if any.
    pub committed: Option<i64>,
    /// The partition's log-end (latest) offset.
    pub log_end: i64,
    /// `log_end - committed`; `None` without a committed offset.
    pub lag: Option<i64>,
    /// Client id of the member the partition is assigned to.
    pub member: Option<String>,
}

/// `groups describe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDescription {
    /// Group id.
    pub group: String,
    /// State.
    pub state: String,
    /// Assignor.
    pub protocol: String,
    /// Members with assignments.
    pub members: Vec<MemberInfo>,
    /// Per-partition offsets and lag, sorted.
    pub partitions: Vec<PartitionLag>,
    /// Sum of the known lags.
    pub total_lag: i64,
}

/// Where `groups reset` moves offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetSpec {
    /// The earliest offset.
    Earliest,
    /// The log-end offset.
    Latest,
    /// An absolute offset (clamped to the partition's range).
    Offset(i64),
    /// The first offset with a timestamp >= this (ms since the epoch).
    Timestamp(i64),
    /// The committed offset shifted by N (negative = back), clamped.
    ShiftBy(i64),
}

impl FromStr for ResetSpec {
    type Err = AdminError;

    /// `earliest`, `latest`, `offset:N`, `timestamp:MS`, `shift:N`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            AdminError::input(
                format!("reset target {s:?}"),
                "expected earliest, latest, offset:N, timestamp:MS or shift:N",
            )
        };
        let num = |v: &str| v.trim().parse::<i64>().map_err(|_| bad());
        match s.trim().split_once(':') {
            None if s.trim() == "earliest" => Ok(Self::Earliest),
            None if s.trim() == "latest" => Ok(Self::Latest),
            Some(("offset", v)) => num(v).and_then(|n| {
                if n < 0 {
                    Err(bad())
                } else {
                    Ok(Self::Offset(n))
                }
            }),
            Some(("timestamp", v)) => num(v).map(Self::Timestamp),
            Some(("shift", v)) | Some(("shift-by", v)) => num(v).map(Self::ShiftBy),
            _ => Err(bad()),
        }
    }
}

/// One partition of a reset: where it is and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRow {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset before.
    pub current: Option<i64>,
    /// New offset.
    pub target: i64,
}

/// The result of [`Admin::reset_offsets`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetReport {
    /// Group.
    pub group: String,
    /// Whether the offsets were committed (`false` = dry run).
    pub executed: bool,
    /// Rows.
    pub partitions: Vec<ResetRow>,
}

/// Decodes a consumer-protocol `ConsumerProtocolAssignment`.
pub fn decode_assignment(bytes: &[u8]) -> Option<Vec<TopicPartitions>> {
    struct R<'a>(&'a [u8]);
    impl R<'_> {
        fn take(&mut self, n: usize) -> Option<&[u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Some(a)
        }
        fn i16(&mut self) -> Option<i16> {
            self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
        }
        fn i32(&mut self) -> Option<i32> {
            self.take(4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
    }
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let mut r = R(bytes);
    let _version = r.i16()?;
    let n = r.i32()?;
    let mut out = Vec::new();
    for _ in 0..n.max(0) {
        let len = r.i16()?;
        let topic = String::from_utf8(r.take(len.max(0) as usize)?.to_vec()).ok()?;
        let np = r.i32()?;
        let mut partitions = Vec::new();
        for _ in 0..np.max(0) {
            partitions.push(r.i32()?);
        }
        partitions.sort_unstable();
        out.push(TopicPartitions { topic, partitions });
    }
    out.sort_by(|a, b| a.topic.cmp(&b.topic));
    Some(out)
}

struct RawGroup {
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<MemberInfo>,
}

impl Admin {
    async fn fetch_groups(&self, group: Option<&str>) -> Result<Vec<(String, RawGroup)>> {
        let admin = std::sync::Arc::clone(&self.inner);
        let timeout = self.timeout;
        let g = group.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let list = admin
                .inner()
                .fetch_group_list(g.as_deref(), timeout)
                .map_err(AdminError::kafka("list consumer groups"))?;
            Ok(list
                .groups()
                .iter()
                .map(|g| {
                    let members = g
                        .members()
                        .iter()
                        .map(|m| MemberInfo {
                            member_id: m.id().to_owned(),
                            client_id: m.client_id().to_owned(),
                            host: m.client_host().to_owned(),
                            assignment: m
                                .assignment()
                                .and_then(decode_assignment)
                                .unwrap_or_default(),
                        })
                        .collect();
                    (
                        g.name().to_owned(),
                        RawGroup {
                            state: g.state().to_owned(),
                            protocol_type: g.protocol_type().to_owned(),
                            protocol: g.protocol().to_owned(),
                            members,
                        },
                    )
                })
                .collect())
        })
        .await
        .expect("group list task panicked")
    }

    /// All groups, sorted by id.
    pub async fn list_groups(&self) -> Result<Vec<GroupSummary>> {
        let mut out: Vec<GroupSummary> = self
            .fetch_groups(None)
            .await?
            .into_iter()
            .map(|(group, g)| GroupSummary {
                group,
                state: g.state,
                protocol_type: g.protocol_type,
                protocol: g.protocol,
                members: g.members.len(),
            })
            .collect();
        out.sort_by(|a, b| a.group.cmp(&b.group));
        out.dedup_by(|a, b| a.group == b.group);
        Ok(out)
    }

    /// The group's committed offsets on `topics` (all non-internal topics when
    /// empty); partitions without a commit are left out.
    pub async fn committed_offsets(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<BTreeMap<Tp, i64>> {
        let all = self.topics_metadata().await?;
        let wanted: BTreeSet<&str> = topics.iter().map(String::as_str).collect();
        for t in &wanted {
            if !all.iter().any(|i| i.name == *t) {
                return Err(AdminError::TopicNotFound {
                    topic: (*t).to_owned(),
                });
            }
        }
        let mut tpl = TopicPartitionList::new();
        for t in all
            .iter()
            .filter(|t| !t.internal && (wanted.is_empty() || wanted.contains(t.name.as_str())))
        {
            for p in &t.partitions {
                tpl.add_partition(&t.name, p.partition);
            }
        }
        if tpl.count() == 0 {
            return Ok(BTreeMap::new());
        }
        let timeout = self.timeout;
        let got = self
            .with_consumer(Some(group), move |c| {
                c.committed_offsets(tpl, timeout)
                    .map_err(AdminError::kafka("fetch committed offsets"))
            })
            .await?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(((e.topic().to_owned(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    /// Members, assignments, committed and log-end offsets and lag of `group`.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let raw = self
            .fetch_groups(Some(group))
            .await?
            .into_iter()
            .find(|(g, _)| g == group)
            .map(|(_, r)| r);
        let committed = self.committed_offsets(group, &[]).await?;
        let raw = match raw {
            Some(r) if r.state != "Dead" || !committed.is_empty() => r,
            _ if !committed.is_empty() => RawGroup {
                state: "Empty".into(),
                protocol_type: "consumer".into(),
                protocol: String::new(),
                members: Vec::new(),
            },
            _ => {
                return Err(AdminError::GroupNotFound {
                    group: group.to_owned(),
                })
            }
        };
        let mut owner: BTreeMap<Tp, String> = BTreeMap::new();
        for m in &raw.members {
            for tp in &m.assignment {
                for p in &tp.partitions {
                    owner.insert((tp.topic.clone(), *p), m.client_id.clone());
                }
            }
        }
        let tps: BTreeSet<Tp> = committed.keys().chain(owner.keys()).cloned().collect();
        let tps: Vec<Tp> = tps.into_iter().collect();
        let ends = self.list_offsets(&tps, Offset::End).await?;
        let partitions: Vec<PartitionLag> = tps
            .iter()
            .map(|tp| {
                let c = committed.get(tp).copied();
                let end = ends.get(tp).copied().unwrap_or(0);
                PartitionLag {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    committed: c,
                    log_end: end,
                    lag: c.map(|c| (end - c).max(0)),
                    member: owner.get(tp).cloned(),
                }
            })
            .collect();
        Ok(GroupDescription {
            group: group.to_owned(),
            state: raw.state,
            protocol: raw.protocol,
            total_lag: partitions.iter().filter_map(|p| p.lag).sum(),
            members: raw.members,
            partitions,
        })
    }

    /// Computes (and with `execute`, commits) new offsets for `group` on
    /// `topics` (the topics it has commits on when empty). Refused while the
    /// group has members.
    pub async fn reset_offsets(
        &self,
        group: &str,
        topics: &[String],
        spec: ResetSpec,
        execute: bool,
    ) -> Result<ResetReport> {
        let raw = self
            .fetch_groups(Some(group))
            .await?
            .into_iter()
            .find(|(g, _)| g == group);
        if let Some((_, r)) = &raw {
            if !r.members.is_empty() {
                return Err(AdminError::GroupActive {
                    group: group.to_owned(),
                    members: r.members.len(),
                });
            }
        }
        if let Some(t) = topics.iter().find(|t| crate::is_internal_topic(t)) {
            return Err(AdminError::Refused {
                operation: "reset offsets on",
                target: t.clone(),
                reason: "it is an internal Kafka topic".into(),
            });
        }
        // Unknown topics fail here (TopicNotFound), before anything is computed.
        let committed = self.committed_offsets(group, topics).await?;
        let tps: Vec<Tp> = if topics.is_empty() {
            if committed.is_empty() {
                return Err(AdminError::GroupNotFound {
                    group: group.to_owned(),
                });
            }
            committed.keys().cloned().collect()
        } else {
            let all = self.topics_metadata().await?;
            all.iter()
                .filter(|t| topics.contains(&t.name))
                .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.partition)))
                .collect()
        };
        let marks = self.watermarks(&tps).await?;
        let by_time = match spec {
            ResetSpec::Timestamp(ts) => Some(self.list_offsets(&tps, Offset::Offset(ts)).await?),
            _ => None,
        };
        let mut rows = Vec::new();
        for tp in &tps {
            let (lo, hi) = marks.get(tp).copied().unwrap_or((0, 0));
            let current = committed.get(tp).copied();
            let target = match spec {
                ResetSpec::Earliest => lo,
                ResetSpec::Latest => hi,
                ResetSpec::Offset(o) => o,
                ResetSpec::Timestamp(_) => by_time
                    .as_ref()
                    .and_then(|m| m.get(tp).copied())
                    .unwrap_or(hi),
                ResetSpec::ShiftBy(n) => current.unwrap_or(lo).saturating_add(n),
            }
            .clamp(lo, hi);
            rows.push(ResetRow {
                topic: tp.0.clone(),
                partition: tp.1,
                current,
                target,
            });
        }
        if execute && !rows.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for r in &rows {
                tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.target))
                    .map_err(AdminError::kafka("build partition list"))?;
            }
            let g = group.to_owned();
            self.with_consumer(Some(group), move |c| {
                c.commit(&tpl, CommitMode::Sync)
                    .map_err(|e| match e.rdkafka_error_code() {
                        Some(
                            code @ (RDKafkaErrorCode::UnknownMemberId
                            | RDKafkaErrorCode::IllegalGeneration
                            | RDKafkaErrorCode::RebalanceInProgress),
                        ) => AdminError::Group {
                            operation: "reset offsets (group became active)",
                            group: g,
                            code,
                        },
                        _ => AdminError::Kafka {
                            operation: "commit offsets",
                            source: e,
                        },
                    })
            })
            .await?;
            let topics_done: Vec<String> = rows
                .iter()
                .map(|r| r.topic.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let after = self.committed_offsets(group, &topics_done).await?;
            for r in &rows {
                let got = after.get(&(r.topic.clone(), r.partition)).copied();
                if got != Some(r.target) {
                    return Err(AdminError::input(
                        format!("reset of {group} {}-{}", r.topic, r.partition),
                        format!("committed {got:?} after the reset, expected {}", r.target),
                    ));
                }
            }
        }
        Ok(ResetReport {
            group: group.to_owned(),
            executed: execute,
            partitions: rows,
        })
    }

    /// Sets exactly these committed offsets (used by restore). Refused while
    /// the group has members.
    pub async fn set_offsets(&self, group: &str, offsets: &BTreeMap<Tp, i64>) -> Result<()> {
        if let Some((_, r)) = self
            .fetch_groups(Some(group))
            .await?
            .into_iter()
            .find(|(g, _)| g == group)
        {
            if !r.members.is_empty() {
                return Err(AdminError::GroupActive {
                    group: group.to_owned(),
                    members: r.members.len(),
                });
            }
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in offsets {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                .map_err(AdminError::kafka("build partition list"))?;
        }
        self.retrying("commit offsets", || {
            let tpl = tpl.clone();
            self.with_consumer(Some(group), move |c| {
                c.commit(&tpl, CommitMode::Sync)
                    .map_err(AdminError::kafka("commit offsets"))
            })
        })
        .await
    }

    /// Deletes `group` (its committed offsets). Refused by the broker while
    /// the group has members.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let mut res = self
            .inner
            .delete_groups(&[group], &opts)
            .await
            .map_err(AdminError::kafka("delete groups"))?;
        match res.pop() {
            Some(Err((g, RDKafkaErrorCode::GroupIdNotFound))) => {
                Err(AdminError::GroupNotFound { group: g })
            }
            Some(Err((g, RDKafkaErrorCode::NonEmptyGroup))) => Err(AdminError::GroupActive {
                group: g,
                members: 1,
            }),
            Some(Err((g, code))) => Err(AdminError::Group {
                operation: "delete",
                group: g,
                code,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_specs_parse() {
        assert_eq!(
            "earliest".parse::<ResetSpec>().unwrap(),
            ResetSpec::Earliest
        );
        assert_eq!(
            "offset:42".parse::<ResetSpec>().unwrap(),
            ResetSpec::Offset(42)
        );
        assert_eq!(
            "shift:-3".parse::<ResetSpec>().unwrap(),
            ResetSpec::ShiftBy(-3)
        );
        assert_eq!(
            "timestamp:1700000000000".parse::<ResetSpec>().unwrap(),
            ResetSpec::Timestamp(1_700_000_000_000)
        );
        assert!("offset:-1".parse::<ResetSpec>().is_err());
        assert!("sideways".parse::<ResetSpec>().is_err());
    }

    #[test]
    fn assignment_decodes() {
        let mut b = Vec::new();
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&3i16.to_be_bytes());
        b.extend_from_slice(b"abc");
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        let a = decode_assignment(&b).unwrap();
        assert_eq!(a[0].topic, "abc");
        assert_eq!(a[0].partitions, vec![0, 2]);
        assert!(decode_assignment(&b[..5]).is_none());
    }
}
