//! Who may use a topic: access grants declared with the topics
//! ([`crate::TopicSpec::access`]) and the Kafka ACL bindings they mean.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a principal may do with a topic (the roles of `kafka-acls
/// --producer` / `--consumer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Write and describe the topic (idempotent writes included).
    Produce,
    /// Read and describe the topic, read the consumer group.
    Consume,
}

/// One grant: `principal` (`User:<name>`) may act in `role` on the topic;
/// a consumer names its `group`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicAccess {
    /// Kafka principal, e.g. `User:tda-jobs-producer`.
    pub principal: String,
    /// What it may do.
    pub role: Role,
    /// The consumer group of a `consume` grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl TopicAccess {
    /// `User:<user>` may produce to the topic.
    pub fn produce(user: &str) -> Self {
        Self {
            principal: format!("User:{user}"),
            role: Role::Produce,
            group: None,
        }
    }

    /// `User:<user>` may consume the topic in `group`.
    pub fn consume(user: &str, group: &str) -> Self {
        Self {
            principal: format!("User:{user}"),
            role: Role::Consume,
            group: Some(group.into()),
        }
    }

    /// Why this grant is malformed, if it is.
    pub fn error(&self) -> Option<String> {
        let Some((kind, name)) = self.principal.split_once(':') else {
            return Some(format!(
                "principal {:?} is not of the form User:<name>",
                self.principal
            ));
        };
        if kind != "User" || name.is_empty() {
            return Some(format!(
                "principal {:?} is not of the form User:<name>",
                self.principal
            ));
        }
        match (self.role, &self.group) {
            (Role::Consume, None) => Some("a consume grant needs a group".into()),
            (Role::Produce, Some(_)) => Some("a produce grant takes no group".into()),
            _ => None,
        }
    }
}

/// A Kafka resource type an ACL binds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AclResource {
    /// A topic (Kafka resource type 2).
    Topic,
    /// A consumer group (resource type 3).
    Group,
}

impl AclResource {
    /// Kafka's resource type code.
    pub fn code(self) -> i8 {
        match self {
            Self::Topic => 2,
            Self::Group => 3,
        }
    }
}

/// An operation an ACL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AclOperation {
    /// `READ` (code 3).
    Read,
    /// `WRITE` (code 4).
    Write,
    /// `DESCRIBE` (code 8).
    Describe,
}

impl AclOperation {
    /// Kafka's operation code.
    pub fn code(self) -> i8 {
        match self {
            Self::Read => 3,
            Self::Write => 4,
            Self::Describe => 8,
        }
    }

    /// The operation with Kafka code `code`, if it is one of ours.
    pub fn from_code(code: i8) -> Option<Self> {
        [Self::Read, Self::Write, Self::Describe]
            .into_iter()
            .find(|o| o.code() == code)
    }
}

/// One literal ALLOW binding from any host: `principal` may `operation` on
/// the `resource` named `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclBinding {
    /// Resource type.
    pub resource: AclResource,
    /// Resource name (literal pattern).
    pub name: String,
    /// Kafka principal.
    pub principal: String,
    /// Allowed operation.
    pub operation: AclOperation,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = match self.resource {
            AclResource::Topic => "topic",
            AclResource::Group => "group",
        };
        let op = match self.operation {
            AclOperation::Read => "READ",
            AclOperation::Write => "WRITE",
            AclOperation::Describe => "DESCRIBE",
        };
        write!(f, "{} {op} {r} {}", self.principal, self.name)
    }
}

/// The bindings that grant `access` on `topic`, sorted and without duplicates.
pub fn bindings_for(topic: &str, access: &[TopicAccess]) -> Vec<AclBinding> {
    let mut out = Vec::new();
    for a in access {
        let on_topic = |operation| AclBinding {
            resource: AclResource::Topic,
            name: topic.to_owned(),
            principal: a.principal.clone(),
            operation,
        };
        match a.role {
            Role::Produce => {
                out.push(on_topic(AclOperation::Write));
                out.push(on_topic(AclOperation::Describe));
            }
            Role::Consume => {
                out.push(on_topic(AclOperation::Read));
                out.push(on_topic(AclOperation::Describe));
                if let Some(group) = &a.group {
                    out.push(AclBinding {
                        resource: AclResource::Group,
                        name: group.clone(),
                        principal: a.principal.clone(),
                        operation: AclOperation::Read,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The TDA service principals of the default architecture.
pub mod principals {
    /// Submits jobs to `tda_jobs`.
    pub const JOBS_PRODUCER: &str = "tda-jobs-producer";
    /// Reads `tda_results` in [`RESULTS_GROUP`].
    pub const RESULTS_CONSUMER: &str = "tda-results-consumer";
    /// The group of [`RESULTS_CONSUMER`].
    pub const RESULTS_GROUP: &str = "tda-backend-processors";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_expand_to_kafka_acl_bindings() {
        let b = bindings_for(
            "tda_results",
            &[
                TopicAccess::consume("reader", "g1"),
                TopicAccess::produce("writer"),
                TopicAccess::produce("writer"),
            ],
        );
        let shown: Vec<String> = b.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "User:reader READ topic tda_results",
                "User:reader DESCRIBE topic tda_results",
                "User:writer WRITE topic tda_results",
                "User:writer DESCRIBE topic tda_results",
                "User:reader READ group g1",
            ]
        );
    }

    #[test]
    fn access_reads_from_yaml_in_the_topics_file_shape() {
        let a: Vec<TopicAccess> = serde_norway::from_str(
            "- {principal: 'User:a', role: produce}\n- {principal: 'User:b', role: consume, group: g}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a[0], TopicAccess::produce("a"));
        assert_eq!(a[1], TopicAccess::consume("b", "g"));
        assert!(a.iter().all(|a| a.error().is_none()));
        let bad = TopicAccess {
            group: None,
            ..TopicAccess::consume("b", "g")
        };
        assert_eq!(
            bad.error().as_deref(),
            Some("a consume grant needs a group")
        );
    }
}
