//! The local provider: N KRaft nodes as JVM processes on this machine (or,
//! in ZooKeeper mode, N Kafka 3.9 brokers and a ZooKeeper ensemble), plus
//! the stack's services, all under one data directory:
//!
//! ```text
//! <data dir>/
//!   cluster.json          the cluster id, broker count and ports (written at start)
//!   log4j2.properties     logging of every JVM of this cluster
//!   node-<id>/            server.properties (0600), data/ (KRaft storage), kafka.log, kafka.pid
//!   zookeeper-<n>/        ZooKeeper mode: zoo.cfg, data/ (myid, snapshots), zookeeper.log, zookeeper.pid
//!   log4j.properties      ZooKeeper mode: logging of Kafka 3.9 and ZooKeeper (log4j 1)
//!   registry/             registry.log, registry.pid, db/ (the registry's H2 database)
//!   connect/              worker.properties (0600), plugins/, connect.log, connect.pid
//!   redis/                redis.conf (0600), data/ (append-only file outside development), redis.log, redis.pid
//!   console/              console.log, console.pid
//! <data dir>.backups/     `stop --backup` files (kept when the data is removed)
//! ```

mod connect;
mod console;
mod jvm;
mod logs;
mod plan;
pub(crate) mod process;
mod redis;
mod registry;
mod resources;
mod services;
mod start;
mod state;
mod status;
mod stop;
mod zookeeper;

use std::path::{Path, PathBuf};

use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::{
    dist, ClusterProvider, ClusterStatus, LogLocation, Progress, ProgressEvent, ProviderKind,
    Result, ServiceKind, StackMember, StartOptions, StartReport, Step, StopOptions, StopReport,
};
use process::PidCheck;

pub use connect::CONNECT_TOPICS;
pub use jvm::{JvmTuning, TUNING_ENV};
pub(crate) use zookeeper::{LOG4J1 as LOG4J1_PROPERTIES, ZOOKEEPER_HEAP};

/// Logging configuration of every JVM of the stack.
const LOG4J_FILE: &str = "log4j2.properties";

/// The Confluent-compatible API of Apicurio Registry.
pub const REGISTRY_API: &str = "/apis/ccompat/v7";

/// Runs the stack as local JVM processes under one data directory.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    data_dir: PathBuf,
    jvm: JvmTuning,
}

/// A process this `start` call launched (stopped again if the start fails).
#[derive(Debug, Clone)]
struct Launched {
    member: StackMember,
    pid: u32,
    log: PathBuf,
}

