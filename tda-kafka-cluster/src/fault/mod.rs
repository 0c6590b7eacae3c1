//! Faults injected into a running stack, for tests of TDA services and of
//! this project: kill (SIGKILL), a clean stop (SIGTERM), pause/resume (SIGSTOP/SIGCONT), restart,
//! network isolation of one node and heal, and a kill of a partition's
//! current leader. [`inject`] runs one on any [`Provider`] and returns what
//! was done as a [`FaultReport`].
//!
//! Local provider: signals to the node's JVM; isolation drops the node's
//! loopback traffic with iptables rules tagged `tda-kafka-fault-node-<port>`
//! (its listener ports in both directions, and everything its process sends,
//! matched by a cgroup v2 group it is moved into); `heal` removes exactly
//! those rules, and `stop` heals and resumes every node of the cluster.
//! Docker provider: the engine's kill, pause/unpause and start, and
//! isolation by disconnecting the container from the stack network.
//! Restarts go through the provider's own start path.

mod docker;
mod local;
mod net;

use std::time::Duration;

use serde::Serialize;
use tda_kafka_admin::Admin;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::{ClusterError, Progress, Provider, Result};

pub(crate) use local::release;
pub(crate) use net::NodePorts;
pub use net::RULE_TAG;

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "fault")]
pub enum Fault {
    /// SIGKILL the node (the engine's kill on Docker).
    Kill {
        /// Broker id as in `status`.
        node: u16,
    },
    /// SIGTERM the node (controlled shutdown) and wait until it exited (the engine's stop).
    Stop {
        /// Broker id.
        node: u16,
    },
    /// SIGSTOP the node (the engine's pause).
    Pause {
        /// Broker id.
        node: u16,
    },
    /// SIGCONT a paused node (the engine's unpause).
    Resume {
        /// Broker id.
        node: u16,
    },
    /// Start a node that is not running again, through the provider's start.
    Restart {
        /// Broker id.
        node: u16,
    },
    /// Cut the node off the network (its listeners and its own connections).
    Isolate {
        /// Broker id.
        node: u16,
    },
    /// Undo `isolate` of one node.
    Heal {
        /// Broker id.
        node: u16,
    },
    /// Undo every isolation of this cluster.
    HealAll,
    /// SIGKILL the current leader of a partition.
    KillLeader {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
}

impl Fault {
    /// The command word (`kill`, `pause`, ..., `kill-leader`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Kill { .. } => "kill",
            Self::Stop { .. } => "stop",
            Self::Pause { .. } => "pause",
            Self::Resume { .. } => "resume",
            Self::Restart { .. } => "restart",
            Self::Isolate { .. } => "isolate",
            Self::Heal { .. } => "heal",
            Self::HealAll => "heal-all",
            Self::KillLeader { .. } => "kill-leader",
        }
    }
}

/// What [`inject`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultReport {
    /// The command word.
    pub fault: String,
    /// The node it hit (for `kill-leader`: the leader that was killed).
    pub node: Option<u16>,
    /// Its process id (local provider).
    pub pid: Option<u32>,
    /// Its container (Docker provider).
    pub container: Option<String>,
    /// Nodes a restart started.
    pub started_nodes: Vec<u16>,
    /// Firewall rules added (`iptables -S` form) or network changes made.
    pub added: Vec<String>,
    /// Firewall rules removed or network changes undone.
    pub removed: Vec<String>,
    /// One line saying what happened.
    pub detail: String,
}

/// How [`inject`] runs.
#[derive(Debug, Clone)]
pub struct FaultOptions {
    /// Bound on a restart's readiness wait and on a kill's exit.
    pub timeout: Duration,
}

impl Default for FaultOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
        }
    }
}

/// Injects `fault` into the stack `provider` runs (described by `config`).
pub async fn inject(
    provider: &Provider,
    config: &ClusterConfig,
    fault: &Fault,
    options: &FaultOptions,
    progress: &dyn Progress,
    cancel: CancellationToken,
) -> Result<FaultReport> {
    let fault = match fault {
        Fault::KillLeader { topic, partition } => {
            let node = leader_of(config, topic, *partition).await?;
            let mut report = Box::pin(inject(
                provider,
                config,
                &Fault::Kill { node },
                options,
                progress,
                cancel,
            ))
            .await?;
            report.fault = "kill-leader".into();
            report.detail = format!("{topic}[{partition}]: leader {}", report.detail);
            return Ok(report);
        }
        f => f,
    };
    let mut report = match provider {
        Provider::Local(p) => local::inject(p, config, fault, options, progress, cancel).await?,
        Provider::Docker(p) => docker::inject(p, config, fault, options, progress, cancel).await?,
    };
    report.fault = fault.name().into();
    Ok(report)
}

/// The broker that leads `topic`'s `partition` now.
pub async fn leader_of(config: &ClusterConfig, topic: &str, partition: i32) -> Result<u16> {
    let admin = Admin::connect(&config.client_properties(), Duration::from_secs(10))
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "connect to find the partition leader",
            source,
        })?;
    let info = admin
        .topic_metadata(topic)
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "read the topic's metadata",
            source,
        })?;
    let p = info
        .partitions
        .iter()
        .find(|p| p.partition == partition)
        .ok_or_else(|| ClusterError::Fault {
            fault: "kill-leader".into(),
            reason: format!(
                "{topic} has no partition {partition} (it has {})",
                info.partitions.len()
            ),
        })?;
    let leader = p.leader.ok_or_else(|| ClusterError::Fault {
        fault: "kill-leader".into(),
        reason: format!("{topic}[{partition}] has no leader now (offline)"),
    })?;
    u16::try_from(leader).map_err(|_| ClusterError::Fault {
        fault: "kill-leader".into(),
        reason: format!("leader id {leader} is not a node of this stack"),
    })
}
