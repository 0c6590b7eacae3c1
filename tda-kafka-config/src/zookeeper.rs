//! ZooKeeper mode: the metadata mode of the cluster and the three-node
//! ensemble's settings, and what is rendered for it (`zoo.cfg`, `myid` and
//! the brokers' `server.properties` with `zookeeper.connect`).

use serde::{Deserialize, Serialize};

use crate::{ClusterConfig, Properties};

/// Where the cluster keeps its metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataMode {
    /// A KRaft quorum inside the nodes (Kafka 4.x, the default).
    #[default]
    Kraft,
    /// A ZooKeeper ensemble next to the brokers (Kafka 3.9, the last line
    /// that supports it).
    Zookeeper,
}

impl MetadataMode {
    /// `kraft` or `zookeeper`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kraft => "kraft",
            Self::Zookeeper => "zookeeper",
        }
    }
}

impl std::fmt::Display for MetadataMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MetadataMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kraft" => Ok(Self::Kraft),
            "zookeeper" | "zk" => Ok(Self::Zookeeper),
            other => Err(format!(
                "unknown metadata mode `{other}` (expected kraft or zookeeper)"
            )),
        }
    }
}

/// The ZooKeeper ensemble (`TDA_ZOOKEEPER_*`). Node `n` (1-based) serves
/// clients on `client_port_base + n - 1`, talks to the leader on
/// `quorum_port_base + n - 1` and votes on `election_port_base + n - 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ZookeeperConfig {
    /// `TDA_ZOOKEEPER_NODES`: ensemble size (the seed's 3).
    pub nodes: u16,
    /// `TDA_ZOOKEEPER_PORT_BASE`: client port of node 1 (the seed's 2181).
    pub client_port_base: u16,
    /// `TDA_ZOOKEEPER_QUORUM_PORT_BASE`: follower-to-leader port of node 1.
    pub quorum_port_base: u16,
    /// `TDA_ZOOKEEPER_ELECTION_PORT_BASE`: leader election port of node 1.
    pub election_port_base: u16,
    /// `tickTime` in milliseconds (the seed's 2000).
    pub tick_time_ms: u32,
}

impl Default for ZookeeperConfig {
    fn default() -> Self {
        Self {
            nodes: 3,
            client_port_base: 2181,
            quorum_port_base: 2888,
            election_port_base: 3888,
            tick_time_ms: 2000,
        }
    }
}

/// The four-letter-word commands the nodes answer (health checks).
pub const ZOOKEEPER_4LW: &str = "ruok,srvr,mntr";

/// The chroot of the brokers' metadata in the ensemble.
pub const ZOOKEEPER_CHROOT: &str = "/tda-kafka";

/// `zookeeper.connect` for the nodes at `addresses` (`host:port` each):
/// all of them, comma separated, under [`ZOOKEEPER_CHROOT`].
pub fn zookeeper_connect_of(addresses: &[String]) -> String {
    format!("{}{ZOOKEEPER_CHROOT}", addresses.join(","))
}

impl ZookeeperConfig {
    /// Node ids `1..=nodes`.
    pub fn node_ids(&self) -> impl Iterator<Item = u16> {
        1..=self.nodes
    }

    /// The client port of node `n`.
    pub fn client_port(&self, n: u16) -> u16 {
        self.client_port_base + n - 1
    }

    /// The quorum port of node `n`.
    pub fn quorum_port(&self, n: u16) -> u16 {
        self.quorum_port_base + n - 1
    }

    /// The election port of node `n`.
    pub fn election_port(&self, n: u16) -> u16 {
        self.election_port_base + n - 1
    }
}

impl ClusterConfig {
    /// Whether the cluster runs in ZooKeeper mode.
    pub fn uses_zookeeper(&self) -> bool {
        self.metadata == MetadataMode::Zookeeper
    }

    /// `host:port` of every ZooKeeper node's client port, node 1 first.
    pub fn zookeeper_addresses(&self) -> Vec<String> {
        let zk = &self.zookeeper;
        zk.node_ids()
            .map(|n| format!("{}:{}", self.network.host, zk.client_port(n)))
            .collect()
    }

