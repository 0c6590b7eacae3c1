//! What `start` records in the data directory (`cluster.json`), and the
//! removal of everything this provider created there.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tda_kafka_config::{ClusterConfig, MetadataMode};

use super::{LocalProvider, LOG4J_FILE};
use crate::{dist, ClusterError, Result};

const STATE_FILE: &str = "cluster.json";

/// What must not change while data exists: broker count, host, first client
/// port, first controller port (KRaft), metadata mode, ensemble.
pub(super) type Topology<'a> = (
    u16,
    &'a str,
    u16,
    u16,
    MetadataMode,
    Option<StoredZookeeper>,
);

/// What `start` records about the cluster in the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stored {
    pub(super) cluster_id: String,
    kafka_version: String,
    pub(super) broker_count: u16,
    pub(super) host: String,
    kafka_base_port: u16,
    pub(super) controller_base_port: u16,
    pub(super) jmx_base_port: u16,
    pub(super) registry_port: Option<u16>,
    /// The web console's port, when the stack runs it.
    #[serde(default)]
    pub(super) console_port: Option<u16>,
    /// Whether the registry runs behind the root-path proxy (the Confluent
    /// API answers at `/` too).
    #[serde(default)]
    pub(super) registry_root: bool,
    /// The Kafka Connect worker's REST port, when the stack runs it.
    #[serde(default)]
    pub(super) connect_port: Option<u16>,
    /// The Redis port, when the stack runs it.
    #[serde(default)]
    pub(super) redis_port: Option<u16>,
    /// KRaft or ZooKeeper mode.
    #[serde(default)]
    pub(super) metadata: MetadataMode,
    /// The ensemble of ZooKeeper mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) zookeeper: Option<StoredZookeeper>,
}

/// The ZooKeeper ensemble of a ZooKeeper-mode cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredZookeeper {
    /// Node count.
    pub(super) nodes: u16,
    /// Client port of node 1.
    pub(super) client_port_base: u16,
}

impl Stored {
    pub(super) fn new(
        config: &ClusterConfig,
        cluster_id: String,
        registry_port: Option<u16>,
    ) -> Self {
        let n = &config.network;
        Self {
            cluster_id,
            kafka_version: dist::kafka_version_for(config.metadata).into(),
            broker_count: config.broker_count,
            host: n.host.clone(),
            kafka_base_port: n.kafka_base_port,
            controller_base_port: n.controller_base_port,
            jmx_base_port: n.jmx_base_port,
            registry_port,
            console_port: None,
            registry_root: false,
            connect_port: None,
            redis_port: None,
            metadata: config.metadata,
            zookeeper: config.uses_zookeeper().then_some(StoredZookeeper {
                nodes: config.zookeeper.nodes,
                client_port_base: config.zookeeper.client_port_base,
            }),
        }
    }

