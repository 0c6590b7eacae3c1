use serde::{Deserialize, Serialize};

use crate::topic::tda_architecture;
use crate::{
    Environment, MetadataMode, SecurityConfig, ServicesConfig, TopicSpec, ZookeeperConfig,
};

/// Addresses and ports of the cluster and its companion services.
///
/// Node `i` (1-based) listens for clients on `kafka_base_port + i - 1` and for
/// the controller quorum on `controller_base_port + i - 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Address the brokers bind to and advertise to clients on the host.
    pub host: String,
    /// First external client port (the seed's 19092).
    pub kafka_base_port: u16,
    /// First KRaft controller port.
    pub controller_base_port: u16,
    /// First JMX port (the seed's 9101); `0` disables JMX.
    pub jmx_base_port: u16,
    /// Schema Registry port (the seed's 8081).
    pub schema_registry_port: u16,
    /// Port of the registry process behind the stack's root-path proxy
    /// (Apicurio serves the Confluent API only under `/apis/ccompat/v7`;
    /// the proxy on `schema_registry_port` also serves it at `/`).
    #[serde(default = "default_registry_internal_port")]
    pub schema_registry_internal_port: u16,
    /// Kafka Connect REST port (the seed's 8083).
    pub connect_port: u16,
    /// Kafka UI port (the seed's 8080).
    pub ui_port: u16,
    /// ksqlDB server port (the seed's 8088).
    pub ksqldb_port: u16,
    /// Redis port (the seed's 6379).
    pub redis_port: u16,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            kafka_base_port: 19092,
            controller_base_port: 19192,
            jmx_base_port: 9101,
            schema_registry_port: 8081,
            schema_registry_internal_port: default_registry_internal_port(),
            connect_port: 8083,
            ui_port: 8080,
            ksqldb_port: 8088,
            redis_port: 6379,
        }
    }
}

fn default_registry_internal_port() -> u16 {
    18081
}

impl NetworkConfig {
    /// The external client port of node `node_id` (1-based).
    pub fn kafka_port(&self, node_id: u16) -> u16 {
        self.kafka_base_port + node_id - 1
    }

    /// The controller port of node `node_id` (1-based).
    pub fn controller_port(&self, node_id: u16) -> u16 {
        self.controller_base_port + node_id - 1
    }

    /// The JMX port of node `node_id`, if JMX is enabled.
    pub fn jmx_port(&self, node_id: u16) -> Option<u16> {
        (self.jmx_base_port != 0).then(|| self.jmx_base_port + node_id - 1)
    }
}

/// A replication factor and min ISR that fit a broker count (see
/// [`ClusterConfig::replication_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Replication {
    /// Replicas per partition.
    pub factor: i16,
    /// `min.insync.replicas`.
    pub min_insync_replicas: i16,
}

impl Replication {
    /// Fits `factor` and `min_insync_replicas` to `brokers` brokers: the factor
    /// drops to the broker count, and min ISR drops by as much as the factor
    /// did (so the profile's tolerance of brokers down is kept where it can
    /// be), never below 1 nor above the factor. A factor that already fits is
    /// unchanged; a min ISR above the factor is lowered to it.
    pub fn fit(factor: i16, min_insync_replicas: i16, brokers: u16) -> Self {
        let n = i16::try_from(brokers).unwrap_or(i16::MAX).max(1);
        let factor = factor.max(1);
        let fitted = factor.min(n);
        let lowered_by = factor - fitted;
        let min_insync_replicas = (min_insync_replicas - lowered_by).clamp(1, fitted);
        Self {
            factor: fitted,
            min_insync_replicas,
        }
    }
}

