//! The provider abstraction: what every way of running the stack (local
//! JVMs, Docker containers) offers, its options and typed reports, and
//! [`Provider`], the one value callers hold whichever way runs.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use serde::Serialize;
use tda_kafka_admin::EnsureOutcome;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::docker::{DockerProvider, Services};
use crate::local::LocalProvider;
use crate::{ClusterStatus, Progress, ProviderKind, Result, ServiceKind};

/// Options of [`ClusterProvider::start`].
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Wipe all data (and containers) before starting.
    pub clean: bool,
    /// Create the architecture's topics after readiness.
    pub create_topics: bool,
    /// Which services run besides the brokers.
    pub services: Services,
    /// Fetch the distributions (local) or pull the images (Docker) again.
    pub refetch: bool,
    /// Upper bound on waiting for readiness.
    pub ready_timeout: Duration,
    /// How the local provider runs the web console (`services.ui`); without
    /// it the console is reported as not started.
    pub console: Option<ConsoleLaunch>,
    /// The `tda-kafka` binary: the local provider runs the schema registry
    /// behind its root-path proxy (`tda-kafka registry-proxy`), so the
    /// Confluent API answers at `/` as well as at `/apis/ccompat/v7`.
    /// Without it the registry serves only `/apis/ccompat/v7`.
    pub registry_proxy: Option<PathBuf>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clean: false,
            create_topics: true,
            services: Services::all(),
            refetch: false,
            ready_timeout: Duration::from_secs(240),
            console: None,
            registry_proxy: None,
        }
    }
}

/// The web console's program (the `tda-kafka` binary): the local provider
/// runs `PROGRAM ui --listen HOST:TDA_KAFKA_UI_PORT --bootstrap .. --registry
/// .. --connect .. ARGS` as a service of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLaunch {
    /// The executable.
    pub program: PathBuf,
    /// Further arguments, e.g. the configuration flags (`--env-file F`) so
    /// the console connects with the same security settings; never secrets.
    pub args: Vec<String>,
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
    /// Delete the stack's data after stopping.
    pub remove_data: bool,
    /// Remove containers and the network (Docker; the local provider notes
    /// that it has none).
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

/// One member of the stack: a Kafka node or a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "member", content = "id")]
pub enum StackMember {
    /// Kafka node N (broker and controller).
    Node(u16),
    /// A service of the stack.
    Service(ServiceKind),
}

impl std::fmt::Display for StackMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Node(n) => write!(f, "kafka-{n}"),
            Self::Service(s) => write!(f, "{s}"),
        }
    }
}

/// What [`ClusterProvider::start`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    /// Which provider ran it.
    pub provider: ProviderKind,
    /// The stack was already running; nothing was started.
    pub already_running: bool,
    /// Node ids started by this call.
    pub started_nodes: Vec<u16>,
    /// Services started by this call.
    pub started_services: Vec<ServiceKind>,
    /// Requested services this provider does not run, with the reason.
    pub skipped_services: Vec<(ServiceKind, String)>,
    /// Whether storage was created by this call (first start or clean).
    pub formatted: bool,
    /// Time from the call to a ready stack.
    #[serde(with = "duration_secs")]
    pub ready_after: Duration,
    /// Outcome per architecture topic (empty when topics were not created).
    pub topics: Vec<(String, EnsureOutcome)>,
    /// The status after start (its endpoints say where to connect).
    pub status: ClusterStatus,
}

/// How one process or container was stopped.
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

impl std::fmt::Display for StopOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stopped { after } => {
                write!(f, "stopped gracefully in {:.1} s", after.as_secs_f64())
            }
            Self::Killed {
                after_timeout: true,
            } => f.write_str("killed (did not stop within the graceful bound)"),
            Self::Killed {
                after_timeout: false,
            } => f.write_str("killed (forced)"),
            Self::NotRunning => f.write_str("was not running"),
            Self::StalePidRemoved { pid } => {
                write!(f, "was not running (stale pid file {pid} removed)")
            }
        }
    }
}

/// What [`ClusterProvider::stop`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// The outcome for every node and service.
    pub stopped: Vec<(StackMember, StopOutcome)>,
    /// What was removed (paths, containers, volumes, networks).
    pub removed: Vec<String>,
    /// Notes for the user (e.g. that the local provider has no containers).
    pub notes: Vec<String>,
}

/// A way of running the TDA stack (local JVMs, Docker).
pub trait ClusterProvider: Send + Sync {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// Where `stop --backup` writes and recovery reads: one folder per stack,
    /// outside the data it backs up (so removing the data keeps the backups).
    fn backups_dir(&self) -> PathBuf;

    /// Starts the stack described by `config` and waits until it is ready.
    /// Starting a running stack starts nothing and reports `already_running`.
    /// A failed or interrupted start stops whatever this call launched;
    /// on `cancel` it returns [`crate::ClusterError::Interrupted`].
    fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<StartReport>> + Send;

    /// Stops the stack (services first, brokers last).
    fn stop(
        &self,
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> impl Future<Output = Result<StopReport>> + Send;

    /// The current state, checked against the processes or containers.
    fn status(&self) -> impl Future<Output = Result<ClusterStatus>> + Send;
}

/// The provider of a stack, chosen once (see [`crate::select`]); callers
/// never branch on which one runs.
#[derive(Debug, Clone)]
pub enum Provider {
    /// JVM processes under a data directory.
    Local(LocalProvider),
    /// Containers on the local Docker engine.
    Docker(Box<DockerProvider>),
}

impl ClusterProvider for Provider {
    fn kind(&self) -> ProviderKind {
        match self {
            Self::Local(p) => p.kind(),
            Self::Docker(p) => p.kind(),
        }
    }

    fn backups_dir(&self) -> PathBuf {
        match self {
            Self::Local(p) => p.backups_dir(),
            Self::Docker(p) => p.backups_dir(),
        }
    }

    async fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> Result<StartReport> {
        match self {
            Self::Local(p) => p.start(config, options, progress, cancel).await,
            Self::Docker(p) => p.start(config, options, progress, cancel).await,
        }
    }

    async fn stop(&self, options: &StopOptions, progress: &dyn Progress) -> Result<StopReport> {
        match self {
            Self::Local(p) => p.stop(options, progress).await,
            Self::Docker(p) => p.stop(options, progress).await,
        }
    }

    async fn status(&self) -> Result<ClusterStatus> {
        match self {
            Self::Local(p) => p.status().await,
            Self::Docker(p) => p.status().await,
        }
    }
}

impl Provider {
    /// The output of a member of the stack (`kafka-1`, `schema-registry`,
    /// a container name): its recent lines and, with `follow`, what comes.
    pub fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> Result<BoxStream<'_, Result<String>>> {
        match self {
            Self::Local(p) => p.logs(service, follow, tail),
            Self::Docker(p) => Ok(p.logs(service, follow, tail)?.boxed()),
        }
    }
}

pub(crate) mod duration_secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}