    /// Every ZooKeeper node's `host:port`, comma separated, under the chroot
    /// [`ZOOKEEPER_CHROOT`]: the brokers' `zookeeper.connect`.
    pub fn zookeeper_connect(&self) -> String {
        zookeeper_connect_of(&self.zookeeper_addresses())
    }

    /// `zoo.cfg` of ZooKeeper node `n` on this machine, keeping its data in
    /// `data_dir` (which holds the `myid` file,
    /// [`ClusterConfig::zookeeper_myid`]): every node on the host address
    /// with the ports of [`ZookeeperConfig`].
    pub fn zoo_cfg(&self, n: u16, data_dir: &str) -> String {
        let zk = &self.zookeeper;
        let host = &self.network.host;
        self.zoo_cfg_at(n, data_dir, (host, zk.client_port(n)), |m| {
            format!("{host}:{}:{}", zk.quorum_port(m), zk.election_port(m))
        })
    }

    /// `zoo.cfg` of ZooKeeper node `n` listening for clients on `client`
    /// (address, port), its peers at `peer(m)` (`host:quorum:election` of
    /// node `m`): [`ClusterConfig::zoo_cfg`] on this machine, the Docker
    /// stack's nodes on their container network.
    pub fn zoo_cfg_at(
        &self,
        n: u16,
        data_dir: &str,
        client: (&str, u16),
        peer: impl Fn(u16) -> String,
    ) -> String {
        let zk = &self.zookeeper;
        let (address, port) = client;
        let mut out = format!(
            "# Written by tda-kafka for ZooKeeper node {n}.\n\
             tickTime={}\n\
             initLimit=10\n\
             syncLimit=5\n\
             dataDir={data_dir}\n\
             clientPort={port}\n\
             clientPortAddress={address}\n\
             maxClientCnxns=0\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist={ZOOKEEPER_4LW}\n\
             autopurge.snapRetainCount=3\n\
             autopurge.purgeInterval=24\n",
            zk.tick_time_ms,
        );
        for m in zk.node_ids() {
            out.push_str(&format!("server.{m}={}\n", peer(m)));
        }
        out
    }

    /// The `myid` file of ZooKeeper node `n`.
    pub fn zookeeper_myid(&self, n: u16) -> String {
        format!("{n}\n")
    }

