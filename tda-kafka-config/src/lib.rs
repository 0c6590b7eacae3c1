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
mod environment;
mod error;
mod render;
mod security;
mod topic;

pub use cluster::{ClusterConfig, NetworkConfig};
pub use environment::Environment;
pub use error::ConfigError;
pub use render::{ClientProperties, Properties};
pub use security::{SaslMechanism, SecretString, SecurityConfig, SecurityProtocol};
pub use topic::{CleanupPolicy, TopicSpec, TDA_TOPICS};
