//! The TDA Kafka cluster and topic model.
//!
//! This crate holds the typed configuration of a TDA Kafka cluster: the
//! `kafka.env` settings, the development / staging / production profiles, the
//! TDA topic architecture and the security settings. It validates them and
//! lowers them explicitly into broker `server.properties` and client
//! properties.
//!
//! Invariant: this crate performs no network IO and does not link librdkafka.
//! Other crates turn [`ClientProperties`] into an `rdkafka::ClientConfig`.
//!
//! Loading is layered — built-in defaults < profile < topics file < env file
//! < process environment < explicit overrides — and every effective value
//! keeps its source ([`Provenance`]). Every problem is reported at once in a
//! [`ValidationReport`]:
//!
//! ```
//! use tda_kafka_config::ConfigLoader;
//!
//! let loaded = ConfigLoader::new()
//!     .env_text("kafka.env", "ENVIRONMENT=staging\nKAFKA_HEAP_OPTS=\"-Xmx8g -Xms8g\"\n")
//!     .load()
//!     .unwrap();
//! assert_eq!(loaded.config.heap_flags(), "-Xmx8g -Xms8g");
//! assert_eq!(loaded.provenance.source("KAFKA_HEAP_OPTS").to_string(), "kafka.env:2");
//! assert_eq!(loaded.provenance.source("KAFKA_NUM_PARTITIONS").to_string(), "profile staging");
//!
//! let bad = ConfigLoader::new()
//!     .env_text("kafka.env", "KAFKA_BROKER_COUNT=three\nKAFKA_BROKR_COUNT=3\n")
//!     .check();
//! let shown: Vec<String> = bad.report.errors().map(|i| i.to_string()).collect();
//! assert_eq!(shown, [
//!     "kafka.env:1: KAFKA_BROKER_COUNT: invalid value \"three\": expected a positive integer",
//!     "kafka.env:2: KAFKA_BROKR_COUNT: unknown key (did you mean KAFKA_BROKER_COUNT?)",
//! ]);
//! ```

mod acl;
mod cluster;
mod envfile;
mod environment;
mod error;
pub mod keys;
mod loader;
mod redact;
mod render;
mod report;
mod security;
mod services;
mod topic;
mod topics_file;
mod validate;
mod zookeeper;

pub use acl::{principals, AclBinding, AclOperation, AclResource, Role, TopicAccess};
pub use cluster::{ClusterConfig, NetworkConfig, Replication};
pub use environment::Environment;
pub use error::ConfigError;
pub use redact::redact_quoted;
pub use render::{is_secret_property, ClientProperties, NodeTls, Properties};
pub use security::{
    scram_value_error, HostnameVerification, SaslMechanism, ScramCredential, SecretString,
    SecurityConfig, SecurityProtocol, GENERATED_CA_FILE, GENERATED_CA_KEY_FILE,
};
pub use services::ServicesConfig;
pub use topic::{CleanupPolicy, TopicSpec, TDA_TOPICS};

pub use envfile::{parse_env, quote_env_value, EnvEntry, EnvSyntaxError, ParsedEnv};
pub use loader::{ConfigLoader, LoadedConfig, Provenance, Setting, Source, TopicOrigin};
pub use report::{Issue, Severity, ValidationReport};
pub use topics_file::{TopicsFile, TOPICS_FILE_VERSION};
pub use validate::{topic_name_error, validate, validate_with, MAX_TOPIC_NAME_LEN};
pub use zookeeper::{
    zookeeper_connect_of, MetadataMode, ZookeeperConfig, ZOOKEEPER_4LW, ZOOKEEPER_CHROOT,
};