    /// The parts that must not change while data exists (the KRaft quorum
    /// or the ensemble, and the advertised addresses are stored in the logs).
    pub(super) fn topology(&self) -> Topology<'_> {
        (
            self.broker_count,
            &self.host,
            self.kafka_base_port,
            match self.metadata {
                MetadataMode::Kraft => self.controller_base_port,
                MetadataMode::Zookeeper => 0,
            },
            self.metadata,
            self.zookeeper,
        )
    }

    /// The topology for people: `3 brokers on H:P,... (KRaft, controllers from port C)`.
    pub(super) fn describe(&self) -> String {
        let metadata = match &self.zookeeper {
            Some(zk) => format!(
                "ZooKeeper mode, {} ZooKeeper nodes from port {}",
                zk.nodes, zk.client_port_base
            ),
            None => format!("KRaft, controllers from port {}", self.controller_base_port),
        };
        format!(
            "{} brokers on {} ({metadata})",
            self.broker_count,
            self.bootstrap()
        )
    }

    /// The ZooKeeper nodes `(id, client port)` of ZooKeeper mode.
    pub(super) fn zookeeper_nodes(&self) -> Vec<(u16, u16)> {
        self.zookeeper
            .map(|zk| {
                (1..=zk.nodes)
                    .map(|n| (n, zk.client_port_base + n - 1))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn kafka_port(&self, id: u16) -> u16 {
        self.kafka_base_port + id - 1
    }

    pub(super) fn controller_port(&self, id: u16) -> u16 {
        self.controller_base_port + id - 1
    }

    pub(super) fn bootstrap(&self) -> String {
        (1..=self.broker_count)
            .map(|id| format!("{}:{}", self.host, self.kafka_port(id)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl LocalProvider {
    fn state_path(&self) -> PathBuf {
        self.data_dir.join(STATE_FILE)
    }

    pub(super) fn load_state(&self) -> Result<Option<Stored>> {
        let path = self.state_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ClusterError::State {
                    path,
                    reason: format!("{e}; the directory does not hold a cluster of this version (remove it or start clean)"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClusterError::Io {
                action: "cannot read",
                path,
                source: e,
            }),
        }
    }

    pub(super) fn save_state(&self, stored: &Stored) -> Result<()> {
        let path = self.state_path();
        let text = serde_json::to_string_pretty(stored).map_err(|e| ClusterError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(ClusterError::io("cannot write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(ClusterError::io("cannot write", &path))
    }

    /// The node ids that have a directory (so may have a process), at least `1..=n`.
    pub(super) fn known_nodes(&self, stored: Option<&Stored>) -> Vec<u16> {
        let mut ids: Vec<u16> = std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("node-")?
                    .parse::<u16>()
                    .ok()
            })
            .collect();
        if let Some(s) = stored {
            ids.extend(1..=s.broker_count);
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Removes everything this provider created in the data directory (and
    /// nothing else, in case the directory was chosen carelessly).
    pub(super) fn wipe(&self, stored: Option<&Stored>) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        let mut paths: Vec<PathBuf> = self
            .known_nodes(stored)
            .into_iter()
            .map(|id| self.node_dir(id))
            .collect();
        paths.extend(
            self.known_zookeeper_nodes(stored)
                .into_iter()
                .map(|n| self.zookeeper_dir(n)),
        );
        paths.push(self.data_dir.join(super::zookeeper::LOG4J1_FILE));
        paths.push(self.registry_dir());
        paths.push(self.console_dir());
        paths.push(self.connect_dir());
        paths.push(self.redis_dir());
        paths.push(self.data_dir.join(LOG4J_FILE));
        paths.push(self.state_path());
        for p in paths {
            let result = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else if p.exists() {
                std::fs::remove_file(&p)
            } else {
                continue;
            };
            result.map_err(ClusterError::io("cannot remove", &p))?;
            removed.push(p.display().to_string());
        }
        // Remove the data dir itself when nothing else is left in it.
        let _ = std::fs::remove_dir(&self.data_dir);
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_changes_are_detected() {
        let c = ClusterConfig::default();
        let a = Stored::new(&c, "x".into(), Some(8081));
        let mut c1 = c.clone();
        c1.broker_count = 1;
        assert_ne!(a.topology(), Stored::new(&c1, "x".into(), None).topology());
        assert_eq!(a.topology(), Stored::new(&c, "y".into(), None).topology());
        assert_eq!(a.bootstrap(), c.bootstrap_servers());
        let mut zk = c.clone();
        zk.metadata = MetadataMode::Zookeeper;
        let z = Stored::new(&zk, "x".into(), None);
        assert_ne!(a.topology(), z.topology());
        assert_eq!(z.zookeeper_nodes(), [(1, 2181), (2, 2182), (3, 2183)]);
        assert!(z
            .describe()
            .contains("ZooKeeper mode, 3 ZooKeeper nodes from port 2181"));
        assert!(a.zookeeper_nodes().is_empty());
    }
}
