//! Running the TDA Kafka stack: fetch Apache Kafka and the schema registry,
//! start N KRaft nodes and the stack's services, wait until they are really
//! ready, create the TDA topics, check health, back up, recover and stop.
//!
//! A [`Provider`] is the stack's way of running, chosen once by [`select()`]:
//! [`local::LocalProvider`] runs JVM processes on this machine,
//! [`docker::DockerProvider`] runs containers on the local engine. Both
//! implement [`ClusterProvider`]; the operations in [`ops`] (start with
//! recovery, stop with backup, health) take any of them, so callers never
//! branch on which one runs. Reports are typed ([`StartReport`],
//! [`StopReport`], [`ClusterStatus`], [`ops::StackHealth`]); progress goes
//! through a [`Progress`] implementation.
//!
//! Invariants:
//! - this is the only crate that spawns JVMs or talks to Docker;
//! - it never prints: all output goes through [`Progress`] or return values;
//! - readiness is always a real check (metadata, a produce/consume round
//!   trip, an HTTP answer), never a log line or a fixed sleep, and every
//!   wait runs through one bounded, cancellable loop.

mod cluster_id;
pub mod dist;
pub mod docker;
mod error;
pub mod fault;
pub mod local;
pub mod ops;
mod poll;
mod progress;
mod provider;
pub mod ready;
pub mod registry_proxy;
mod select;
mod status;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;
pub mod tls;
mod topics;

pub use docker::Services;
pub use error::ClusterError;
pub use progress::{NoProgress, Progress, ProgressEvent, Step};
pub use provider::{
    ClusterProvider, ConsoleLaunch, Provider, StackMember, StartOptions, StartReport, StopMode,
    StopOptions, StopOutcome, StopReport,
};
pub use select::{select, Purpose, Selected, Selection, SelectionReason, StackTarget};
pub use status::{
    ClusterState, ClusterStatus, Endpoints, LogLocation, NodeStatus, ProcessState, ProviderKind,
    ServiceAddress, ServiceEndpoint, ServiceKind, ServiceStatus,
};

/// Result type of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
