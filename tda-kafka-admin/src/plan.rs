//! Declarative topics: compare an architecture (a list of [`TopicSpec`]) with
//! the cluster, and apply the difference.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tda_kafka_config::TopicSpec;

use crate::topics::CreateTopic;
use crate::{Admin, AdminError, Result};

/// One config key to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Config key.
    pub key: String,
    /// The effective value now (`None` when the broker reports none).
    pub current: Option<String>,
    /// The value wanted; `None` removes the topic-level override.
    pub desired: Option<String>,
}

/// One step of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlanAction {
    /// Create a missing topic.
    Create {
        /// Topic.
        topic: String,
        /// Partitions.
        partitions: i32,
        /// Replication factor (`None` = broker default).
        replication_factor: Option<i16>,
        /// Topic-level configs.
        configs: BTreeMap<String, String>,
    },
    /// Grow a topic's partition count.
    AddPartitions {
        /// Topic.
        topic: String,
        /// Current count.
        from: i32,
        /// Wanted count.
        to: i32,
    },
    /// Change topic-level configs.
    AlterConfigs {
        /// Topic.
        topic: String,
        /// Keys to change.
        changes: Vec<ConfigChange>,
    },
    /// Delete a topic not in the architecture (only with `prune`).
    Delete {
        /// Topic.
        topic: String,
    },
    /// A difference this tool will not change, with the reason.
    NotApplicable {
        /// Topic.
        topic: String,
        /// The difference, e.g. `partitions 6 -> 3`.
        change: String,
        /// Why it is not done.
        reason: String,
    },
    /// A topic on the cluster that the architecture does not name (listed, kept).
    Unmanaged {
        /// Topic.
        topic: String,
    },
}

impl PlanAction {
    /// The topic the action is about.
    pub fn topic(&self) -> &str {
        match self {
            Self::Create { topic, .. }
            | Self::AddPartitions { topic, .. }
            | Self::AlterConfigs { topic, .. }
            | Self::Delete { topic }
            | Self::NotApplicable { topic, .. }
            | Self::Unmanaged { topic } => topic,
        }
    }

    /// Whether `apply` would execute it.
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            Self::Create { .. }
                | Self::AddPartitions { .. }
                | Self::AlterConfigs { .. }
                | Self::Delete { .. }
        )
    }

    /// A one-line human description.
    pub fn describe(&self) -> String {
        let val = |v: &Option<String>| v.clone().unwrap_or_else(|| "(default)".into());
        match self {
            Self::Create {
                topic,
                partitions,
                replication_factor,
                configs,
            } => format!(
                "+ create {topic}: partitions={partitions} replication-factor={}{}",
                replication_factor.map_or("(default)".into(), |r| r.to_string()),
                configs
                    .iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect::<String>()
            ),
            Self::AddPartitions { topic, from, to } => {
                format!("~ partitions {topic}: {from} -> {to}")
            }
            Self::AlterConfigs { topic, changes } => format!(
                "~ configs {topic}: {}",
                changes
                    .iter()
                    .map(|c| format!("{}: {} -> {}", c.key, val(&c.current), val(&c.desired)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Self::Delete { topic } => format!("- delete {topic} (--prune)"),
            Self::NotApplicable {
                topic,
                change,
                reason,
            } => format!("! not applicable {topic}: {change}: {reason}"),
            Self::Unmanaged { topic } => {
                format!("? unmanaged {topic}: not in the architecture (kept; --prune deletes)")
            }
        }
    }
}

/// The difference between an architecture and the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Steps, grouped by kind: creates, partition growth, config changes,
    /// deletes, not-applicable differences, unmanaged topics.
    pub actions: Vec<PlanAction>,
}

impl Plan {
    /// Steps `apply` would execute.
    pub fn changes(&self) -> impl Iterator<Item = &PlanAction> {
        self.actions.iter().filter(|a| a.is_change())
    }

    /// Differences that cannot be applied.
    pub fn not_applicable(&self) -> impl Iterator<Item = &PlanAction> {
        self.actions
            .iter()
            .filter(|a| matches!(a, PlanAction::NotApplicable { .. }))
    }

    /// Drift: the cluster differs from the architecture (an executable change
    /// or a not-applicable difference). Unmanaged topics are not drift.
    pub fn has_drift(&self) -> bool {
        self.changes().next().is_some() || self.not_applicable().next().is_some()
    }
}

/// The outcome of one executed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// The step.
    pub action: PlanAction,
    /// Whether the broker accepted it.
    pub ok: bool,
    /// The error, if not.
    pub error: Option<String>,
}

