//! The seed's Docker topology as typed data.
//!
//! One [`Topology`] value is both provisioned through the engine API
//! ([`super::DockerProvider`]) and rendered as a docker-compose file
//! ([`super::compose`]), so the two cannot drift.

use std::collections::BTreeMap;

use serde::Serialize;
use tda_kafka_config::{ClusterConfig, NetworkConfig};

use super::images::ImageSet;

/// Label put on every container, network and volume of a stack (value: the stack name).
pub const STACK_LABEL: &str = "io.tda-kafka.stack";
/// Label naming the topology service of a container.
pub const SERVICE_LABEL: &str = "io.tda-kafka.service";
/// Label naming the image set a container was created from.
pub const IMAGE_SET_LABEL: &str = "io.tda-kafka.image-set";
/// Label holding the stack's port layout (`NetworkConfig` as JSON, no secrets),
/// so `status`/`stop` describe a running stack without its configuration files.
pub const NETWORK_LABEL: &str = "io.tda-kafka.network";

/// Internal (container network) Kafka listener port: `kafka-N:9092`.
pub const INTERNAL_KAFKA_PORT: u16 = 9092;
/// Controller listener port inside the network (KRaft).
pub const CONTROLLER_PORT: u16 = 9093;

/// Which optional services run (brokers always do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Services {
    /// The schema registry (`tda_schema_registry`).
    pub schema_registry: bool,
    /// Kafka Connect (`tda_kafka_connect`).
    pub connect: bool,
    /// Kafka UI (`tda_kafka_ui`; confluent/apache image sets only).
    pub ui: bool,
    /// ksqlDB (`tda_ksqldb`; confluent/apache image sets only; optional in the seed).
    pub ksqldb: bool,
    /// Redis (`tda_redis`).
    pub redis: bool,
}

impl Services {
    /// Every service of the seed.
    pub fn all() -> Self {
        Self {
            schema_registry: true,
            connect: true,
            ui: true,
            ksqldb: true,
            redis: true,
        }
    }

    /// Brokers only (plus ZooKeeper in ZooKeeper mode).
    pub fn brokers_only() -> Self {
        Self {
            schema_registry: false,
            connect: false,
            ui: false,
            ksqldb: false,
            redis: false,
        }
    }

    /// A named profile: `full` (every service), `core` (brokers and the
    /// schema registry), `brokers` (brokers only).
    pub fn profile(name: &str) -> Option<Self> {
        match name {
            "full" => Some(Self::all()),
            "core" => Some(Self {
                schema_registry: true,
                ..Self::brokers_only()
            }),
            "brokers" => Some(Self::brokers_only()),
            _ => None,
        }
    }

    /// Turns one service off by its service name (`schema-registry`,
    /// `kafka-connect`, `kafka-ui`, `ksqldb`, `redis`); false if unknown.
    pub fn disable(&mut self, service: &str) -> bool {
        let flag = match service {
            "schema-registry" | "registry" => &mut self.schema_registry,
            "kafka-connect" | "connect" => &mut self.connect,
            "kafka-ui" | "ui" => &mut self.ui,
            "ksqldb" => &mut self.ksqldb,
            "redis" => &mut self.redis,
            _ => return false,
        };
        *flag = false;
        true
    }
}

impl Default for Services {
    fn default() -> Self {
        Self::all()
    }
}

/// Options that place a topology on an engine: names, images, ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackOptions {
    /// Stack name: containers are `<name>_kafka_1`, the network
    /// `<name>-kafka-network`, volumes `<name>_kafka_1_data`. The seed's is `tda`.
    pub name: String,
    /// Which images run it.
    pub image_set: ImageSet,
    /// Optional services.
    pub services: Services,
    /// JVM heap of every container (`-Xmx`/`-Xms`), e.g. `512m`.
    pub heap: String,
    /// First host port of the ZooKeeper client ports (ZooKeeper mode).
    pub zookeeper_base_port: u16,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            name: "tda".into(),
            image_set: ImageSet::Local,
            services: Services::all(),
            heap: "512m".into(),
            zookeeper_base_port: 2181,
        }
    }
}

