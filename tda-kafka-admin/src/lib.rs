//! Admin operations for the TDA Kafka cluster.
//!
//! [`Admin`] wraps an rdkafka admin client built from
//! [`tda_kafka_config::ClientProperties`]. Every call is bounded by a timeout
//! and reports which cluster it could not reach.
//!
//! Invariants: this crate never spawns processes or shells out to Kafka's
//! Java tools; it speaks the Kafka protocol only.

mod client;
mod error;
mod topics;

pub use client::{Admin, BrokerInfo, ClusterMetadata};
pub use error::AdminError;
pub use topics::EnsureOutcome;

/// Result type of this crate.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;