/// The result of [`Admin::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Every executed step with its outcome, in order.
    pub outcomes: Vec<ActionOutcome>,
    /// The plan computed again after applying: what is still different.
    pub after: Plan,
}

impl ApplyReport {
    /// Every step succeeded and the re-read cluster has no executable change left.
    pub fn success(&self) -> bool {
        self.outcomes.iter().all(|o| o.ok) && self.after.changes().next().is_none()
    }
}

/// Checks a list of specs for duplicates and obviously bad values before any call.
pub fn validate_specs(specs: &[TopicSpec]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for s in specs {
        crate::validate_topic_name(&s.name)?;
        if !seen.insert(&s.name) {
            return Err(AdminError::input(
                format!("topic {}", s.name),
                "named twice in the architecture",
            ));
        }
        if s.partitions < 1 {
            return Err(AdminError::input(
                format!("topic {} partitions={}", s.name, s.partitions),
                "must be >= 1",
            ));
        }
    }
    Ok(())
}

impl Admin {
    /// Compares `desired` with the cluster. Internal topics are never managed;
    /// other topics not in `desired` are listed as unmanaged, or planned for
    /// deletion when `prune` is set.
    pub async fn plan(&self, desired: &[TopicSpec], prune: bool) -> Result<Plan> {
        validate_specs(desired)?;
        let topics = self.topics_metadata().await?;
        let by_name: BTreeMap<&str, &crate::TopicInfo> =
            topics.iter().map(|t| (t.name.as_str(), t)).collect();
        let existing: Vec<String> = desired
            .iter()
            .filter(|s| by_name.contains_key(s.name.as_str()))
            .map(|s| s.name.clone())
            .collect();
        let configs = self.topic_config_entries(&existing).await?;
        Ok(diff(desired, &topics, &configs, prune))
    }

    /// Executes every change of `plan` (creates in one batch, partition growth
    /// in one batch, config changes per topic, deletes), records each outcome,
    /// then re-reads the cluster until it matches `desired` or the timeout
    /// passes, and returns what is still different. `delete_enabled` guards
    /// prune deletions.
    pub async fn apply(
        &self,
        desired: &[TopicSpec],
        plan: &Plan,
        prune: bool,
        delete_enabled: bool,
    ) -> Result<ApplyReport> {
        let mut outcomes = Vec::new();
        let record = |outcomes: &mut Vec<ActionOutcome>, a: &PlanAction, r: Result<()>| {
            outcomes.push(ActionOutcome {
                action: a.clone(),
                ok: r.is_ok(),
                error: r.err().map(|e| e.to_string()),
            });
        };
        let creates: Vec<(&PlanAction, CreateTopic)> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                PlanAction::Create {
                    topic,
                    partitions,
                    replication_factor,
                    configs,
                } => Some((
                    a,
                    CreateTopic {
                        name: topic.clone(),
                        partitions: Some(*partitions),
                        replication_factor: *replication_factor,
                        configs: configs.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        if !creates.is_empty() {
            let reqs: Vec<CreateTopic> = creates.iter().map(|(_, c)| c.clone()).collect();
            match self.create_topics(&reqs).await {
                Ok(rs) => {
                    for ((a, _), r) in creates.iter().zip(rs) {
                        record(&mut outcomes, a, r.map(|_| ()));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (a, _) in &creates {
                        record(
                            &mut outcomes,
                            a,
                            Err(AdminError::input("create", msg.clone())),
                        );
                    }
                }
            }
        }
        let grows: Vec<(&PlanAction, (String, usize))> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                PlanAction::AddPartitions { topic, to, .. } => {
                    Some((a, (topic.clone(), *to as usize)))
                }
                _ => None,
            })
            .collect();
        if !grows.is_empty() {
            let items: Vec<(String, usize)> = grows.iter().map(|(_, i)| i.clone()).collect();
            match self.add_partitions_batch(&items).await {
                Ok(rs) => {
                    for ((a, _), r) in grows.iter().zip(rs) {
                        record(&mut outcomes, a, r);
                    }
                }
                Err(e) => {
                    for (a, _) in &grows {
                        record(
                            &mut outcomes,
                            a,
                            Err(AdminError::input("add partitions", e.to_string())),
                        );
                    }
                }
            }
        }
        for a in &plan.actions {
            if let PlanAction::AlterConfigs { topic, changes } = a {
                let ch: Vec<(String, Option<String>)> = changes
                    .iter()
                    .map(|c| (c.key.clone(), c.desired.clone()))
                    .collect();
                let r = self.update_topic_configs(topic, &ch).await.map(|_| ());
                record(&mut outcomes, a, r);
            }
        }
        for a in &plan.actions {
            if let PlanAction::Delete { topic } = a {
                let r = self.delete_topic(topic, delete_enabled).await;
                record(&mut outcomes, a, r);
            }
        }
        let after = self.converge(desired, prune).await?;
        Ok(ApplyReport { outcomes, after })
    }

    /// Re-plans until nothing executable is left or the timeout passes.
    async fn converge(&self, desired: &[TopicSpec], prune: bool) -> Result<Plan> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(50);
        loop {
            let plan = self.plan(desired, prune).await?;
            if plan.changes().next().is_none() || tokio::time::Instant::now() >= deadline {
                return Ok(plan);
            }
            // Metadata and configs reach every broker asynchronously after a
            // change; poll again with a growing interval.
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(800));
        }
    }
}

