//! The seed's Docker topology as typed data.
//!
//! One [`Topology`] value is both provisioned through the engine API
//! ([`super::DockerProvider`]) and rendered as a docker-compose file
//! ([`super::compose`]), so the two cannot drift.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Serialize, Serializer};
use tda_kafka_config::{ClusterConfig, NetworkConfig, SecretString};

use super::images::{ImageRefs, ImageSet};
use super::tls::StackTls;

mod brokers;
mod security;
mod services;

pub use brokers::{
    property_env_name, SECRETS_MOUNT_DIR, SECRET_PROPERTIES_ENV, SECRET_PROPERTIES_FILE,
};
pub use security::{CONNECT_SECRETS_FILE, FORMAT_ARGS_ENV, FORMAT_ARGS_FILE};

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
    let zk_keys = brokers::zookeepers(&cx, &mut out);
    brokers::brokers(&cx, &zk_keys, &mut out);
    let broker_keys: Vec<String> = cx.brokers.iter().map(|n| format!("kafka-{n}")).collect();
    services::companions(&cx, &broker_keys, &mut out);
    security::connect(&cx, &mut out.services);
    Topology {
        options: options.clone(),
        network: options.network_name(),
        volumes: out.volumes,
        services: out.services,
        bootstrap_servers: config.bootstrap_servers(),
        internal_bootstrap_servers: cx.internal_bootstrap,
        skipped: out.skipped,
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
            "tda_kafka_ui",
        ] {
            assert!(names.contains(&n.to_string()), "{n} missing in {names:?}");
        }
        // No local image for ksqlDB: skipped, with the reason.
        assert!(t.service("ksqldb").is_none());
        assert_eq!(t.skipped.len(), 1, "{:?}", t.skipped);
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
        // The registry at the seed's root URL, its H2 database on a volume.
        assert_eq!(t.registry_url().as_deref(), Some("http://127.0.0.1:8081"));
        let reg = t.service("schema-registry").unwrap();
        assert_eq!(reg.image, super::super::images::local::SCHEMA_REGISTRY);
        assert_eq!(reg.volumes[0].volume, "tda_schema_registry_data");
        assert!(t.volumes.contains(&"tda_schema_registry_data".to_string()));
        assert_eq!(reg.environment["QUARKUS_HTTP_HOST"], "127.0.0.1");
        // Connect: FileStream plugins on its plugin path, the profile's RF,
        // the configuration's group.
        let connect = t.service("kafka-connect").unwrap();
        assert_eq!(
            connect.environment["CONNECT_PLUGIN_PATH"],
            "/opt/kafka/plugins"
        );
        assert_eq!(connect.environment["CONNECT_GROUP_ID"], "tda-connect");
        assert_eq!(
            connect.environment["CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR"],
            "3"
        );
        // The console: in-network names, published on loopback only.
        let ui = t.service("kafka-ui").unwrap();
        assert_eq!(ui.image, super::super::images::local::CONSOLE);
        assert_eq!(
            ui.command,
            [
                "--listen=0.0.0.0:8080",
                "--published=127.0.0.1:8080",
                "--bootstrap=kafka-1:9092,kafka-2:9092,kafka-3:9092",
                "--connect=http://kafka-connect:8083",
                "--registry=http://schema-registry:8081",
            ]
        );
        assert_eq!(ui.ports[0].host_ip, "127.0.0.1");
        assert_eq!(ui.ports[0].host_port, 8080);
        assert!(ui.environment.is_empty());
    }

    #[test]
    fn connect_replication_is_fitted_to_one_broker() {
        let c = ClusterConfig {
            broker_count: 1,
            ..ClusterConfig::default()
        };
        let t = build(&c, &StackOptions::default());
        let connect = t.service("kafka-connect").unwrap();
        assert_eq!(
            connect.environment["CONNECT_STATUS_STORAGE_REPLICATION_FACTOR"],
            "1"
        );
    }

    #[test]
    fn brokers_profile_has_no_service_container() {
        let opts = StackOptions {
            services: Services::profile("brokers").unwrap(),
            ..StackOptions::default()
        };
        let t = build(&ClusterConfig::default(), &opts);
        assert!(t.services.iter().all(|s| matches!(s.role, Role::Broker(_))));
        assert!(t.skipped.is_empty());
        let core = StackOptions {
            services: Services::profile("core").unwrap(),
            ..StackOptions::default()
        };
        let keys: Vec<String> = build(&ClusterConfig::default(), &core)
            .services
            .iter()
            .map(|s| s.key.clone())
            .collect();
        assert_eq!(keys, ["kafka-1", "kafka-2", "kafka-3", "schema-registry"]);
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

    fn ssl(password: &str) -> ClusterConfig {
        let mut c = ClusterConfig::default();
        c.security.protocol = tda_kafka_config::SecurityProtocol::Ssl;
        c.security.ssl_keystore_location = Some("/certs/k.jks".into());
        c.security.ssl_keystore_password = Some(SecretString::new(password));
        c.security.ssl_key_password = Some(SecretString::new(password));
        c.security.ssl_truststore_location = Some("/certs/t.jks".into());
        c.security.ssl_truststore_password = Some(SecretString::new(password));
        c
    }

    #[test]
    fn broker_secrets_are_files_never_environment() {
        let sentinel = "Sentinel-Pa55-topology";
        for set in ImageSet::ALL {
            let opts = StackOptions {
                image_set: set,
                ..StackOptions::default()
            };
            let t = build(&ssl(sentinel), &opts);
            for shown in [
                format!("{t:?}"),
                format!("{t:#?}"),
                serde_json::to_string(&t).unwrap(),
            ] {
                assert!(!shown.contains(sentinel), "{set}: {shown}");
            }
            for s in &t.services {
                assert!(
                    s.environment.values().all(|v| !v.contains(sentinel)),
                    "{set} {}",
                    s.key
                );
            }
            let k1 = t.service("kafka-1").unwrap();
            assert_eq!(
                k1.environment["KAFKA_SSL_KEYSTORE_LOCATION"],
                "/certs/k.jks"
            );
            let [file] = k1.secret_files.as_slice() else {
                panic!("{set}: one secret file expected: {:?}", k1.secret_files);
            };
            assert_eq!(file.host_file, "kafka-1/server-secrets.properties");
            assert_eq!(
                file.target_path,
                "/run/secrets/tda-kafka/server-secrets.properties"
            );
            assert!(file
                .host_path("tda")
                .ends_with("docker/tda/secrets/kafka-1/server-secrets.properties"));
            assert!(file
                .contents
                .expose()
                .contains(&format!("ssl.keystore.password={sentinel}\n")));
            let reference = k1.environment.get("KAFKA_SSL_KEYSTORE_PASSWORD");
            match set {
                ImageSet::Local => {
                    assert_eq!(reference, None);
                    assert_eq!(
                        k1.environment[SECRET_PROPERTIES_ENV],
                        file.target_path
                    );
                }
                _ => assert_eq!(
                    reference.map(String::as_str),
                    Some("${file:/run/secrets/tda-kafka/server-secrets.properties:ssl.keystore.password}")
                ),
            }
        }
        // No secrets, no file.
        assert!(seed().services.iter().all(|s| s.secret_files.is_empty()));
    }
}