    /// `server.properties` of broker `node_id` in ZooKeeper mode: `broker.id`
    /// and `zookeeper.connect` instead of the KRaft roles, one client
    /// listener and no controller listener.
    pub(crate) fn zookeeper_broker_properties(&self, node_id: u16, log_dir: &str) -> Properties {
        let net = &self.network;
        let client_port = net.kafka_port(node_id);
        let mut p = Properties::default();
        p.set("broker.id", node_id)
            .set("zookeeper.connect", self.zookeeper_connect())
            .set("zookeeper.connection.timeout.ms", 18000)
            .set(
                "listeners",
                format!("EXTERNAL://{}:{client_port}", net.host),
            )
            .set(
                "advertised.listeners",
                format!("EXTERNAL://{}:{client_port}", net.host),
            )
            .set(
                "listener.security.protocol.map",
                format!("EXTERNAL:{}", self.security.protocol),
            )
            .set("inter.broker.listener.name", "EXTERNAL");
        self.render_common_broker_settings(&mut p, log_dir);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zk_config() -> ClusterConfig {
        ClusterConfig {
            metadata: MetadataMode::Zookeeper,
            ..ClusterConfig::default()
        }
    }

    #[test]
    fn modes_parse_and_kraft_is_the_default() {
        assert_eq!(ClusterConfig::default().metadata, MetadataMode::Kraft);
        assert_eq!("ZooKeeper".parse(), Ok(MetadataMode::Zookeeper));
        assert_eq!("kraft".parse(), Ok(MetadataMode::Kraft));
        assert!("raft"
            .parse::<MetadataMode>()
            .unwrap_err()
            .contains("kraft or zookeeper"));
    }

    #[test]
    fn zookeeper_brokers_use_the_ensemble_and_no_controller() {
        let c = zk_config();
        let p = c.broker_properties(2, "/data/2");
        assert_eq!(p.get("broker.id"), Some("2"));
        assert_eq!(
            p.get("zookeeper.connect"),
            Some("127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183/tda-kafka")
        );
        assert_eq!(p.get("listeners"), Some("EXTERNAL://127.0.0.1:19093"));
        assert_eq!(
            p.get("listener.security.protocol.map"),
            Some("EXTERNAL:PLAINTEXT")
        );
        for kraft_only in [
            "node.id",
            "process.roles",
            "controller.quorum.voters",
            "controller.listener.names",
        ] {
            assert!(!p.contains_key(kraft_only), "{kraft_only}");
        }
        assert!(!p.to_properties_string().contains("CONTROLLER"));
        // The settings both modes share are rendered the same.
        let kraft = ClusterConfig::default().broker_properties(2, "/data/2");
        for shared in [
            "log.dirs",
            "num.partitions",
            "default.replication.factor",
            "min.insync.replicas",
            "offsets.topic.replication.factor",
            "auto.create.topics.enable",
        ] {
            assert_eq!(p.get(shared), kraft.get(shared), "{shared}");
        }
    }

    #[test]
    fn zoo_cfg_lists_the_ensemble() {
        let mut c = zk_config();
        c.zookeeper.client_port_base = 32181;
        c.zookeeper.quorum_port_base = 32281;
        c.zookeeper.election_port_base = 32381;
        let cfg = c.zoo_cfg(2, "/zk/2/data");
        for line in [
            "dataDir=/zk/2/data",
            "clientPort=32182",
            "clientPortAddress=127.0.0.1",
            "4lw.commands.whitelist=ruok,srvr,mntr",
            "server.1=127.0.0.1:32281:32381",
            "server.2=127.0.0.1:32282:32382",
            "server.3=127.0.0.1:32283:32383",
            "tickTime=2000",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} missing in\n{cfg}");
        }
        assert!(!cfg.contains("server.4"));
        assert_eq!(c.zookeeper_myid(2), "2\n");
        assert!(c.zookeeper_connect().starts_with("127.0.0.1:32181,"));
    }

    #[test]
    fn zoo_cfg_at_places_the_nodes_on_a_container_network() {
        let cfg = zk_config().zoo_cfg_at(3, "/var/lib/zookeeper/data", ("0.0.0.0", 2181), |m| {
            format!("zookeeper-{m}:2888:3888")
        });
        for line in [
            "clientPort=2181",
            "clientPortAddress=0.0.0.0",
            "dataDir=/var/lib/zookeeper/data",
            "server.1=zookeeper-1:2888:3888",
            "server.3=zookeeper-3:2888:3888",
            "4lw.commands.whitelist=ruok,srvr,mntr",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} missing in\n{cfg}");
        }
        assert_eq!(
            zookeeper_connect_of(&["zookeeper-1:2181".into(), "zookeeper-2:2181".into()]),
            "zookeeper-1:2181,zookeeper-2:2181/tda-kafka"
        );
    }

    #[test]
    fn zookeeper_mode_is_validated() {
        let loaded = crate::ConfigLoader::new()
            .env_text(
                "kafka.env",
                "TDA_METADATA_MODE=zookeeper\nTDA_ZOOKEEPER_PORT_BASE=19093\nTDA_ZOOKEEPER_NODES=2\n",
            )
            .check();
        let shown: Vec<String> = loaded.report.errors().map(|i| i.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|e| e.contains("TDA_ZOOKEEPER_NODES") && e.contains("1, 3, 5 or 7")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|e| e.contains("ZooKeeper client ports 19093-19095 and broker ports")),
            "{shown:?}"
        );
        let ok = crate::ConfigLoader::new()
            .env_text("kafka.env", "TDA_METADATA_MODE=zookeeper\n")
            .load()
            .unwrap();
        assert!(ok.config.uses_zookeeper());
        let mut secured = ok.config.clone();
        secured.security.tls_dir = Some("/tmp/tls".into());
        secured.security.protocol = crate::SecurityProtocol::Ssl;
        assert!(crate::validate(&secured)
            .errors()
            .any(|i| i.to_string().contains("needs KRaft")));
    }
}