/// The plan for `desired` against `topics` (all topics of the cluster) and
/// `configs` (the config entries of the desired topics that exist).
pub(crate) fn diff(
    desired: &[TopicSpec],
    topics: &[crate::TopicInfo],
    configs: &BTreeMap<String, Vec<crate::ConfigValue>>,
    prune: bool,
) -> Plan {
    let by_name: BTreeMap<&str, &crate::TopicInfo> =
        topics.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut creates = Vec::new();
    let mut grows = Vec::new();
    let mut alters = Vec::new();
    let mut deletes = Vec::new();
    let mut na = Vec::new();
    let mut unmanaged = Vec::new();
    for spec in desired {
        let Some(info) = by_name.get(spec.name.as_str()) else {
            creates.push(PlanAction::Create {
                topic: spec.name.clone(),
                partitions: spec.partitions,
                replication_factor: spec.replication_factor,
                configs: spec.topic_configs(),
            });
            continue;
        };
        let have = info.partitions.len() as i32;
        if spec.partitions > have {
            grows.push(PlanAction::AddPartitions {
                topic: spec.name.clone(),
                from: have,
                to: spec.partitions,
            });
        } else if spec.partitions < have {
            na.push(PlanAction::NotApplicable {
                topic: spec.name.clone(),
                change: format!("partitions {have} -> {}", spec.partitions),
                reason: "Kafka cannot remove partitions; recreate the topic to shrink it".into(),
            });
        }
        if let Some(rf) = spec.replication_factor {
            let cur = info.replication_factor();
            if rf != cur {
                na.push(PlanAction::NotApplicable {
                    topic: spec.name.clone(),
                    change: format!("replication factor {cur} -> {rf}"),
                    reason: "changing the replication factor needs a partition \
                                 reassignment, which this tool does not perform"
                        .into(),
                });
            }
        }
        let entries = configs.get(&spec.name).cloned().unwrap_or_default();
        let want = spec.topic_configs();
        let mut changes = Vec::new();
        for (k, v) in &want {
            let cur = entries.iter().find(|e| &e.name == k);
            let cur_val = cur.and_then(|e| e.value.clone());
            if cur_val.as_deref() != Some(v.as_str()) {
                changes.push(ConfigChange {
                    key: k.clone(),
                    current: cur_val,
                    desired: Some(v.clone()),
                });
            }
        }
        for e in entries.iter().filter(|e| !e.is_default) {
            if !want.contains_key(&e.name) {
                changes.push(ConfigChange {
                    key: e.name.clone(),
                    current: e.value.clone(),
                    desired: None,
                });
            }
        }
        if !changes.is_empty() {
            alters.push(PlanAction::AlterConfigs {
                topic: spec.name.clone(),
                changes,
            });
        }
    }
    let wanted: BTreeSet<&str> = desired.iter().map(|s| s.name.as_str()).collect();
    for t in topics.iter().filter(|t| !t.internal) {
        if !wanted.contains(t.name.as_str()) {
            if prune {
                deletes.push(PlanAction::Delete {
                    topic: t.name.clone(),
                });
            } else {
                unmanaged.push(PlanAction::Unmanaged {
                    topic: t.name.clone(),
                });
            }
        }
    }
    let mut actions = creates;
    actions.extend(grows);
    actions.extend(alters);
    actions.extend(deletes);
    actions.extend(na);
    actions.extend(unmanaged);
    Plan { actions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigValue, PartitionInfo, TopicInfo};

    fn topic(name: &str, partitions: i32, rf: usize) -> TopicInfo {
        TopicInfo {
            name: name.into(),
            internal: crate::is_internal_topic(name),
            partitions: (0..partitions)
                .map(|p| PartitionInfo {
                    partition: p,
                    leader: Some(1),
                    replicas: (1..=rf as i32).collect(),
                    isr: (1..=rf as i32).collect(),
                })
                .collect(),
        }
    }

    fn entry(name: &str, value: &str, set: bool) -> ConfigValue {
        ConfigValue {
            name: name.into(),
            value: Some(value.into()),
            is_default: !set,
            source: if set { "topic" } else { "default" }.into(),
            read_only: false,
        }
    }

    fn spec(name: &str, partitions: i32) -> TopicSpec {
        let mut s = TopicSpec::new(name, partitions).with_retention_days(7);
        s.replication_factor = Some(3);
        s
    }

    fn matching_configs(name: &str) -> (String, Vec<ConfigValue>) {
        (
            name.into(),
            vec![
                entry("cleanup.policy", "delete", false),
                entry("retention.ms", "604800000", true),
            ],
        )
    }

    #[test]
    fn no_changes_when_the_cluster_matches() {
        let desired = [spec("a", 3)];
        let topics = [topic("a", 3, 3), topic("__consumer_offsets", 50, 3)];
        let configs = BTreeMap::from([matching_configs("a")]);
        let plan = diff(&desired, &topics, &configs, true);
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(!plan.has_drift());
    }

    #[test]
    fn missing_topic_is_created_with_its_configs() {
        let plan = diff(&[spec("a", 3)], &[], &BTreeMap::new(), false);
        match &plan.actions[..] {
            [PlanAction::Create {
                topic,
                partitions: 3,
                replication_factor: Some(3),
                configs,
            }] => {
                assert_eq!(topic, "a");
                assert_eq!(configs["retention.ms"], "604800000");
                assert_eq!(configs["cleanup.policy"], "delete");
            }
            other => panic!("{other:#?}"),
        }
    }

    #[test]
    fn growth_applies_shrink_and_rf_change_do_not() {
        let configs = BTreeMap::from([matching_configs("a"), matching_configs("b")]);
        let topics = [topic("a", 3, 3), topic("b", 6, 1)];
        let plan = diff(&[spec("a", 5), spec("b", 3)], &topics, &configs, false);
        assert_eq!(
            plan.changes().cloned().collect::<Vec<_>>(),
            vec![PlanAction::AddPartitions {
                topic: "a".into(),
                from: 3,
                to: 5
            }]
        );
        let na: Vec<String> = plan.not_applicable().map(|a| a.describe()).collect();
        assert_eq!(na.len(), 2, "{na:?}");
        assert!(na[0].contains("partitions 6 -> 3") && na[0].contains("cannot remove"));
        assert!(na[1].contains("replication factor 1 -> 3"));
        assert!(plan.has_drift());
    }

    #[test]
    fn changed_and_extra_overrides_are_planned() {
        let configs = BTreeMap::from([(
            "a".to_owned(),
            vec![
                entry("cleanup.policy", "delete", false),
                entry("retention.ms", "1000", true),
                entry("segment.ms", "5000", true),
            ],
        )]);
        let plan = diff(&[spec("a", 3)], &[topic("a", 3, 3)], &configs, false);
        match &plan.actions[..] {
            [PlanAction::AlterConfigs { changes, .. }] => {
                assert_eq!(
                    changes,
                    &vec![
                        ConfigChange {
                            key: "retention.ms".into(),
                            current: Some("1000".into()),
                            desired: Some("604800000".into())
                        },
                        ConfigChange {
                            key: "segment.ms".into(),
                            current: Some("5000".into()),
                            desired: None
                        }
                    ]
                );
            }
            other => panic!("{other:#?}"),
        }
    }

    #[test]
    fn unmanaged_topics_are_listed_or_pruned_but_internal_ones_never() {
        let topics = [
            topic("extra", 1, 3),
            topic("__consumer_offsets", 50, 3),
            topic("_schemas", 1, 3),
        ];
        let plan = diff(&[], &topics, &BTreeMap::new(), false);
        assert_eq!(
            plan.actions,
            vec![PlanAction::Unmanaged {
                topic: "extra".into()
            }]
        );
        assert!(!plan.has_drift());
        let pruned = diff(&[], &topics, &BTreeMap::new(), true);
        assert_eq!(
            pruned.actions,
            vec![PlanAction::Delete {
                topic: "extra".into()
            }]
        );
        assert!(pruned.has_drift());
    }

    #[test]
    fn duplicate_or_invalid_specs_are_rejected() {
        assert!(validate_specs(&[spec("a", 1), spec("a", 2)]).is_err());
        assert!(validate_specs(&[spec("a b", 1)]).is_err());
        assert!(validate_specs(&[spec("a", 0)]).is_err());
    }
}
