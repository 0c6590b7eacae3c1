use std::path::PathBuf;
use std::time::Duration;

use tda_kafka_admin::AdminError;

/// Errors of cluster lifecycle operations (all providers).
///
/// Every variant carries enough context to act on it without a log file:
/// the port that is taken, the node that died with the end of its log, the
/// command that failed with the end of its output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No usable `java` was found on the `PATH` (or in `JAVA_HOME`).
    #[error("java was not found ({searched}); install a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`")]
    JavaMissing {
        /// Where we looked.
        searched: String,
    },
    /// `java -version` reported a version below the one required.
    #[error("{java} is Java {found}, but Java {required}+ is required (java -version said: {version_line})")]
    JavaTooOld {
        /// The java executable that was checked.
        java: PathBuf,
        /// The major version found.
        found: u32,
        /// The minimum major version.
        required: u32,
        /// The first line of `java -version`.
        version_line: String,
    },
    /// Maven (`mvn`) is needed to fetch a distribution and is not installed.
    #[error("mvn was not found on the PATH; it is needed once to fetch {artifact} (install it with `apt-get install maven`, or set KAFKA_HOME to an existing Kafka installation)")]
    MavenMissing {
        /// What was to be fetched.
        artifact: String,
    },
    /// Fetching a distribution with Maven failed.
    #[error("fetching {artifact} failed: `{command}` exited with {status}; its last output lines:\n{output_tail}")]
    FetchFailed {
        /// What was fetched, e.g. `Apache Kafka 4.4.0`.
        artifact: String,
        /// The command line that ran.
        command: String,
        /// Its exit status.
        status: String,
        /// The last lines of its output.
        output_tail: String,
    },
    /// `KAFKA_HOME` is set but does not look like a Kafka installation.
    #[error("KAFKA_HOME={path} is not a Kafka installation: {reason}")]
    InvalidKafkaHome {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was attempted, e.g. `cannot create`.
        action: &'static str,
        /// The path it was attempted on.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A process could not be spawned.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A port the cluster needs is already taken by another process.
    #[error("port {host}:{port} ({purpose}) is already in use by another process")]
    PortInUse {
        /// The bind address.
        host: String,
        /// The port.
        port: u16,
        /// What we wanted it for, e.g. `broker 2 client listener`.
        purpose: String,
    },
    /// A Kafka node, a service or a helper process exited while the stack was starting.
    #[error("{what} exited during start ({exit}); last lines of {log}:\n{log_tail}")]
    ProcessDied {
        /// e.g. `kafka-2`, `schema-registry`, `storage format of node 1`.
        what: String,
        /// How it exited, if known.
        exit: String,
        /// Where its output is.
        log: crate::LogLocation,
        /// The last lines of that output.
        log_tail: String,
    },
    /// The cluster did not become ready within the bound.
    #[error("the cluster was not ready after {:.0} s: {last_problem}", waited.as_secs_f64())]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// The last readiness check that failed.
        last_problem: String,
    },
    /// A program a service of the stack needs is not installed.
    #[error("{program} was not found on the PATH; it runs {service} ({install}, or leave it out with `--without {service}`)")]
    ProgramMissing {
        /// The program, e.g. `redis-server`.
        program: String,
        /// The service it runs (its key, e.g. `redis`).
        service: String,
        /// How to install it.
        install: String,
    },
    /// A service of the stack did not pass its readiness check within the bound.
    #[error("{service} at {url} was not ready after {:.0} s: {last_problem}", waited.as_secs_f64())]
    ServiceNotReady {
        /// The service (its key, e.g. `kafka-connect`).
        service: String,
        /// Where it was checked.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// The last failed check.
        last_problem: String,
    },
    /// The schema registry did not answer within the bound.
    #[error("the schema registry at {url} did not answer after {:.0} s: {last_problem}", waited.as_secs_f64())]
    RegistryNotReady {
        /// The probed URL.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// The last failure.
        last_problem: String,
    },
    /// The requested start conflicts with the cluster stored in the data dir.
    #[error("{reason}")]
    TopologyChanged {
        /// What is stored and what was requested.
        reason: String,
    },
    /// A member of the stack that does not exist was named.
    #[error("no member `{name}` in the stack; members: {known}")]
    UnknownMember {
        /// The name given.
        name: String,
        /// The members there are.
        known: String,
    },
    /// The operation was interrupted (Ctrl-C); whatever it had started was stopped.
    #[error("interrupted: {cleanup}")]
    Interrupted {
        /// What was cleaned up.
        cleanup: String,
    },
    /// A process did not stop.
    #[error("{name} (pid {pid}) did not stop: {reason}")]
    StopFailed {
        /// e.g. `kafka node 1`.
        name: String,
        /// Its process id.
        pid: u32,
        /// Why.
        reason: String,
    },
    /// An admin call against the running cluster failed.
    #[error("{operation}: {source}")]
    Admin {
        /// What was attempted, e.g. `create the TDA topics`.
        operation: &'static str,
        /// The admin error.
        #[source]
        source: AdminError,
    },
    /// The stored cluster state could not be read or written.
    #[error("cluster state {path}: {reason}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The Docker engine cannot be reached (not installed or not running).
    #[error("no Docker engine answers ({message})")]
    DockerUnavailable {
        /// What the client said.
        message: String,
    },
    /// A Docker engine API call failed.
    #[error("docker: {operation}: {source}")]
    Docker {
        /// What was attempted, e.g. `create container tda_kafka_1`.
        operation: String,
        /// The engine client's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// An image of the requested image set is not in the engine.
    #[error("image {image} (image set `{image_set}`) is not in the Docker engine")]
    ImageMissing {
        /// The image reference.
        image: String,
        /// The image set it belongs to.
        image_set: String,
    },
    /// Recovery was asked for, but the stack has no backup to recover from.
    #[error("RECOVERY_MODE=true, but there is no backup in {}", dir.display())]
    NoBackup {
        /// Where backups of this stack are kept.
        dir: PathBuf,
    },
    /// An operation needs a running cluster.
    #[error("{operation} needs a running cluster (it is {state})")]
    NotRunning {
        /// What was attempted, e.g. `backup`.
        operation: &'static str,
        /// The cluster's state.
        state: crate::ClusterState,
    },
    /// Processes or containers still run after a stop.
    #[error("still running after stop: {}", members.join(", "))]
    StillRunning {
        /// What still runs.
        members: Vec<String>,
    },
    /// A testcontainers fixture (feature `testcontainers`) could not be started.
    #[error("testcontainers fixture {fixture}: {message}")]
    Fixture {
        /// Which fixture, e.g. `3-broker KRaft cluster`.
        fixture: String,
        /// What failed (the testcontainers error, with context).
        message: String,
    },
    /// Pulling an image (`--pull`) failed, e.g. no registry is reachable.
    #[error("pulling image {image} failed: {message}")]
    ImagePull {
        /// The image reference.
        image: String,
        /// The engine's error and what to do instead.
        message: String,
    },
    /// Building or importing a local image failed.
    #[error("building image {image} failed: {message}")]
    ImageBuild {
        /// The image being built.
        image: String,
        /// The builder's error and the last build output.
        message: String,
    },
    /// The provider cannot run the requested metadata mode.
    #[error("the {provider} provider cannot run {mode} mode with these settings: {reason}")]
    MetadataModeUnsupported {
        /// `local` or `docker`.
        provider: String,
        /// The requested mode (`zookeeper`).
        mode: String,
        /// Why, and what runs it instead.
        reason: String,
    },
    /// The machine lacks the memory or CPUs the requested JVMs need
    /// (checked before anything starts).
    #[error("refusing to start the {environment} cluster: {}; {hint}", problems.join("; "))]
    InsufficientResources {
        /// The environment (profile) asked for.
        environment: String,
        /// What is short: what is needed and what the machine has.
        problems: Vec<String>,
        /// What to change.
        hint: String,
    },
    /// A fault (`tda-kafka fault ...`) could not be injected.
    #[error("fault {fault}: {reason}")]
    Fault {
        /// The fault's command word, e.g. `isolate`.
        fault: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The CA or a node certificate of a generated secured cluster could not
    /// be made or read (`TDA_KAFKA_TLS_DIR`).
    #[error("TLS material in {}: {reason}", dir.display())]
    Tls {
        /// The CA directory.
        dir: PathBuf,
        /// What failed (never key material).
        reason: String,
    },
}

impl ClusterError {
    /// Whether the error is about a missing prerequisite on this machine
    /// (Java, Maven, a Kafka installation, a Docker engine or image) rather
    /// than about the cluster; callers add how to install it.
    pub fn is_missing_prerequisite(&self) -> bool {
        matches!(
            self,
            Self::JavaMissing { .. }
                | Self::JavaTooOld { .. }
                | Self::MavenMissing { .. }
                | Self::ProgramMissing { .. }
                | Self::InvalidKafkaHome { .. }
                | Self::DockerUnavailable { .. }
                | Self::ImageMissing { .. }
        )
    }

    /// Whether the operation was interrupted (and cleaned up after).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Interrupted { .. })
    }

    /// An interruption whose cleanup is described later.
    pub(crate) fn interrupted() -> Self {
        Self::Interrupted {
            cleanup: String::new(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
