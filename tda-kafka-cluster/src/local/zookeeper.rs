//! ZooKeeper mode of the local stack: the ensemble's nodes (QuorumPeerMain
//! on the Kafka 3.9 classpath, one directory each), started before the
//! brokers and ready when every node answers `imok` and one leads while the
//! others follow; their status entries; the log4j 1 configuration that
//! Kafka 3.9 and ZooKeeper read.
//!
//! ```text
//! <data dir>/zookeeper-<n>/   zoo.cfg, data/myid, data/version-2/, zookeeper.log, zookeeper.pid
//! <data dir>/log4j.properties logging of the ZooKeeper-mode JVMs
//! ```

use std::path::PathBuf;

use tda_kafka_config::ClusterConfig;

use super::jvm::{self, JarSet};
use super::process;
use super::start::{check_launched, write_private};
use super::state::Stored;
use super::{Launched, LocalProvider};
use crate::dist::{Java, KafkaDist};
use crate::poll::Wait;
use crate::{
    ClusterError, Progress, ProgressEvent, Result, ServiceAddress, ServiceKind, ServiceStatus,
    StackMember, Step,
};

/// Logging of the ZooKeeper-mode JVMs (Kafka 3.9 and ZooKeeper read log4j 1
/// configuration through reload4j).
pub(super) const LOG4J1_FILE: &str = "log4j.properties";

pub(crate) const LOG4J1: &str = "\
# Written by tda-kafka for the ZooKeeper-mode JVMs; output goes to each one's log
# file (local) or the container's output (Docker).
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.zookeeper=INFO
# Health checks that only open the client port would log a line each.
log4j.logger.org.apache.zookeeper.server.NIOServerCnxn=WARN
";

/// Heap of a ZooKeeper node (the ensemble holds the metadata of one
/// cluster); the Docker stack's nodes get the same.
pub(crate) const ZOOKEEPER_HEAP: [&str; 2] = ["-Xmx256m", "-Xms64m"];

const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// The ports ZooKeeper nodes `nodes` need, with what each is for.
pub(super) fn ports_needed(config: &ClusterConfig, nodes: &[u16]) -> Vec<(u16, String)> {
    let zk = &config.zookeeper;
    nodes
        .iter()
        .flat_map(|&n| {
            [
                (zk.client_port(n), format!("ZooKeeper {n} client port")),
                (zk.quorum_port(n), format!("ZooKeeper {n} quorum port")),
                (zk.election_port(n), format!("ZooKeeper {n} election port")),
            ]
        })
        .collect()
}

impl LocalProvider {
    /// The directory of ZooKeeper node `n`.
    pub(super) fn zookeeper_dir(&self, n: u16) -> PathBuf {
        self.data_dir.join(format!("zookeeper-{n}"))
    }

    /// The `zoo.cfg` of node `n` (also the marker on its command line).
    pub(super) fn zookeeper_cfg(&self, n: u16) -> PathBuf {
        self.zookeeper_dir(n).join("zoo.cfg")
    }

    /// The PID file of node `n`.
    pub(super) fn zookeeper_pid(&self, n: u16) -> PathBuf {
        self.zookeeper_dir(n).join("zookeeper.pid")
    }

    /// The log file of node `n`.
    pub(super) fn zookeeper_log(&self, n: u16) -> PathBuf {
        self.zookeeper_dir(n).join("zookeeper.log")
    }

