//! The provider abstraction: what every way of running the cluster (local
//! JVMs, Docker containers) offers, and the typed results it returns.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tda_kafka_admin::EnsureOutcome;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::{Progress, Result};

/// Options of [`ClusterProvider::start`].
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Wipe all data and reformat before starting (`--clean`).
    pub clean: bool,
    /// Create the TDA topics after readiness (off with `--no-topics`).
    pub create_topics: bool,
    /// Start the schema registry too (off with `--no-registry`).
    pub registry: bool,
    /// Fetch the distributions (or images) again even if cached (`--pull`).
    pub refetch: bool,
    /// Upper bound on waiting for readiness.
    pub ready_timeout: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clean: false,
            create_topics: true,
            registry: true,
            refetch: false,
            ready_timeout: Duration::from_secs(240),
        }
    }
}

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StopMode {
    /// SIGTERM (controlled shutdown), wait up to the bound, then SIGKILL.
    #[default]
    Graceful,
    /// SIGKILL at once.
    Force,
}

/// Options of [`ClusterProvider::stop`].
#[derive(Debug, Clone)]
pub struct StopOptions {
    /// Graceful or forced.
    pub mode: StopMode,
    /// Delete the cluster's data after stopping (`--remove-volumes`, `--clean-all`).
    pub remove_data: bool,
    /// Remove containers (Docker only; the local provider reports it as not applicable).
    pub remove_containers: bool,
    /// How long a graceful stop may take per process before it is killed.
    pub graceful_timeout: Duration,
}

impl Default for StopOptions {
    fn default() -> Self {
        Self {
            mode: StopMode::Graceful,
            remove_data: false,
            remove_containers: false,
            graceful_timeout: Duration::from_secs(60),
        }
    }
}

/// The overall state of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    /// Every node is running and listening.
    Running,
    /// Some nodes run, others do not (or are not listening yet).
    Partial,
    /// No node runs.
    Stopped,
    /// The cluster was never started with this data dir / project.
    NotCreated,
}

impl std::fmt::Display for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Partial => "partial",
            Self::Stopped => "stopped",
            Self::NotCreated => "not created",
        })
    }
}

/// The state of one managed process (a Kafka node or a service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ProcessState {
    /// The process runs and its port accepts connections.
    Running {
        /// Process id (or container id prefix for Docker, as text).
        pid: u32,
    },
    /// The process runs but its port does not accept connections (yet).
    NotListening {
        /// Process id.
        pid: u32,
    },
    /// Not running.
    Stopped,
    /// A PID file names a process that is gone or is not ours.
    StalePid {
        /// The recorded process id.
        pid: u32,
    },
}

impl ProcessState {
    /// Whether the process is alive (listening or not).
    pub fn is_alive(&self) -> bool {
        matches!(self, Self::Running { .. } | Self::NotListening { .. })
    }

    /// The live process id.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Self::Running { pid } | Self::NotListening { pid } => Some(*pid),
            _ => None,
        }
    }
}

impl std::fmt::Display for ProcessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Running { pid } => write!(f, "running (pid {pid})"),
            Self::NotListening { pid } => write!(f, "not listening (pid {pid})"),
            Self::Stopped => f.write_str("stopped"),
            Self::StalePid { pid } => write!(f, "stopped (stale pid file: {pid})"),
        }
    }
}

/// Status of one Kafka node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// Node id (1-based).
    pub node_id: u16,
    /// Process state.
    pub state: ProcessState,
    /// `host:port` of its client listener.
    pub address: String,
    /// `host:port` of its controller listener.
    pub controller_address: String,
    /// Its log file (local provider) or container name (Docker).
    pub log: String,
}

/// Status of a companion service (the schema registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// e.g. `schema-registry`.
    pub name: String,
    /// Process state.
    pub state: ProcessState,
    /// Its base URL.
    pub url: String,
    /// Its log file or container name.
    pub log: String,
}

/// A service address to show to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEndpoint {
    /// Service name, e.g. `Schema Registry`.
    pub name: String,
    /// URL or `host:port`.
    pub address: String,
    /// What it is for.
    pub description: String,
}

/// Where clients connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Endpoints {
    /// Bootstrap servers for clients on this host, e.g. `127.0.0.1:19092,...`.
    pub bootstrap_servers: String,
    /// Bootstrap servers for clients inside a container network (Docker only).
    pub internal_bootstrap_servers: Option<String>,
    /// The Confluent-compatible schema registry URL (`.../apis/ccompat/v7`), if it runs.
    pub schema_registry_url: Option<String>,
    /// Further services (JMX ports, UIs, ...).
    pub services: Vec<ServiceEndpoint>,
}

/// The truth about a cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Provider name (`local`, `docker`).
    pub provider: &'static str,
    /// Overall state.
    pub state: ClusterState,
    /// Where the data lives (a directory, or a volume prefix).
    pub data_location: String,
    /// Per-node status.
    pub nodes: Vec<NodeStatus>,
    /// The schema registry, if the cluster was started with it.
    pub registry: Option<ServiceStatus>,
    /// Connection endpoints.
    pub endpoints: Endpoints,
}

impl ClusterStatus {
    /// Whether every node is running.
    pub fn is_running(&self) -> bool {
        self.state == ClusterState::Running
    }
}

/// What [`ClusterProvider::start`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    /// The cluster was already running; nothing was started.
    pub already_running: bool,
    /// Node ids started by this call.
    pub started_nodes: Vec<u16>,
    /// Whether the storage was formatted by this call (first start or `--clean`).
    pub formatted: bool,
    /// Time from the call to a ready cluster.
    #[serde(with = "duration_secs")]
    pub ready_after: Duration,
    /// Outcome per TDA topic (empty with `--no-topics`).
    pub topics: Vec<(String, EnsureOutcome)>,
    /// Whether the registry was started by this call.
    pub registry_started: bool,
    /// Where to connect.
    pub endpoints: Endpoints,
    /// The status after start.
    pub status: ClusterStatus,
}

/// How one process was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum StopOutcome {
    /// It exited after SIGTERM.
    Stopped {
        /// How long it took.
        #[serde(with = "duration_secs")]
        after: Duration,
    },
    /// It was killed (forced, or it did not exit within the bound).
    Killed {
        /// Whether it was killed because the graceful bound expired.
        after_timeout: bool,
    },
    /// It was not running.
    NotRunning,
    /// Its PID file was stale and was removed.
    StalePidRemoved {
        /// The recorded process id.
        pid: u32,
    },
}

/// What [`ClusterProvider::stop`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// `(name, outcome)` for every node and service.
    pub processes: Vec<(String, StopOutcome)>,
    /// Data removed (paths or volume names).
    pub removed: Vec<String>,
    /// Notes for the user (e.g. `--remove-containers has no effect for local clusters`).
    pub notes: Vec<String>,
}

/// A way of running the TDA cluster (local JVMs, Docker).
pub trait ClusterProvider: Send + Sync {
    /// Short name, e.g. `local`.
    fn name(&self) -> &'static str;

    /// Starts the cluster described by `config` and waits until it is ready.
    /// Starting a running cluster starts nothing and reports `already_running`.
    /// When `cancel` fires, whatever this call started is stopped and
    /// [`crate::ClusterError::Interrupted`] is returned.
    fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<StartReport>> + Send;

    /// Stops the cluster (and its services).
    fn stop(
        &self,
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> impl Future<Output = Result<StopReport>> + Send;

    /// The current state, checked against the processes (never from a cache alone).
    fn status(&self) -> impl Future<Output = Result<ClusterStatus>> + Send;
}

pub(crate) mod duration_secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}
