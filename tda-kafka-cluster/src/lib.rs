//! Running the TDA Kafka cluster: fetch Apache Kafka and the schema registry,
//! start N KRaft nodes, wait until the cluster is really ready, create the
//! TDA topics, and stop it again.
//!
//! A [`ClusterProvider`] is one way of running the cluster:
//! [`local::LocalProvider`] runs the brokers as JVM processes on this machine
//! (no Docker needed). Every provider returns typed reports
//! ([`StartReport`], [`StopReport`], [`ClusterStatus`]) and reports progress
//! through a [`Progress`] implementation.
//!
//! Invariants:
//! - this is the only crate that spawns JVMs or talks to Docker;
//! - it never prints: all output goes through [`Progress`] or return values;
//! - readiness is always a real check (metadata, quorum, a produce/consume
//!   round trip, an HTTP answer), never a log line or a fixed sleep.

mod cluster_id;
pub mod dist;
pub mod docker;
mod error;
pub mod local;
mod progress;
mod provider;
pub mod ready;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;
mod topics;

pub use error::ClusterError;
pub use progress::{NoProgress, Progress, ProgressEvent, Step};
pub use provider::{
    ClusterProvider, ClusterState, ClusterStatus, Endpoints, NodeStatus, ProcessState,
    ServiceEndpoint, ServiceStatus, StartOptions, StartReport, StopMode, StopOptions, StopOutcome,
    StopReport,
};

/// Result type of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