    /// The ZooKeeper nodes that have a directory or are recorded.
    pub(super) fn known_zookeeper_nodes(&self, stored: Option<&Stored>) -> Vec<u16> {
        let mut ids: Vec<u16> = std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("zookeeper-")?
                    .parse::<u16>()
                    .ok()
            })
            .collect();
        if let Some(s) = stored {
            ids.extend(s.zookeeper_nodes().into_iter().map(|(n, _)| n));
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The logging flag of a ZooKeeper-mode JVM (brokers and nodes).
    pub(super) fn log4j1_flag(&self) -> String {
        format!(
            "-Dlog4j.configuration=file:{}",
            self.data_dir.join(LOG4J1_FILE).display()
        )
    }

    /// Writes the log4j 1 configuration of the ZooKeeper-mode JVMs.
    pub(super) fn write_log4j1(&self) -> Result<()> {
        let path = self.data_dir.join(LOG4J1_FILE);
        std::fs::write(&path, LOG4J1).map_err(ClusterError::io("cannot write", &path))
    }

    fn zookeeper_args(&self, kafka: &KafkaDist, n: u16, tuning: &[String]) -> Vec<String> {
        let mut args: Vec<String> = ZOOKEEPER_HEAP.map(String::from).to_vec();
        args.extend(tuning.iter().cloned());
        args.extend([
            "-Djava.awt.headless=true".to_string(),
            self.log4j1_flag(),
            format!("-Dzookeeper.log.dir={}", self.zookeeper_dir(n).display()),
            "-cp".into(),
            kafka.classpath(),
            MAIN_CLASS.into(),
            self.zookeeper_cfg(n).display().to_string(),
        ]);
        args
    }

    /// Starts ZooKeeper nodes `nodes` (their files written first) and waits
    /// until the whole ensemble is formed: every node answers `imok`, one
    /// leads and the others follow.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start_zookeeper(
        &self,
        config: &ClusterConfig,
        nodes: &[u16],
        java: &Java,
        kafka: &KafkaDist,
        progress: &dyn Progress,
        launched: &mut Vec<Launched>,
        wait: &Wait<'_>,
    ) -> Result<()> {
        self.write_log4j1()?;
        // One archive for the ensemble's jar set: the first node started
        // writes it when it stops, the others start without.
        let tuning = if nodes.is_empty() {
            Vec::new()
        } else {
            jvm::service_flags(
                &self.jvm,
                config,
                java,
                &JarSet::zookeeper(kafka),
                ZOOKEEPER_HEAP[0],
                progress,
            )
        };
        let without_build: Vec<String> = tuning
            .iter()
            .filter(|f| !f.starts_with("-XX:ArchiveClassesAtExit") && *f != "-Xlog:cds=error")
            .cloned()
            .collect();
        let mut ours = Vec::new();
        for (i, &n) in nodes.iter().enumerate() {
            let member = StackMember::Service(ServiceKind::Zookeeper(n));
            let step = Step::Other {
                name: format!("starting {}", ServiceKind::Zookeeper(n)),
            };
            progress.report(ProgressEvent::Started { step: step.clone() });
            let data = self.zookeeper_dir(n).join("data");
            std::fs::create_dir_all(&data).map_err(ClusterError::io("cannot create", &data))?;
            let myid = data.join("myid");
            std::fs::write(&myid, config.zookeeper_myid(n))
                .map_err(ClusterError::io("cannot write", &myid))?;
            write_private(
                &self.zookeeper_cfg(n),
                &config.zoo_cfg(n, &data.display().to_string()),
            )?;
            let log = self.zookeeper_log(n);
            let flags = if i == 0 { &tuning } else { &without_build };
            let pid = process::spawn_detached(
                &java.path,
                &self.zookeeper_args(kafka, n, flags),
                &self.zookeeper_dir(n),
                &log,
            )?;
            let this = Launched { member, pid, log };
            launched.push(this.clone());
            ours.push(this);
            process::write_pid(&self.zookeeper_pid(n), pid)?;
            progress.report(ProgressEvent::Finished {
                step,
                detail: format!(
                    "pid {pid}, {}:{}",
                    config.network.host,
                    config.zookeeper.client_port(n)
                ),
            });
        }
        crate::ready::wait_for_ensemble(config, wait, || check_launched(&ours)).await?;
        Ok(())
    }

    /// The status entries of the ensemble recorded in `stored`.
    pub(super) fn zookeeper_statuses(&self, stored: &Stored) -> Vec<ServiceStatus> {
        let host = stored.host.as_str();
        stored
            .zookeeper_nodes()
            .into_iter()
            .map(|(n, port)| {
                let member = StackMember::Service(ServiceKind::Zookeeper(n));
                ServiceStatus::new(
                    ServiceKind::Zookeeper(n),
                    self.process_state(member, host, port),
                    ServiceAddress::new(host, port, ""),
                    self.log_of(member),
                )
            })
            .collect()
    }
}
