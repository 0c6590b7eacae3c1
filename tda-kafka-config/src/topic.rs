use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::acl::{bindings_for, principals, AclBinding, TopicAccess};
use crate::ConfigError;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A topic's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupPolicy {
    /// Old segments are deleted after the retention time.
    Delete,
    /// The latest value per key is kept.
    Compact,
    /// Both: compacted, and segments older than retention deleted.
    #[serde(rename = "compact,delete")]
    CompactDelete,
}

impl CleanupPolicy {
    /// The value of Kafka's `cleanup.policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
            Self::CompactDelete => "compact,delete",
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CleanupPolicy {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts: Vec<&str> = s.split(',').map(str::trim).collect();
        parts.sort_unstable();
        parts.dedup();
        match parts.as_slice() {
            ["delete"] => Ok(Self::Delete),
            ["compact"] => Ok(Self::Compact),
            ["compact", "delete"] => Ok(Self::CompactDelete),
            _ => Err(ConfigError::InvalidValue {
                key: "cleanup.policy".into(),
                value: s.into(),
                reason: "expected delete, compact or compact,delete".into(),
            }),
        }
    }
}

/// One topic of the architecture.
///
/// `replication_factor` and `min_insync_replicas` left as `None` take the
/// profile's values (see [`crate::ClusterConfig::effective_topic`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Topic name; must satisfy Kafka's naming rules.
    pub name: String,
    /// What the topic is for (documentation only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replication factor; `None` means the profile default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i16>,
    /// `retention.ms`; `None` leaves the broker default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_ms: Option<i64>,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `min.insync.replicas`; `None` means the profile default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<i16>,
    /// Further topic-level configs, e.g. `compression.type`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, String>,
    /// Who may produce and consume (ACLs on a cluster with an authorizer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<TopicAccess>,
}

impl TopicSpec {
    /// A topic with `partitions` partitions and `delete` cleanup.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        Self {
            name: name.into(),
            purpose: String::new(),
            partitions,
            replication_factor: None,
            retention_ms: None,
            cleanup_policy: CleanupPolicy::Delete,
            min_insync_replicas: None,
            configs: BTreeMap::new(),
            access: Vec::new(),
        }
    }

    /// Adds an access grant.
    pub fn with_access(mut self, access: TopicAccess) -> Self {
        self.access.push(access);
        self
    }

    /// The ACL bindings of this topic's access grants.
    pub fn acl_bindings(&self) -> Vec<AclBinding> {
        bindings_for(&self.name, &self.access)
    }

    /// Sets the purpose text.
    pub fn with_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// Sets `retention.ms` in days.
    pub fn with_retention_days(mut self, days: i64) -> Self {
        self.retention_ms = Some(days * DAY_MS);
        self
    }

    /// Sets the cleanup policy.
    pub fn with_cleanup_policy(mut self, policy: CleanupPolicy) -> Self {
        self.cleanup_policy = policy;
        self
    }

    /// The topic-level configs Kafka should hold for this topic: `retention.ms`,
    /// `cleanup.policy`, `min.insync.replicas` and the extra configs.
    pub fn topic_configs(&self) -> BTreeMap<String, String> {
        let mut out = self.configs.clone();
        out.insert("cleanup.policy".into(), self.cleanup_policy.to_string());
        if let Some(ms) = self.retention_ms {
            out.insert("retention.ms".into(), ms.to_string());
        }
        if let Some(isr) = self.min_insync_replicas {
            out.insert("min.insync.replicas".into(), isr.to_string());
        }
        out
    }
}

/// Names of the five TDA topics, in the seed's order.
pub const TDA_TOPICS: [&str; 5] = [
    "tda_jobs",
    "tda_results",
    "tda_events",
    "tda_uploads",
    "tda_errors",
];

/// The seed's TDA topic architecture (partitions, retention, cleanup policy).
pub(crate) fn tda_architecture() -> Vec<TopicSpec> {
    vec![
        TopicSpec::new("tda_jobs", 3)
            .with_purpose("Job submission and lifecycle")
            .with_retention_days(7)
            .with_access(TopicAccess::produce(principals::JOBS_PRODUCER)),
        TopicSpec::new("tda_results", 3)
            .with_purpose("Computation results")
            .with_retention_days(30)
            .with_cleanup_policy(CleanupPolicy::Compact)
            .with_access(TopicAccess::consume(
                principals::RESULTS_CONSUMER,
                principals::RESULTS_GROUP,
            )),
        TopicSpec::new("tda_events", 1)
            .with_purpose("System events and notifications")
            .with_retention_days(14),
        TopicSpec::new("tda_uploads", 2)
            .with_purpose("File upload events")
            .with_retention_days(3),
        TopicSpec::new("tda_errors", 1)
            .with_purpose("Error tracking")
            .with_retention_days(30),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_matches_the_seed_table() {
        let topics = tda_architecture();
        let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, TDA_TOPICS);
        let jobs = &topics[0];
        assert_eq!(jobs.partitions, 3);
        assert_eq!(jobs.retention_ms, Some(604_800_000));
        assert_eq!(topics[1].cleanup_policy, CleanupPolicy::Compact);
        assert_eq!(topics[1].retention_ms, Some(2_592_000_000));
        assert_eq!(topics[2].retention_ms, Some(1_209_600_000));
        assert_eq!(topics[3].partitions, 2);
        assert_eq!(topics[3].retention_ms, Some(259_200_000));
    }

    #[test]
    fn cleanup_policy_parses_in_any_order() {
        assert_eq!(
            "delete, compact".parse::<CleanupPolicy>().unwrap(),
            CleanupPolicy::CompactDelete
        );
        assert!("archive".parse::<CleanupPolicy>().is_err());
    }
}