impl LocalProvider {
    /// A provider keeping everything under `data_dir`, with the JVM tuning
    /// of [`JvmTuning::from_env`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            jvm: JvmTuning::from_env(),
        }
    }

    /// The same provider with other JVM start-up tuning.
    pub fn with_jvm_tuning(mut self, tuning: JvmTuning) -> Self {
        self.jvm = tuning;
        self
    }

    /// The JVM start-up tuning.
    pub fn jvm_tuning(&self) -> &JvmTuning {
        &self.jvm
    }

    /// `$XDG_DATA_HOME/tda-kafka/clusters/default` (or `~/.local/share/...`).
    pub fn default_data_dir() -> PathBuf {
        dist::data_root().join("clusters").join("default")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn node_dir(&self, id: u16) -> PathBuf {
        self.data_dir.join(format!("node-{id}"))
    }

    fn node_props(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("server.properties")
    }

    fn node_pid(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("kafka.pid")
    }

    /// The log file of node `id`.
    pub fn node_log(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("kafka.log")
    }

    fn registry_dir(&self) -> PathBuf {
        self.data_dir.join("registry")
    }

    fn registry_pid(&self) -> PathBuf {
        self.registry_dir().join("registry.pid")
    }

    /// The log file of the schema registry.
    pub fn registry_log(&self) -> PathBuf {
        self.registry_dir().join("registry.log")
    }

    fn console_dir(&self) -> PathBuf {
        self.data_dir.join("console")
    }

    /// The PID file of a member of the stack.
    fn pid_file(&self, member: StackMember) -> PathBuf {
        match member {
            StackMember::Node(id) => self.node_pid(id),
            StackMember::Service(ServiceKind::Zookeeper(n)) => self.zookeeper_pid(n),
            StackMember::Service(ServiceKind::Ui) => self.console_dir().join("console.pid"),
            StackMember::Service(ServiceKind::Connect) => self.connect_dir().join("connect.pid"),
            StackMember::Service(ServiceKind::Redis) => self.redis_dir().join("redis.pid"),
            StackMember::Service(_) => self.registry_pid(),
        }
    }

    /// The log file of a member.
    fn log_file(&self, member: StackMember) -> PathBuf {
        match member {
            StackMember::Node(id) => self.node_log(id),
            StackMember::Service(ServiceKind::Zookeeper(n)) => self.zookeeper_log(n),
            StackMember::Service(ServiceKind::Ui) => self.console_dir().join("console.log"),
            StackMember::Service(ServiceKind::Connect) => self.connect_dir().join("connect.log"),
            StackMember::Service(ServiceKind::Redis) => self.redis_dir().join("redis.log"),
            StackMember::Service(_) => self.registry_log(),
        }
    }

    /// Where a member's output goes.
    fn log_of(&self, member: StackMember) -> LogLocation {
        LogLocation::File(self.log_file(member))
    }

    /// A string only the JVM of this member has on its command line.
    fn marker(&self, member: StackMember) -> String {
        match member {
            StackMember::Node(id) => self.node_props(id).display().to_string(),
            StackMember::Service(ServiceKind::Zookeeper(n)) => {
                self.zookeeper_cfg(n).display().to_string()
            }
            StackMember::Service(ServiceKind::Ui) => {
                format!("--managed-by={}", self.console_dir().display())
            }
            StackMember::Service(ServiceKind::Connect) => {
                self.connect_props().display().to_string()
            }
            StackMember::Service(ServiceKind::Redis) => self.redis_conf().display().to_string(),
            StackMember::Service(_) => {
                format!("-Dtda.kafka.registry={}", self.registry_dir().display())
            }
        }
    }

    fn check(&self, member: StackMember) -> PidCheck {
        process::check_pid_file(&self.pid_file(member), &self.marker(member))
    }

    /// Removes the PID files of processes an aborted start launched.
    fn forget_pid_files(&self, launched: &[Launched]) {
        for l in launched {
            let pid_file = self.pid_file(l.member);
            if process::read_pid(&pid_file) == Some(l.pid) {
                let _ = process::remove_file(&pid_file);
            }
        }
    }
}

/// A node of a local cluster as faults see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeHandle {
    /// Its JVM, when it runs.
    pub pid: Option<u32>,
    /// Its listener ports.
    pub ports: crate::fault::NodePorts,
}

impl LocalProvider {
    /// The node ids of the cluster stored in the data directory.
    pub(crate) fn node_ids(&self) -> Result<Vec<u16>> {
        Ok(self.known_nodes(self.load_state()?.as_ref()))
    }

    /// Node `id` of the stored cluster: its process and ports.
    pub(crate) fn node_handle(&self, id: u16) -> Result<NodeHandle> {
        let stored = self
            .load_state()?
            .ok_or_else(|| crate::ClusterError::NotRunning {
                operation: "a fault",
                state: crate::ClusterState::NotCreated,
            })?;
        if id == 0 || id > stored.broker_count {
            return Err(crate::ClusterError::UnknownMember {
                name: format!("node {id}"),
                known: format!(
                    "nodes 1..={} (broker ids as in `status`)",
                    stored.broker_count
                ),
            });
        }
        let pid = match self.check(StackMember::Node(id)) {
            PidCheck::Alive(pid) => Some(pid),
            _ => None,
        };
        Ok(NodeHandle {
            pid,
            ports: crate::fault::NodePorts {
                kafka: stored.kafka_port(id),
                controller: stored.controller_port(id),
            },
        })
    }
}

