//! Cluster health: brokers, controller, under-replicated and offline
//! partitions, partitions with fewer in-sync replicas than `min.insync.replicas`.

use serde::{Deserialize, Serialize};

use crate::{wire, Admin, BrokerInfo, Result};

/// A partition that makes the cluster unhealthy or degraded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionProblem {
    /// Topic.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
    /// Leader, `None` if offline.
    pub leader: Option<i32>,
    /// Replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// The topic's effective `min.insync.replicas`, when known.
    pub min_insync_replicas: Option<i32>,
}

/// The result of [`Admin::health`]; serializable for `-o json|yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Bootstrap servers asked.
    pub bootstrap: String,
    /// Cluster id, when the raw protocol client could obtain it.
    pub cluster_id: Option<String>,
    /// Brokers in the metadata, sorted by id.
    pub brokers: Vec<BrokerInfo>,
    /// Broker count the caller expects; `None` means "at least one".
    pub expected_brokers: Option<usize>,
    /// Active controller id as the brokers report it (KRaft: a random
    /// broker id stands in for the quorum); `None` when not obtainable.
    pub controller: Option<i32>,
    /// Why `controller` is `None`, if it is.
    pub controller_note: Option<String>,
    /// Number of topics (internal included).
    pub topics: usize,
    /// Number of partitions (internal included).
    pub partitions: usize,
    /// Partitions with ISR smaller than the replica set.
    pub under_replicated: Vec<PartitionProblem>,
    /// Partitions without a leader.
    pub offline: Vec<PartitionProblem>,
    /// Partitions with fewer in-sync replicas than `min.insync.replicas`
    /// (producers with `acks=all` fail on them).
    pub below_min_isr: Vec<PartitionProblem>,
}

impl HealthReport {
    /// Healthy: at least one broker (or the expected count), no offline,
    /// under-replicated or below-min-ISR partitions.
    pub fn healthy(&self) -> bool {
        self.problems().is_empty()
    }

    /// Every reason the cluster is not healthy, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.expected_brokers {
            Some(n) if self.brokers.len() < n => out.push(format!(
                "{} of {n} expected brokers are up",
                self.brokers.len()
            )),
            _ if self.brokers.is_empty() => out.push("no broker is up".into()),
            _ => {}
        }
        let list = |ps: &[PartitionProblem]| {
            ps.iter()
                .map(|p| format!("{}-{}", p.topic, p.partition))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.offline.is_empty() {
            out.push(format!(
                "{} offline partition(s): {}",
                self.offline.len(),
                list(&self.offline)
            ));
        }
        if !self.under_replicated.is_empty() {
            out.push(format!(
                "{} under-replicated partition(s): {}",
                self.under_replicated.len(),
                list(&self.under_replicated)
            ));
        }
        if !self.below_min_isr.is_empty() {
            out.push(format!(
                "{} partition(s) below min.insync.replicas: {}",
                self.below_min_isr.len(),
                list(&self.below_min_isr)
            ));
        }
        out
    }

    /// Sets the broker count to require (e.g. the profile's `broker_count`).
    pub fn expecting(mut self, brokers: usize) -> Self {
        self.expected_brokers = Some(brokers);
        self
    }
}

impl Admin {
    /// Checks brokers, controller, and every partition's replicas, ISR and
    /// `min.insync.replicas`. The controller (and cluster id) come from a raw
    /// `Metadata` request, which needs a PLAINTEXT listener; on SSL/SASL
    /// clusters they are reported as unavailable with a note.
    pub async fn health(&self) -> Result<HealthReport> {
        let meta = self.metadata().await?;
        let topics = self.topics_metadata().await?;
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let configs = self.topic_config_entries(&names).await?;
        let (cluster_id, controller, controller_note) = self.controller_info().await;
        let mut report = HealthReport {
            bootstrap: self.bootstrap.clone(),
            cluster_id,
            brokers: meta.brokers,
            expected_brokers: None,
            controller,
            controller_note,
            topics: topics.len(),
            partitions: topics.iter().map(|t| t.partitions.len()).sum(),
            under_replicated: Vec::new(),
            offline: Vec::new(),
            below_min_isr: Vec::new(),
        };
        for t in &topics {
            let min_isr = configs
                .get(&t.name)
                .and_then(|es| es.iter().find(|e| e.name == "min.insync.replicas"))
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse::<i32>().ok());
            for p in &t.partitions {
                let problem = || PartitionProblem {
                    topic: t.name.clone(),
                    partition: p.partition,
                    leader: p.leader,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    min_insync_replicas: min_isr,
                };
                if p.offline() {
                    report.offline.push(problem());
                }
                if p.under_replicated() {
                    report.under_replicated.push(problem());
                }
                if min_isr.is_some_and(|m| (p.isr.len() as i32) < m) {
                    report.below_min_isr.push(problem());
                }
            }
        }
        Ok(report)
    }

    /// Cluster id and controller id via the raw protocol client, or a note why not.
    pub(crate) async fn controller_info(&self) -> (Option<String>, Option<i32>, Option<String>) {
        match wire::controller(&self.bootstrap_addrs(), &self.wire).await {
            Ok((id, c)) if c >= 0 => (id, Some(c), None),
            Ok((id, _)) => (id, None, Some("no controller reported".into())),
            Err(e) => (None, None, Some(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> HealthReport {
        HealthReport {
            bootstrap: "b".into(),
            cluster_id: None,
            brokers: (1..=3)
                .map(|id| BrokerInfo {
                    id,
                    host: "127.0.0.1".into(),
                    port: 9000 + id as u16,
                })
                .collect(),
            expected_brokers: None,
            controller: Some(1),
            controller_note: None,
            topics: 1,
            partitions: 1,
            under_replicated: vec![],
            offline: vec![],
            below_min_isr: vec![],
        }
    }

    #[test]
    fn verdict_names_every_problem() {
        assert!(report().healthy());
        assert!(!report().expecting(4).healthy());
        let mut r = report();
        let p = PartitionProblem {
            topic: "t".into(),
            partition: 2,
            leader: Some(1),
            replicas: vec![1, 2, 3],
            isr: vec![1],
            min_insync_replicas: Some(2),
        };
        r.under_replicated.push(p.clone());
        r.below_min_isr.push(p);
        let problems = r.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("under-replicated") && problems[0].contains("t-2"));
        assert!(problems[1].contains("min.insync.replicas"));
        let mut none = report();
        none.brokers.clear();
        assert_eq!(none.problems(), ["no broker is up"]);
    }
}
