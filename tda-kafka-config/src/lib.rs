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

mod cluster;
mod envfile;
mod environment;
mod error;
pub mod keys;
mod loader;
mod render;
mod report;
mod security;
mod topic;
mod topics_file;
mod validate;

pub use cluster::{ClusterConfig, NetworkConfig};
pub use environment::Environment;
pub use error::ConfigError;
pub use render::{ClientProperties, Properties};
pub use security::{SaslMechanism, SecretString, SecurityConfig, SecurityProtocol};
pub use topic::{CleanupPolicy, TopicSpec, TDA_TOPICS};

pub use envfile::{parse_env, quote_env_value, EnvEntry, EnvSyntaxError, ParsedEnv};
pub use loader::{ConfigLoader, LoadedConfig, Provenance, Setting, Source, TopicOrigin};
pub use report::{Issue, Severity, ValidationReport};
pub use topics_file::{TopicsFile, TOPICS_FILE_VERSION};
pub use validate::{topic_name_error, validate, validate_with, MAX_TOPIC_NAME_LEN};