impl ClusterProvider for LocalProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    fn backups_dir(&self) -> PathBuf {
        let mut name = self
            .data_dir
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "cluster".into());
        name.push(".backups");
        self.data_dir.with_file_name(name)
    }

    async fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> Result<StartReport> {
        let mut launched = Vec::new();
        let result = self
            .start_inner(config, options, progress, &cancel, &mut launched)
            .await;
        match result {
            Ok(report) => Ok(report),
            Err(e) => {
                // Leave nothing half-started behind, but keep the error.
                let cleanup = self.abort(&launched).await;
                self.forget_pid_files(&launched);
                match e {
                    crate::ClusterError::Interrupted { .. } => {
                        Err(crate::ClusterError::Interrupted { cleanup })
                    }
                    other => Err(other),
                }
            }
        }
    }

    async fn stop(&self, options: &StopOptions, progress: &dyn Progress) -> Result<StopReport> {
        let stored = self.load_state().ok().flatten();
        // A paused node ignores SIGTERM and an isolated one cannot leave the
        // quorum: undo every fault first.
        let mut notes = crate::fault::release(self);
        let stopped = self.stop_all(stored.as_ref(), options, progress).await?;
        if options.remove_containers {
            notes.push("the local provider runs no containers, so none were removed".into());
        }
        let removed = if options.remove_data {
            progress.report(ProgressEvent::Started {
                step: Step::RemoveData,
            });
            let removed = self.wipe(stored.as_ref())?;
            progress.report(ProgressEvent::Finished {
                step: Step::RemoveData,
                detail: format!(
                    "{} entries under {}",
                    removed.len(),
                    self.data_dir.display()
                ),
            });
            removed
        } else {
            Vec::new()
        };
        Ok(StopReport {
            stopped,
            removed,
            notes,
        })
    }

    async fn status(&self) -> Result<ClusterStatus> {
        self.status_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterState, ProcessState, StopOutcome};
    use state::Stored;

    #[tokio::test]
    async fn status_of_an_empty_dir_is_not_created_and_stop_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path().join("c"));
        let s = p.status().await.unwrap();
        assert_eq!(s.state, ClusterState::NotCreated);
        let r = p
            .stop(&StopOptions::default(), &crate::NoProgress)
            .await
            .unwrap();
        let services = [
            crate::ServiceKind::Ui,
            crate::ServiceKind::Connect,
            crate::ServiceKind::SchemaRegistry,
            crate::ServiceKind::Redis,
        ];
        assert_eq!(
            r.stopped,
            services
                .map(|k| (StackMember::Service(k), StopOutcome::NotRunning))
                .to_vec()
        );
        assert_eq!(p.backups_dir(), dir.path().join("c.backups"));
    }

    #[tokio::test]
    async fn a_stale_pid_file_is_reported_and_cleaned_by_stop() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let c = ClusterConfig {
            broker_count: 1,
            ..ClusterConfig::default()
        };
        p.save_state(&Stored::new(&c, crate::cluster_id::random(), None))
            .unwrap();
        std::fs::create_dir_all(p.node_dir(1)).unwrap();
        // Our own pid: alive, but not a kafka node of this cluster.
        process::write_pid(&p.node_pid(1), std::process::id()).unwrap();
        let s = p.status().await.unwrap();
        assert_eq!(s.state, ClusterState::Stopped);
        assert_eq!(
            s.nodes[0].state,
            ProcessState::StalePid {
                pid: std::process::id()
            }
        );
        let r = p
            .stop(&StopOptions::default(), &crate::NoProgress)
            .await
            .unwrap();
        assert!(r.stopped.contains(&(
            StackMember::Node(1),
            StopOutcome::StalePidRemoved {
                pid: std::process::id()
            }
        )));
        assert!(!p.node_pid(1).exists());
    }
}
