//! The seed's Docker topology as typed data.
//!
//! One [`Topology`] value is both provisioned through the engine API
//! ([`super::DockerProvider`]) and rendered as a docker-compose file
//! ([`super::compose`]), so the two cannot drift.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Serialize, Serializer};
use tda_kafka_config::{ClusterConfig, NetworkConfig, SecretString, ZookeeperConfig};

use super::images::{ImageRefs, ImageSet};
use super::tls::StackTls;

mod brokers;
mod security;
mod services;
mod zookeeper;

pub use brokers::{
    property_env_name, SECRETS_MOUNT_DIR, SECRET_PROPERTIES_ENV, SECRET_PROPERTIES_FILE,
};
pub use security::{
    CONNECT_SECRETS_FILE, CONSOLE_CA_FILE, CONSOLE_ENV_FILE, FORMAT_ARGS_ENV, FORMAT_ARGS_FILE,
};
pub use zookeeper::ZOOKEEPER_CLIENT_PORT;

/// Label put on every container, network and volume of a stack (value: the stack name).
pub const STACK_LABEL: &str = "io.tda-kafka.stack";
/// Label naming the topology service of a container.
pub const SERVICE_LABEL: &str = "io.tda-kafka.service";
/// Label naming the image set a container was created from.
pub const IMAGE_SET_LABEL: &str = "io.tda-kafka.image-set";
/// Label holding the stack's port layout (`NetworkConfig` as JSON, no secrets),
/// so `status`/`stop` describe a running stack without its configuration files.
pub const NETWORK_LABEL: &str = "io.tda-kafka.network";
/// Label of a ZooKeeper-mode stack's containers: the ensemble's settings
/// (`ZookeeperConfig` as JSON), so `status`/`stop` know the mode and its
/// nodes without the configuration that started it.
pub const ZOOKEEPER_LABEL: &str = "io.tda-kafka.zookeeper";

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
    /// The UI (`tda_kafka_ui`): Kafka UI in the public sets, our web console
    /// (`tda-kafka ui`) in the `local` set.
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
    /// JVM heap of every container (`-Xmx`/`-Xms`), e.g. `512m`; the
    /// ZooKeeper nodes get the local provider's smaller one.
    pub heap: String,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            name: "tda".into(),
            image_set: ImageSet::Local,
            services: Services::all(),
            heap: "512m".into(),
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
    /// Files holding secrets (e.g. the broker's passwords), bind-mounted
    /// read-only; secrets are never in `environment`.
    pub secret_files: Vec<SecretFile>,
}

/// A file that holds secrets: written on the host readable by its owner only
/// (mode 0600, in [`secrets_dir`]) and bind-mounted read-only into the
/// container. `Debug` and `Serialize` show the contents as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The path under the stack's [`secrets_dir`], e.g.
    /// `kafka-1/server-secrets.properties`.
    pub host_file: String,
    /// The mount point in the container.
    pub target_path: String,
    /// The file's text.
    pub contents: SecretString,
}

impl SecretFile {
    /// The file on the host for stack `stack`.
    pub fn host_path(&self, stack: &str) -> PathBuf {
        secrets_dir(stack).join(&self.host_file)
    }
}

impl Serialize for SecretFile {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SecretFile", 3)?;
        st.serialize_field("host_file", &self.host_file)?;
        st.serialize_field("target_path", &self.target_path)?;
        st.serialize_field("contents", "***")?;
        st.end()
    }
}

/// The host directory of stack `stack`'s secret files:
/// `<data root>/docker/<stack>/secrets` (one subdirectory per service).
pub fn secrets_dir(stack: &str) -> PathBuf {
    crate::dist::data_root()
        .join("docker")
        .join(stack)
        .join("secrets")
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
    /// The ensemble's settings in ZooKeeper mode (the configuration's
    /// metadata mode); `None` in KRaft mode.
    pub zookeeper: Option<ZookeeperConfig>,
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

    /// The schema registry's Confluent-compatible URL on the host, if it
    /// runs: the root for Confluent's registry and the `local` set's proxy,
    /// `/apis/ccompat/v7` for the public Apicurio image.
    pub fn registry_url(&self) -> Option<String> {
        let s = self
            .services
            .iter()
            .find(|s| s.role == Role::SchemaRegistry)?;
        let p = s.ports.first()?;
        let path = match self.options.image_set {
            ImageSet::Confluent | ImageSet::Local => "",
            ImageSet::Apache => "/apis/ccompat/v7",
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

/// What the builders share: the configuration, the options and derived values.
struct Cx<'a> {
    config: &'a ClusterConfig,
    options: &'a StackOptions,
    set: ImageSet,
    images: ImageRefs,
    host: String,
    heap: String,
    brokers: Vec<u16>,
    internal_bootstrap: String,
    /// The TLS material of a generated secured cluster (at `start` only).
    tls: Option<&'a StackTls>,
}

impl Cx<'_> {
    /// The name of volume `what` of service `key`.
    fn vol(&self, key: &str, what: &str) -> String {
        format!("{}_{}_{what}", self.options.name, key.replace('-', "_"))
    }

    /// `host_port` on the host address, published to `container_port`.
    fn port(&self, host_port: u16, container_port: u16) -> PortSpec {
        PortSpec {
            host_ip: self.host.clone(),
            host_port,
            container_port,
        }
    }
}

/// What the builders add to.
#[derive(Default)]
struct Parts {
    services: Vec<ServiceSpec>,
    volumes: Vec<String>,
    skipped: Vec<String>,
}

/// Builds the topology of `config` (brokers, ports, broker settings) placed
/// by `options`, without TLS material (see [`build_secured`]).
pub fn build(config: &ClusterConfig, options: &StackOptions) -> Topology {
    build_secured(config, options, None)
}

/// [`build`] with the TLS material of a generated secured cluster, in the
/// services' secret files (what `start` provisions).
pub fn build_secured(
    config: &ClusterConfig,
    options: &StackOptions,
    tls: Option<&StackTls>,
) -> Topology {
    let brokers: Vec<u16> = config.node_ids().collect();
    let internal_bootstrap = brokers
        .iter()
        .map(|n| format!("kafka-{n}:{INTERNAL_KAFKA_PORT}"))
        .collect::<Vec<_>>()
        .join(",");
    let cx = Cx {
        config,
        options,
        set: options.image_set,
        images: options.image_set.images(),
        host: config.network.host.clone(),
        heap: format!("-Xmx{0} -Xms{0}", options.heap),
        brokers,
        internal_bootstrap,
        tls,
    };
    let mut out = Parts::default();
    let zk_keys = zookeeper::zookeepers(&cx, &mut out);
    brokers::brokers(&cx, &zk_keys, &mut out);
    let broker_keys: Vec<String> = cx.brokers.iter().map(|n| format!("kafka-{n}")).collect();
    services::companions(&cx, &broker_keys, &mut out);
    security::connect(&cx, &mut out.services);
    security::console(&cx, &mut out.services);
    Topology {
        options: options.clone(),
        network: options.network_name(),
        volumes: out.volumes,
        services: out.services,
        bootstrap_servers: config.bootstrap_servers(),
        internal_bootstrap_servers: cx.internal_bootstrap,
        skipped: out.skipped,
        ports: config.network.clone(),
        zookeeper: config.uses_zookeeper().then(|| config.zookeeper.clone()),
    }
}

#[cfg(test)]
mod tests;