/// The whole cluster model: every `kafka.env` setting, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// `ENVIRONMENT`.
    pub environment: Environment,
    /// `KAFKA_BROKER_COUNT`.
    pub broker_count: u16,
    /// `KAFKA_DEFAULT_PARTITIONS`: partitions of topics created by our tools
    /// without an explicit count.
    pub default_partitions: i32,
    /// `KAFKA_NUM_PARTITIONS`: the broker's `num.partitions`.
    pub num_partitions: i32,
    /// `KAFKA_DEFAULT_REPLICATION_FACTOR`.
    pub default_replication_factor: i16,
    /// `KAFKA_MIN_INSYNC_REPLICAS`.
    pub min_insync_replicas: i16,
    /// `KAFKA_HEAP_SIZE`, e.g. `2G`; sets `-Xmx` and `-Xms`.
    pub heap_size: String,
    /// `KAFKA_HEAP_OPTS`; when set it replaces the flags derived from `heap_size`.
    pub heap_opts: Option<String>,
    /// `KAFKA_JVM_PERFORMANCE_OPTS`.
    pub jvm_performance_opts: String,
    /// `KAFKA_NUM_NETWORK_THREADS`.
    pub num_network_threads: u32,
    /// `KAFKA_NUM_IO_THREADS`.
    pub num_io_threads: u32,
    /// `KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS`.
    pub group_initial_rebalance_delay_ms: u32,
    /// `KAFKA_AUTO_CREATE_TOPICS_ENABLE`.
    pub auto_create_topics_enable: bool,
    /// `KAFKA_DELETE_TOPIC_ENABLE`: the broker's `delete.topic.enable`.
    pub delete_topic_enable: bool,
    /// Security settings.
    pub security: SecurityConfig,
    /// Listeners and service ports.
    pub network: NetworkConfig,
    /// Kafka Connect and Redis settings.
    #[serde(default)]
    pub services: ServicesConfig,
    /// `TDA_METADATA_MODE`: KRaft (the default) or ZooKeeper mode.
    #[serde(default)]
    pub metadata: MetadataMode,
    /// The ZooKeeper ensemble of ZooKeeper mode (`TDA_ZOOKEEPER_*`).
    #[serde(default)]
    pub zookeeper: ZookeeperConfig,
    /// The topic architecture (the TDA topics plus user topics).
    pub topics: Vec<TopicSpec>,
    /// `RECOVERY_MODE`: start on existing data and report what was recovered.
    #[serde(default)]
    pub recovery_mode: bool,
    /// `TDA_TOPICS_FILE`: the topics file merged into `topics`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics_file: Option<std::path::PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self::for_environment(Environment::Development)
    }
}

impl ClusterConfig {
    /// The built-in defaults of a profile: the seed's development settings,
    /// its production overrides, and staging in between.
    pub fn for_environment(environment: Environment) -> Self {
        let dev = Self {
            environment,
            broker_count: 3,
            default_partitions: 3,
            num_partitions: 3,
            default_replication_factor: 3,
            min_insync_replicas: 2,
            heap_size: "2G".into(),
            heap_opts: None,
            jvm_performance_opts: "-XX:+UseG1GC -XX:MaxGCPauseMillis=20".into(),
            num_network_threads: 8,
            num_io_threads: 8,
            group_initial_rebalance_delay_ms: 3000,
            auto_create_topics_enable: true,
            delete_topic_enable: true,
            security: SecurityConfig::default(),
            network: NetworkConfig::default(),
            services: ServicesConfig::default(),
            metadata: MetadataMode::Kraft,
            zookeeper: ZookeeperConfig::default(),
            topics: tda_architecture(),
            recovery_mode: false,
            topics_file: None,
        };
        match environment {
            Environment::Development => dev,
            Environment::Staging => Self {
                heap_size: "8G".into(),
                num_partitions: 6,
                auto_create_topics_enable: false,
                ..dev
            },
            Environment::Production => Self {
                heap_size: "32G".into(),
                num_partitions: 12,
                auto_create_topics_enable: false,
                delete_topic_enable: false,
                num_network_threads: 16,
                num_io_threads: 16,
                ..dev
            },
        }
    }

    /// The JVM heap flags: `KAFKA_HEAP_OPTS` if set, else `-Xmx<size> -Xms<size>`.
    pub fn heap_flags(&self) -> String {
        match &self.heap_opts {
            Some(opts) => opts.clone(),
            None => format!("-Xmx{0} -Xms{0}", self.heap_size),
        }
    }

    /// The profile's replication factor and min ISR fitted to `brokers`
    /// brokers ([`Replication::fit`]): what a topic created without explicit
    /// settings gets on a cluster of that size.
    pub fn replication_for(&self, brokers: u16) -> Replication {
        Replication::fit(
            self.default_replication_factor,
            self.min_insync_replicas,
            brokers,
        )
    }

    /// This configuration for a cluster of `brokers` brokers: sets the broker
    /// count and lowers the default replication factor and min ISR to fit it
    /// ([`ClusterConfig::replication_for`]); they are never raised.
    #[must_use]
    pub fn fit_to_brokers(mut self, brokers: u16) -> Self {
        let r = self.replication_for(brokers);
        self.broker_count = brokers;
        self.default_replication_factor = self.default_replication_factor.min(r.factor);
        self.min_insync_replicas = self.min_insync_replicas.min(r.min_insync_replicas);
        self
    }