impl StackOptions {
    /// The stack's network name (`tda-kafka-network` for the default stack).
    pub fn network_name(&self) -> String {
        format!("{}-kafka-network", self.name)
    }

    /// The container name of a service key (`kafka-1` -> `tda_kafka_1`).
    pub fn container_name(&self, key: &str) -> String {
        format!("{}_{}", self.name, key.replace('-', "_"))
    }

    /// A deterministic KRaft cluster id for this stack (22 base64url chars).
    pub fn cluster_id(&self) -> String {
        crate::cluster_id::derived(&self.name)
    }
}

/// What a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Role {
    /// ZooKeeper node N.
    Zookeeper(u16),
    /// Kafka broker N.
    Broker(u16),
    /// Schema registry.
    SchemaRegistry,
    /// Kafka Connect.
    Connect,
    /// Kafka UI.
    Ui,
    /// ksqlDB.
    Ksqldb,
    /// Redis.
    Redis,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    /// Host address, `127.0.0.1` by default.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
}

/// A named volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// Volume name (prefixed with the stack name).
    pub volume: String,
    /// Mount point in the container.
    pub target: String,
}

/// A container health check (docker's `HEALTHCHECK`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthSpec {
    /// The test, e.g. `["CMD-SHELL", "redis-cli ping"]`.
    pub test: Vec<String>,
    /// Seconds between checks.
    pub interval_secs: u64,
    /// Seconds before a check counts as failed.
    pub timeout_secs: u64,
    /// Consecutive failures before `unhealthy`.
    pub retries: u32,
    /// Grace period in seconds.
    pub start_period_secs: u64,
}

/// One service (one container).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    /// Service key as in the seed's compose file, e.g. `kafka-1`; also the
    /// container's DNS alias on the stack network.
    pub key: String,
    /// What it is.
    pub role: Role,
    /// Container name, e.g. `tda_kafka_1`.
    pub container_name: String,
    /// Image reference.
    pub image: String,
    /// Command (arguments to the image's entrypoint); empty for the image default.
    pub command: Vec<String>,
    /// Environment.
    pub environment: BTreeMap<String, String>,
    /// Published ports.
    pub ports: Vec<PortSpec>,
    /// Named volumes.
    pub volumes: Vec<VolumeMount>,
    /// Health check.
    pub healthcheck: Option<HealthSpec>,
    /// Services that must be started first.
    pub depends_on: Vec<String>,
}

/// The whole stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// The options it was built from.
    pub options: StackOptions,
    /// The bridge network.
    pub network: String,
    /// Named volumes.
    pub volumes: Vec<String>,
    /// Services in start order.
    pub services: Vec<ServiceSpec>,
    /// Host bootstrap servers (`127.0.0.1:19092,...`).
    pub bootstrap_servers: String,
    /// Internal bootstrap servers (`kafka-1:9092,...`).
    pub internal_bootstrap_servers: String,
    /// Services requested but not part of this image set, with the reason.
    pub skipped: Vec<String>,
    /// The host port layout the topology was built with.
    pub ports: NetworkConfig,
}

impl Topology {
    /// The service with key `key`.
    pub fn service(&self, key: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.key == key)
    }

    /// Brokers only.
    pub fn brokers(&self) -> impl Iterator<Item = &ServiceSpec> {
        self.services
            .iter()
            .filter(|s| matches!(s.role, Role::Broker(_)))
    }

    /// The schema registry's Confluent-compatible URL on the host, if it runs.
    pub fn registry_url(&self) -> Option<String> {
        let s = self
            .services
            .iter()
            .find(|s| s.role == Role::SchemaRegistry)?;
        let p = s.ports.first()?;
        let path = match self.options.image_set {
            ImageSet::Confluent => "",
            _ => "/apis/ccompat/v7",
        };
        Some(format!("http://{}:{}{path}", p.host_ip, p.host_port))
    }

    /// Every container name.
    pub fn container_names(&self) -> Vec<String> {
        self.services
            .iter()
            .map(|s| s.container_name.clone())
            .collect()
    }
}

