//! The ZooKeeper ensemble of a stack in ZooKeeper mode (the configuration's
//! `TDA_METADATA_MODE`): `TDA_ZOOKEEPER_NODES` nodes `zookeeper-N`, each
//! with its client port 2181 published on the configuration's
//! `TDA_ZOOKEEPER_PORT_BASE + N - 1`, peers on 2888/3888 inside the stack
//! network, data on a named volume, the four-letter words of
//! [`ZOOKEEPER_4LW`] (health checks read `ruok` and `srvr`).

use tda_kafka_config::{zookeeper_connect_of, ZOOKEEPER_4LW};

use super::{env, health, Cx, Parts, Role, ServiceSpec, VolumeMount};
use crate::docker::images::{ImageSet, ZOOKEEPER_DATA_DIR};

/// The client port of every node inside the stack network.
pub const ZOOKEEPER_CLIENT_PORT: u16 = 2181;
/// The quorum (follower to leader) port inside the stack network.
const QUORUM_PORT: u16 = 2888;
/// The leader election port inside the stack network.
const ELECTION_PORT: u16 = 3888;

/// The service key of node `n`, also its host name on the stack network.
fn key(n: u16) -> String {
    format!("zookeeper-{n}")
}

/// Every node's client address on the stack network, node 1 first.
pub(super) fn addresses(cx: &Cx<'_>) -> Vec<String> {
    cx.config
        .zookeeper
        .node_ids()
        .map(|n| format!("{}:{ZOOKEEPER_CLIENT_PORT}", key(n)))
        .collect()
}

/// The brokers' `zookeeper.connect`: every node on the stack network,
/// under the chroot the local provider uses too.
pub(super) fn connect(cx: &Cx<'_>) -> String {
    zookeeper_connect_of(&addresses(cx))
}

/// Adds the ensemble in ZooKeeper mode and returns its service keys (empty
/// in KRaft mode). A set without a ZooKeeper image gets none, noted in
/// `skipped` (`start` refuses that combination before anything runs).
pub(super) fn zookeepers(cx: &Cx<'_>, out: &mut Parts) -> Vec<String> {
    if !cx.config.uses_zookeeper() {
        return Vec::new();
    }
    let Some(image) = cx.images.zookeeper.clone() else {
        out.skipped.push(format!(
            "zookeeper: the {} image set runs KRaft only",
            cx.set
        ));
        return Vec::new();
    };
    let zk = &cx.config.zookeeper;
    let mut keys = Vec::new();
    for n in zk.node_ids() {
        let key = key(n);
        let data = cx.vol(&key, "data");
        out.volumes.push(data.clone());
        let mut volumes = vec![VolumeMount {
            volume: data,
            target: ZOOKEEPER_DATA_DIR.into(),
        }];
        let heap = crate::local::ZOOKEEPER_HEAP.join(" ");
        let (command, environment) = match cx.set {
            ImageSet::Confluent => {
                let log = cx.vol(&key, "log");
                out.volumes.push(log.clone());
                volumes.push(VolumeMount {
                    volume: log,
                    target: "/var/lib/zookeeper/log".into(),
                });
                let servers = zk
                    .node_ids()
                    .map(|m| format!("{}:{QUORUM_PORT}:{ELECTION_PORT}", self::key(m)))
                    .collect::<Vec<_>>()
                    .join(";");
                let environment = env(&[
                    ("ZOOKEEPER_SERVER_ID", n.to_string()),
                    ("ZOOKEEPER_CLIENT_PORT", ZOOKEEPER_CLIENT_PORT.to_string()),
                    ("ZOOKEEPER_TICK_TIME", zk.tick_time_ms.to_string()),
                    ("ZOOKEEPER_INIT_LIMIT", "5".into()),
                    ("ZOOKEEPER_SYNC_LIMIT", "2".into()),
                    ("ZOOKEEPER_SERVERS", servers),
                    ("KAFKA_HEAP_OPTS", heap),
                    (
                        "KAFKA_OPTS",
                        format!("-Dzookeeper.4lw.commands.whitelist={ZOOKEEPER_4LW}"),
                    ),
                ]);
                (Vec::new(), environment)
            }
            // The local image's entrypoint: the arguments are zoo.cfg's
            // lines, rendered by the configuration like the local provider's
            // (the apache set has no ZooKeeper image: returned above).
            ImageSet::Local | ImageSet::Apache => {
                let cfg = cx.config.zoo_cfg_at(
                    n,
                    ZOOKEEPER_DATA_DIR,
                    ("0.0.0.0", ZOOKEEPER_CLIENT_PORT),
                    |m| format!("{}:{QUORUM_PORT}:{ELECTION_PORT}", self::key(m)),
                );
                let mut command = vec!["zookeeper".to_string()];
                command.extend(
                    cfg.lines()
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from),
                );
                // Quorum and election ports on every address of the
                // container, not only the one its name resolves to when the
                // node starts (peers' names appear as their containers do).
                command.push("quorumListenOnAllIPs=true".into());
                let environment = env(&[
                    ("TDA_ZOOKEEPER_MYID", n.to_string()),
                    ("KAFKA_HEAP_OPTS", heap),
                ]);
                (command, environment)
            }
        };
        // The client port accepts connections; the real check (`ruok`, then
        // the ensemble's `srvr`) runs from the host.
        let open = format!("exec 3<>/dev/tcp/127.0.0.1/{ZOOKEEPER_CLIENT_PORT}");
        let healthcheck = health(&["CMD", "bash", "-c", open.as_str()], 5, 30, 5);
        out.services.push(ServiceSpec {
            key: key.clone(),
            role: Role::Zookeeper(n),
            container_name: cx.options.container_name(&key),
            image: image.clone(),
            command,
            environment,
            ports: vec![cx.port(zk.client_port(n), ZOOKEEPER_CLIENT_PORT)],
            volumes,
            healthcheck,
            depends_on: Vec::new(),
            secret_files: Vec::new(),
        });
        keys.push(key);
    }
    keys
}