    /// A topic with the profile's replication factor and min ISR filled in.
    pub fn effective_topic(&self, topic: &TopicSpec) -> TopicSpec {
        let mut t = topic.clone();
        t.replication_factor
            .get_or_insert(self.default_replication_factor);
        t.min_insync_replicas
            .get_or_insert(self.min_insync_replicas);
        t
    }

    /// All topics of the architecture with profile values filled in.
    pub fn effective_topics(&self) -> Vec<TopicSpec> {
        self.topics
            .iter()
            .map(|t| self.effective_topic(t))
            .collect()
    }

    /// The topic named `name`, if the architecture has it.
    pub fn topic(&self, name: &str) -> Option<&TopicSpec> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Node ids `1..=broker_count`.
    pub fn node_ids(&self) -> impl Iterator<Item = u16> {
        1..=self.broker_count
    }

    /// `host:port` of every broker's external listener, comma separated.
    pub fn bootstrap_servers(&self) -> String {
        self.node_ids()
            .map(|id| format!("{}:{}", self.network.host, self.network.kafka_port(id)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_applies_the_seed_overrides() {
        let p = ClusterConfig::for_environment(Environment::Production);
        assert_eq!(p.heap_size, "32G");
        assert_eq!(p.num_partitions, 12);
        assert!(!p.auto_create_topics_enable);
        assert!(!p.delete_topic_enable);
        assert_eq!((p.num_network_threads, p.num_io_threads), (16, 16));
        let d = ClusterConfig::default();
        assert!(d.auto_create_topics_enable);
        assert_eq!(d.heap_flags(), "-Xmx2G -Xms2G");
    }

    #[test]
    fn bootstrap_lists_every_broker() {
        let c = ClusterConfig::default();
        assert_eq!(
            c.bootstrap_servers(),
            "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
        );
    }

    fn fit(rf: i16, isr: i16, n: u16) -> (i16, i16) {
        let r = Replication::fit(rf, isr, n);
        (r.factor, r.min_insync_replicas)
    }

    #[test]
    fn replication_fits_the_broker_count() {
        // The seed's 3/2 on 3, 2 and 1 brokers: one broker may be down.
        assert_eq!(fit(3, 2, 3), (3, 2));
        assert_eq!(fit(3, 2, 2), (2, 1));
        assert_eq!(fit(3, 2, 1), (1, 1));
        // No headroom configured: none invented, only lowered to fit.
        assert_eq!(fit(3, 3, 2), (2, 2));
        // Already lower than the broker count: unchanged.
        assert_eq!(fit(1, 1, 3), (1, 1));
        assert_eq!(fit(2, 2, 5), (2, 2));
        // A min ISR above the factor is lowered to it; nonsense is floored at 1.
        assert_eq!(fit(2, 3, 3), (2, 2));
        assert_eq!(fit(0, 0, 0), (1, 1));
        assert_eq!(fit(5, 4, 1), (1, 1));
    }

    #[test]
    fn fit_to_brokers_sets_the_count_and_never_raises() {
        let one = ClusterConfig::default().fit_to_brokers(1);
        assert_eq!(
            (
                one.broker_count,
                one.default_replication_factor,
                one.min_insync_replicas
            ),
            (1, 1, 1)
        );
        assert!(crate::validate(&one).errors().next().is_none());
        let two = ClusterConfig::default().fit_to_brokers(2);
        assert_eq!(
            (two.default_replication_factor, two.min_insync_replicas),
            (2, 1)
        );
        let low = ClusterConfig {
            default_replication_factor: 1,
            min_insync_replicas: 1,
            ..ClusterConfig::default()
        }
        .fit_to_brokers(5);
        assert_eq!(
            (
                low.broker_count,
                low.default_replication_factor,
                low.min_insync_replicas
            ),
            (5, 1, 1)
        );
        assert_eq!(
            ClusterConfig::default().replication_for(3),
            Replication {
                factor: 3,
                min_insync_replicas: 2
            }
        );
    }

    #[test]
    fn effective_topic_takes_profile_replication() {
        let c = ClusterConfig::default();
        let t = c.effective_topic(c.topic("tda_jobs").unwrap());
        assert_eq!(t.replication_factor, Some(3));
        assert_eq!(t.topic_configs()["min.insync.replicas"], "2");
    }
}