fn health(test: &[&str], interval: u64, retries: u32, start: u64) -> Option<HealthSpec> {
    Some(HealthSpec {
        test: test.iter().map(|s| s.to_string()).collect(),
        interval_secs: interval,
        timeout_secs: 10,
        retries,
        start_period_secs: start,
    })
}

fn env(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `log.dirs` -> `KAFKA_LOG_DIRS`: the apache/kafka and cp-kafka convention
/// (`.` -> `_`, `_` -> `__`, `-` -> `___`, upper case).
pub fn property_env_name(prefix: &str, key: &str) -> String {
    let mut out = String::from(prefix);
    for c in key.chars() {
        match c {
            '.' => out.push('_'),
            '_' => out.push_str("__"),
            '-' => out.push_str("___"),
            c => out.push(c.to_ascii_uppercase()),
        }
    }
    out
}

/// Builds the topology of `config` (brokers, ports, broker settings) placed by `options`.
pub fn build(config: &ClusterConfig, options: &StackOptions) -> Topology {
    let set = options.image_set;
    let images = set.images();
    let host = config.network.host.clone();
    let net = &config.network;
    let heap = format!("-Xmx{0} -Xms{0}", options.heap);
    let mut services = Vec::new();
    let mut volumes = Vec::new();
    let mut skipped = Vec::new();
    let vol = |key: &str, what: &str| format!("{}_{}_{what}", options.name, key.replace('-', "_"));
    let port = |host_port: u16, container_port: u16| PortSpec {
        host_ip: host.clone(),
        host_port,
        container_port,
    };
    let brokers: Vec<u16> = config.node_ids().collect();
    let internal_bootstrap = brokers
        .iter()
        .map(|n| format!("kafka-{n}:{INTERNAL_KAFKA_PORT}"))
        .collect::<Vec<_>>()
        .join(",");

    // ZooKeeper ensemble (ZooKeeper mode: the Confluent 7.5 set).
    let zk_keys: Vec<String> = if set.uses_zookeeper() {
        brokers.iter().map(|n| format!("zookeeper-{n}")).collect()
    } else {
        Vec::new()
    };
    if let Some(zk_image) = images.zookeeper.as_ref().filter(|_| set.uses_zookeeper()) {
        let servers = brokers
            .iter()
            .map(|n| format!("zookeeper-{n}:2888:3888"))
            .collect::<Vec<_>>()
            .join(";");
        for n in &brokers {
            let key = format!("zookeeper-{n}");
            let (data, log) = (vol(&key, "data"), vol(&key, "log"));
            volumes.push(data.clone());
            volumes.push(log.clone());
            services.push(ServiceSpec {
                key: key.clone(),
                role: Role::Zookeeper(*n),
                container_name: options.container_name(&key),
                image: zk_image.clone(),
                command: Vec::new(),
                environment: env(&[
                    ("ZOOKEEPER_SERVER_ID", n.to_string()),
                    ("ZOOKEEPER_CLIENT_PORT", "2181".into()),
                    ("ZOOKEEPER_TICK_TIME", "2000".into()),
                    ("ZOOKEEPER_INIT_LIMIT", "5".into()),
                    ("ZOOKEEPER_SYNC_LIMIT", "2".into()),
                    ("ZOOKEEPER_SERVERS", servers.clone()),
                    ("KAFKA_HEAP_OPTS", heap.clone()),
                    (
                        "KAFKA_OPTS",
                        "-Dzookeeper.4lw.commands.whitelist=ruok,stat".into(),
                    ),
                ]),
                ports: vec![port(options.zookeeper_base_port + n - 1, 2181)],
                volumes: vec![
                    VolumeMount {
                        volume: data,
                        target: "/var/lib/zookeeper/data".into(),
                    },
                    VolumeMount {
                        volume: log,
                        target: "/var/lib/zookeeper/log".into(),
                    },
                ],
                healthcheck: health(
                    &["CMD-SHELL", "echo ruok | nc localhost 2181 | grep imok"],
                    10,
                    5,
                    10,
                ),
                depends_on: Vec::new(),
            });
        }
    }

    // Kafka brokers: internal listener kafka-N:9092 for containers, external
    // 127.0.0.1:1909x for the host, controller listener kafka-N:9093 (KRaft).
    for n in &brokers {
        let key = format!("kafka-{n}");
        let external = net.kafka_port(*n);
        let data = vol(&key, "data");
        volumes.push(data.clone());
        let mut props = config.broker_properties(*n, "/var/lib/kafka/data");
        props.set(
            "listeners",
            format!(
                "INTERNAL://0.0.0.0:{INTERNAL_KAFKA_PORT},EXTERNAL://0.0.0.0:{external}{}",
                if set.uses_zookeeper() {
                    String::new()
                } else {
                    format!(",CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")
                }
            ),
        );
        props.set(
            "advertised.listeners",
            format!("INTERNAL://{key}:{INTERNAL_KAFKA_PORT},EXTERNAL://{host}:{external}"),
        );
        let protocol = config.security.protocol.as_str();
        props.set(
            "listener.security.protocol.map",
            format!("INTERNAL:{protocol},EXTERNAL:{protocol},CONTROLLER:PLAINTEXT"),
        );
        props.set("inter.broker.listener.name", "INTERNAL");
        if set.uses_zookeeper() {
            for k in [
                "node.id",
                "process.roles",
                "controller.quorum.voters",
                "controller.listener.names",
            ] {
                props.remove(k);
            }
            props.set("broker.id", n);
            props.set(
                "zookeeper.connect",
                zk_keys
                    .iter()
                    .map(|k| format!("{k}:2181"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        } else {
            props.set(
                "controller.quorum.voters",
                brokers
                    .iter()
                    .map(|id| format!("{id}@kafka-{id}:{CONTROLLER_PORT}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let mut environment: BTreeMap<String, String> = props
            .iter()
            .map(|(k, v)| (property_env_name("KAFKA_", k), v.to_string()))
            .collect();
        environment.insert("KAFKA_HEAP_OPTS".into(), heap.clone());
        environment.insert(
            "KAFKA_JVM_PERFORMANCE_OPTS".into(),
            config.jvm_performance_opts.clone(),
        );
        if !set.uses_zookeeper() {
            environment.insert("CLUSTER_ID".into(), options.cluster_id());
        }
        let mut ports = vec![port(external, external)];
        if let Some(jmx) = net.jmx_port(*n) {
            environment.insert("KAFKA_JMX_PORT".into(), jmx.to_string());
            environment.insert("KAFKA_JMX_HOSTNAME".into(), host.clone());
            ports.push(port(jmx, jmx));
        }
        let healthcheck = match set {
            ImageSet::Confluent => health(
                &[
                    "CMD-SHELL",
                    "kafka-broker-api-versions --bootstrap-server localhost:9092",
                ],
                30,
                5,
                30,
            ),
            ImageSet::Apache => health(&["CMD-SHELL", "nc -z localhost 9092"], 5, 30, 10),
            ImageSet::Local => health(
                &["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9092"],
                5,
                30,
                10,
            ),
        };
        services.push(ServiceSpec {
            key: key.clone(),
            role: Role::Broker(*n),
            container_name: options.container_name(&key),
            image: images.kafka.clone(),
            command: Vec::new(),
            environment,
            ports,
            volumes: vec![VolumeMount {
                volume: data,
                target: "/var/lib/kafka/data".into(),
            }],
            healthcheck,
            depends_on: zk_keys.clone(),
        });
    }
    let broker_keys: Vec<String> = brokers.iter().map(|n| format!("kafka-{n}")).collect();

    let sv = options.services;
    let mut want = |on: bool, image: &Option<String>, name: &str| -> Option<String> {
        if !on {
            return None;
        }
        match image {
            Some(i) => Some(i.clone()),
            None => {
                skipped.push(format!(
                    "{name}: the {set} image set has no image for it (public images only; use --images confluent or apache)"
                ));
                None
            }
        }
    };
    let registry_image = want(
        sv.schema_registry,
        &images.schema_registry,
        "schema-registry",
    );
    let connect_image = want(sv.connect, &images.connect, "kafka-connect");
    let ksql_image = want(sv.ksqldb, &images.ksqldb, "ksqldb");
    let ui_image = want(sv.ui, &images.ui, "kafka-ui");
    let redis_image = want(sv.redis, &images.redis, "redis");

    if let Some(image) = &registry_image {
        let key = "schema-registry".to_string();
        let (environment, check) = match set {
            ImageSet::Confluent => (
                env(&[
                    ("SCHEMA_REGISTRY_HOST_NAME", key.clone()),
                    (
                        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS",
                        internal_bootstrap.clone(),
                    ),
                    ("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081".into()),
                    ("SCHEMA_REGISTRY_HEAP_OPTS", heap.clone()),
                ]),
                "curl -fsS http://localhost:8081/subjects",
            ),
            _ => (
                env(&[
                    ("QUARKUS_HTTP_HOST", "0.0.0.0".into()),
                    ("QUARKUS_HTTP_PORT", "8081".into()),
                    ("JAVA_TOOL_OPTIONS", format!("-Xmx{}", options.heap)),
                ]),
                "curl -fsS http://localhost:8081/apis/ccompat/v7/subjects",
            ),
        };
        services.push(ServiceSpec {
            container_name: options.container_name(&key),
            key,
            role: Role::SchemaRegistry,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![port(net.schema_registry_port, 8081)],
            volumes: Vec::new(),
            healthcheck: health(&["CMD-SHELL", check], 5, 30, 10),
            depends_on: broker_keys.clone(),
        });
    }

    if let Some(image) = &connect_image {
        let key = "kafka-connect".to_string();
        let rf = config.replication_for(config.broker_count).factor;
        let mut environment = env(&[
            ("CONNECT_BOOTSTRAP_SERVERS", internal_bootstrap.clone()),
            ("CONNECT_LISTENERS", "http://0.0.0.0:8083".into()),
            ("CONNECT_REST_ADVERTISED_HOST_NAME", key.clone()),
            ("CONNECT_GROUP_ID", format!("{}-connect", options.name)),
            ("CONNECT_CONFIG_STORAGE_TOPIC", "_connect-configs".into()),
            ("CONNECT_OFFSET_STORAGE_TOPIC", "_connect-offsets".into()),
            ("CONNECT_STATUS_STORAGE_TOPIC", "_connect-status".into()),
            ("CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            ("CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            ("CONNECT_STATUS_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            (
                "CONNECT_KEY_CONVERTER",
                "org.apache.kafka.connect.json.JsonConverter".into(),
            ),
            (
                "CONNECT_VALUE_CONVERTER",
                "org.apache.kafka.connect.json.JsonConverter".into(),
            ),
            ("CONNECT_PLUGIN_PATH", "/usr/share/java".into()),
            ("KAFKA_HEAP_OPTS", heap.clone()),
        ]);
        let mut command = Vec::new();
        if set == ImageSet::Apache {
            // apache/kafka has no Connect entrypoint: write the worker
            // properties from CONNECT_* (same convention) and run it.
            command = vec![
                "/bin/sh".into(),
                "-c".into(),
                "env | sed -n 's/^CONNECT_//p' | while IFS='=' read -r k v; do echo \"$(echo \"$k\" | tr 'A-Z_' 'a-z.')=$v\"; done > /tmp/connect.properties && exec /opt/kafka/bin/connect-distributed.sh /tmp/connect.properties".into(),
            ];
        }
        environment.insert(
            "CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE".into(),
            "false".into(),
        );
        services.push(ServiceSpec {
            container_name: options.container_name(&key),
            key,
            role: Role::Connect,
            image: image.clone(),
            command,
            environment,
            ports: vec![port(net.connect_port, 8083)],
            volumes: Vec::new(),
            healthcheck: health(
                &["CMD-SHELL", "curl -fsS http://localhost:8083/"],
                10,
                30,
                20,
            ),
            depends_on: broker_keys.clone(),
        });
    }

    if let Some(image) = &ksql_image {
        let key = "ksqldb".to_string();
        let mut environment = env(&[
            ("KSQL_BOOTSTRAP_SERVERS", internal_bootstrap.clone()),
            ("KSQL_LISTENERS", "http://0.0.0.0:8088".into()),
            ("KSQL_KSQL_SERVICE_ID", format!("{}_ksql_", options.name)),
            ("KSQL_HEAP_OPTS", heap.clone()),
        ]);
        if registry_image.is_some() {
            environment.insert(
                "KSQL_KSQL_SCHEMA_REGISTRY_URL".into(),
                "http://schema-registry:8081".into(),
            );
        }
        services.push(ServiceSpec {
            container_name: options.container_name(&key),
            key,
            role: Role::Ksqldb,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![port(net.ksqldb_port, 8088)],
            volumes: Vec::new(),
            healthcheck: health(
                &["CMD-SHELL", "curl -fsS http://localhost:8088/info"],
                10,
                30,
                30,
            ),
            depends_on: broker_keys.clone(),
        });
    }

    if let Some(image) = &ui_image {
        let key = "kafka-ui".to_string();
        let mut environment = env(&[
            ("KAFKA_CLUSTERS_0_NAME", format!("{}-cluster", options.name)),
            (
                "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS",
                internal_bootstrap.clone(),
            ),
            ("DYNAMIC_CONFIG_ENABLED", "true".into()),
        ]);
        let mut depends_on = broker_keys.clone();
        if registry_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_SCHEMAREGISTRY".into(),
                "http://schema-registry:8081".into(),
            );
            depends_on.push("schema-registry".into());
        }
        if connect_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME".into(),
                "connect".into(),
            );
            environment.insert(
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS".into(),
                "http://kafka-connect:8083".into(),
            );
            depends_on.push("kafka-connect".into());
        }
        if ksql_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_KSQLDBSERVER".into(),
                "http://ksqldb:8088".into(),
            );
        }
        services.push(ServiceSpec {
            container_name: options.container_name(&key),
            key,
            role: Role::Ui,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![port(net.ui_port, 8080)],
            volumes: Vec::new(),
            healthcheck: health(
                &[
                    "CMD-SHELL",
                    "wget -qO- http://localhost:8080/actuator/health",
                ],
                10,
                30,
                30,
            ),
            depends_on,
        });
    }

    if let Some(image) = &redis_image {
        let key = "redis".to_string();
        let data = vol(&key, "data");
        volumes.push(data.clone());
        services.push(ServiceSpec {
            container_name: options.container_name(&key),
            key,
            role: Role::Redis,
            image: image.clone(),
            command: match set {
                // The local image's entrypoint is redis-server itself.
                ImageSet::Local => ["--bind", "0.0.0.0", "--protected-mode", "no"]
                    .into_iter()
                    .chain(["--appendonly", "yes", "--dir", "/data"])
                    .map(String::from)
                    .collect(),
                _ => ["redis-server", "--appendonly", "yes", "--dir", "/data"]
                    .map(String::from)
                    .to_vec(),
            },
            environment: BTreeMap::new(),
            ports: vec![port(net.redis_port, 6379)],
            volumes: vec![VolumeMount {
                volume: data,
                target: "/data".into(),
            }],
            healthcheck: health(&["CMD", "redis-cli", "ping"], 5, 10, 5),
            depends_on: Vec::new(),
        });
    }
    Topology {
        options: options.clone(),
        network: options.network_name(),
        volumes,
        services,
        bootstrap_servers: config.bootstrap_servers(),
        internal_bootstrap_servers: internal_bootstrap,
        skipped,
        ports: config.network.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Topology {
        build(&ClusterConfig::default(), &StackOptions::default())
    }

    #[test]
    fn local_topology_has_the_seed_names_and_ports() {
        let t = seed();
        assert_eq!(t.network, "tda-kafka-network");
        let names = t.container_names();
        for n in [
            "tda_kafka_1",
            "tda_kafka_2",
            "tda_kafka_3",
            "tda_schema_registry",
            "tda_kafka_connect",
            "tda_redis",
        ] {
            assert!(names.contains(&n.to_string()), "{n} missing in {names:?}");
        }
        // No local image for the UI and ksqlDB: skipped, with the reason.
        assert!(t.service("kafka-ui").is_none() && t.service("ksqldb").is_none());
        assert_eq!(t.skipped.len(), 2);
        let k1 = t.service("kafka-1").unwrap();
        let host_ports: Vec<u16> = k1.ports.iter().map(|p| p.host_port).collect();
        assert_eq!(host_ports, vec![19092, 9101]);
        assert!(k1.ports.iter().all(|p| p.host_ip == "127.0.0.1"));
        assert_eq!(
            k1.environment["KAFKA_ADVERTISED_LISTENERS"],
            "INTERNAL://kafka-1:9092,EXTERNAL://127.0.0.1:19092"
        );
        assert_eq!(
            k1.environment["KAFKA_CONTROLLER_QUORUM_VOTERS"],
            "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        );
        assert_eq!(k1.environment["KAFKA_HEAP_OPTS"], "-Xmx512m -Xms512m");
        assert_eq!(
            t.internal_bootstrap_servers,
            "kafka-1:9092,kafka-2:9092,kafka-3:9092"
        );
        assert_eq!(
            t.registry_url().as_deref(),
            Some("http://127.0.0.1:8081/apis/ccompat/v7")
        );
    }

    #[test]
    fn confluent_set_runs_zookeeper_and_every_service() {
        let opts = StackOptions {
            image_set: ImageSet::Confluent,
            ..StackOptions::default()
        };
        let t = build(&ClusterConfig::default(), &opts);
        assert!(t.skipped.is_empty());
        for key in ["zookeeper-1", "zookeeper-3", "kafka-ui", "ksqldb"] {
            assert!(t.service(key).is_some(), "{key}");
        }
        let k2 = t.service("kafka-2").unwrap();
        assert_eq!(k2.environment["KAFKA_BROKER_ID"], "2");
        assert!(!k2.environment.contains_key("KAFKA_PROCESS_ROLES"));
        assert_eq!(
            k2.environment["KAFKA_ZOOKEEPER_CONNECT"],
            "zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181"
        );
        assert_eq!(k2.depends_on.len(), 3);
    }

    #[test]
    fn env_names_follow_the_image_convention() {
        assert_eq!(property_env_name("KAFKA_", "log.dirs"), "KAFKA_LOG_DIRS");
        assert_eq!(property_env_name("KAFKA_", "a_b.c-d"), "KAFKA_A__B_C___D");
    }

    #[test]
    fn cluster_id_is_stable_22_chars_and_per_stack() {
        let a = StackOptions::default().cluster_id();
        assert_eq!(a.len(), 22);
        assert_eq!(a, StackOptions::default().cluster_id());
        let b = StackOptions {
            name: "other".into(),
            ..StackOptions::default()
        }
        .cluster_id();
        assert_ne!(a, b);
    }

    #[test]
    fn profiles_select_services() {
        let core = Services::profile("core").unwrap();
        assert!(core.schema_registry && !core.connect && !core.redis);
        let mut s = Services::all();
        assert!(s.disable("ksqldb"));
        assert!(!s.ksqldb);
        assert!(!s.disable("nope"));
    }
}
