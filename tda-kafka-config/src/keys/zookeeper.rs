//! The rows of the key table for the metadata mode (`TDA_METADATA_MODE`)
//! and the ZooKeeper ensemble of ZooKeeper mode (`TDA_ZOOKEEPER_*`).

use super::*;

pub(super) static ZOOKEEPER_KEYS: &[Key] = &[
    Key {
        name: "TDA_METADATA_MODE",
        doc: "Where the cluster keeps its metadata: kraft (Kafka 4.4, default) or zookeeper (Kafka 3.9 with a ZooKeeper ensemble, local provider).",
        expected: "kraft or zookeeper",
        secret: false,
        set: |c, v| {
            c.metadata = v.parse().map_err(|_| ())?;
            Ok(())
        },
        get: |c| Some(c.metadata.to_string()),
    },
    Key {
        name: "TDA_ZOOKEEPER_NODES",
        doc: "ZooKeeper ensemble size in ZooKeeper mode (seed: 3).",
        expected: "1, 3, 5 or 7",
        secret: false,
        set: |c, v| {
            let n: u16 = positive(v)?;
            if n > 7 || n.is_multiple_of(2) {
                return Err(());
            }
            c.zookeeper.nodes = n;
            Ok(())
        },
        get: |c| Some(c.zookeeper.nodes.to_string()),
    },
    Key {
        name: "TDA_ZOOKEEPER_PORT_BASE",
        doc: "Client port of ZooKeeper node 1; node i uses base + i - 1 (seed: 2181).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.zookeeper.client_port_base = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.zookeeper.client_port_base.to_string()),
    },
    Key {
        name: "TDA_ZOOKEEPER_QUORUM_PORT_BASE",
        doc: "Follower-to-leader port of ZooKeeper node 1; node i uses base + i - 1 (ZooKeeper's 2888).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.zookeeper.quorum_port_base = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.zookeeper.quorum_port_base.to_string()),
    },
    Key {
        name: "TDA_ZOOKEEPER_ELECTION_PORT_BASE",
        doc: "Leader-election port of ZooKeeper node 1; node i uses base + i - 1 (ZooKeeper's 3888).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.zookeeper.election_port_base = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.zookeeper.election_port_base.to_string()),
    },
];
