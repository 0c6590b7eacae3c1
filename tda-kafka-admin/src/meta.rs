//! Topic metadata and configs, shared by describe, metrics, plan and health.

use std::collections::BTreeMap;

use rdkafka::admin::{AdminOptions, ConfigSource, ResourceSpecifier};
use serde::{Deserialize, Serialize};

use crate::{Admin, AdminError, Result};

/// One partition as the metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// Partition id.
    pub partition: i32,
    /// Leader broker id; `None` when the partition is offline.
    pub leader: Option<i32>,
    /// Replica broker ids, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

impl PartitionInfo {
    /// Fewer in-sync replicas than replicas.
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// No leader.
    pub fn offline(&self) -> bool {
        self.leader.is_none()
    }
}

/// One topic as the metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Whether it is an internal/system topic (see [`is_internal_topic`]).
    pub internal: bool,
    /// Partitions, sorted by id.
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// The replication factor: the replica count of the first partition.
    pub fn replication_factor(&self) -> i16 {
        self.partitions
            .first()
            .map_or(0, |p| i16::try_from(p.replicas.len()).unwrap_or(i16::MAX))
    }
}

/// One topic config entry as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigValue {
    /// Config key.
    pub name: String,
    /// Value; `None` for sensitive or unset entries.
    pub value: Option<String>,
    /// Whether the value is the default (not set on the topic).
    pub is_default: bool,
    /// Where the value comes from (`topic`, `broker`, `default`, ...).
    pub source: String,
    /// Whether the entry is read only.
    pub read_only: bool,
}

fn source_name(s: &ConfigSource) -> &'static str {
    match s {
        ConfigSource::DynamicTopic => "topic",
        ConfigSource::DynamicBroker => "dynamic-broker",
        ConfigSource::DynamicDefaultBroker => "dynamic-default-broker",
        ConfigSource::StaticBroker => "static-broker",
        ConfigSource::Default => "default",
        ConfigSource::Unknown => "unknown",
    }
}

/// Whether `name` is an internal or system topic: Kafka's own (`__consumer_offsets`,
/// `__transaction_state`, ...) and other tools' (`_schemas`, `_tda_kafka_health`,
/// `_connect-*`), i.e. every name starting with `_`. They are hidden from lists,
/// never managed by plans and never deleted.
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with('_')
}

/// Checks Kafka's topic naming rules: 1..=249 characters of `[a-zA-Z0-9._-]`,
/// not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(AdminError::InvalidTopicName {
            topic: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > 249 {
        return bad("longer than 249 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(&format!(
            "character {c:?} is not allowed (only ASCII letters, digits, '.', '_' and '-')"
        ));
    }
    Ok(())
}

impl Admin {
    /// Metadata of all topics (internal included), sorted by name. Never
    /// auto-creates: it always asks for all topics and filters locally.
    pub async fn topics_metadata(&self) -> Result<Vec<TopicInfo>> {
        let md = self.fetch_all_metadata().await?;
        let mut topics: Vec<TopicInfo> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none() || !t.partitions().is_empty())
            .map(|t| {
                let mut partitions: Vec<PartitionInfo> = t
                    .partitions()
                    .iter()
                    .map(|p| PartitionInfo {
                        partition: p.id(),
                        leader: (p.leader() >= 0).then_some(p.leader()),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                TopicInfo {
                    name: t.name().to_owned(),
                    internal: is_internal_topic(t.name()),
                    partitions,
                }
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Metadata of one topic, or [`AdminError::TopicNotFound`].
    pub async fn topic_metadata(&self, topic: &str) -> Result<TopicInfo> {
        validate_topic_name(topic)?;
        self.topics_metadata()
            .await?
            .into_iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| AdminError::TopicNotFound {
                topic: topic.to_owned(),
            })
    }

    /// Config entries of each topic in `topics`, in one DescribeConfigs batch.
    pub async fn topic_config_entries(
        &self,
        topics: &[String],
    ) -> Result<BTreeMap<String, Vec<ConfigValue>>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let specs: Vec<ResourceSpecifier<'_>> = topics
            .iter()
            .map(|t| ResourceSpecifier::Topic(t.as_str()))
            .collect();
        let opts = AdminOptions::new().request_timeout(Some(self.timeout));
        let results = self
            .inner
            .describe_configs(&specs, &opts)
            .await
            .map_err(AdminError::kafka("describe topic configs"))?;
        let mut out = BTreeMap::new();
        for (name, res) in topics.iter().zip(results) {
            let res = res.map_err(|code| match code {
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition => {
                    AdminError::TopicNotFound {
                        topic: name.clone(),
                    }
                }
                code => AdminError::Topic {
                    operation: "describe configs",
                    topic: name.clone(),
                    code,
                    detail: None,
                },
            })?;
            let mut entries: Vec<ConfigValue> = res
                .entries
                .iter()
                .map(|e| ConfigValue {
                    name: e.name.clone(),
                    value: if e.is_sensitive {
                        None
                    } else {
                        e.value.clone()
                    },
                    is_default: e.is_default || !matches!(e.source, ConfigSource::DynamicTopic),
                    source: source_name(&e.source).to_owned(),
                    read_only: e.is_read_only,
                })
                .collect();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            out.insert(name.clone(), entries);
        }
        Ok(out)
    }

    /// The configs set on each topic (source = topic), as key → value.
    pub async fn topic_overrides(
        &self,
        topics: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        Ok(self
            .topic_config_entries(topics)
            .await?
            .into_iter()
            .map(|(t, entries)| {
                let set = entries
                    .into_iter()
                    .filter(|e| !e.is_default)
                    .filter_map(|e| e.value.map(|v| (e.name, v)))
                    .collect();
                (t, set)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("tda_jobs").is_ok());
        assert!(validate_topic_name("a.b-c_D9").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("has space").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
        let e = validate_topic_name("bad/name").unwrap_err();
        assert!(e.to_string().contains("'/'"), "{e}");
    }

    #[test]
    fn under_replicated_and_offline() {
        let p = PartitionInfo {
            partition: 0,
            leader: None,
            replicas: vec![1, 2, 3],
            isr: vec![1],
        };
        assert!(p.offline());
        assert!(p.under_replicated());
    }
}
