//! What a running (or stopped) stack looks like, the same for every
//! provider: typed states, typed services, typed log locations.

use std::path::PathBuf;

use serde::Serialize;

/// Which way of running the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// JVM (and service) processes on this machine.
    Local,
    /// Containers on the local Docker engine.
    Docker,
}

impl ProviderKind {
    /// `local` or `docker`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Docker => "docker",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// The cluster was never started with this data dir / stack.
    NotCreated,
}

impl ClusterState {
    /// The state of a cluster whose nodes are in `nodes` (`created`: whether
    /// anything of the cluster exists at all).
    pub(crate) fn of(created: bool, nodes: &[NodeStatus]) -> Self {
        let running = nodes
            .iter()
            .filter(|n| matches!(n.state, ProcessState::Running { .. }))
            .count();
        let alive = nodes.iter().filter(|n| n.state.is_alive()).count();
        if !created {
            Self::NotCreated
        } else if running == nodes.len() && running > 0 {
            Self::Running
        } else if alive > 0 {
            Self::Partial
        } else {
            Self::Stopped
        }
    }
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
    /// The process runs and answers (port open, or container healthy).
    Running {
        /// Host process id.
        pid: u32,
    },
    /// The process runs but does not answer (yet).
    NotListening {
        /// Host process id.
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
    /// Whether the process is alive (answering or not).
    pub fn is_alive(&self) -> bool {
        matches!(self, Self::Running { .. } | Self::NotListening { .. })
    }

    /// Whether it is alive and answers.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running { .. })
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
            Self::NotListening { pid } => write!(f, "not answering (pid {pid})"),
            Self::Stopped => f.write_str("stopped"),
            Self::StalePid { pid } => write!(f, "stopped (stale pid file: {pid})"),
        }
    }
}

/// Where the output of a process goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "at")]
pub enum LogLocation {
    /// A log file on this machine (local provider).
    File(PathBuf),
    /// The output of a container (`docker logs NAME`).
    Container(String),
}

impl std::fmt::Display for LogLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Container(name) => write!(f, "docker logs {name}"),
        }
    }
}

/// A service of the stack besides the brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum ServiceKind {
    /// ZooKeeper node N (ZooKeeper mode).
    Zookeeper(u16),
    /// The Confluent-compatible schema registry.
    SchemaRegistry,
    /// Kafka Connect (distributed worker).
    Connect,
    /// The web console (Kafka UI).
    Ui,
    /// ksqlDB.
    Ksqldb,
    /// Redis.
    Redis,
}

impl ServiceKind {
    /// The service key of the seed's compose file (`schema-registry`, ...).
    pub fn key(self) -> String {
        match self {
            Self::Zookeeper(n) => format!("zookeeper-{n}"),
            Self::SchemaRegistry => "schema-registry".into(),
            Self::Connect => "kafka-connect".into(),
            Self::Ui => "kafka-ui".into(),
            Self::Ksqldb => "ksqldb".into(),
            Self::Redis => "redis".into(),
        }
    }

    /// A name for people, e.g. `Schema Registry`.
    pub fn title(self) -> String {
        match self {
            Self::Zookeeper(n) => format!("ZooKeeper {n}"),
            Self::SchemaRegistry => "Schema Registry".into(),
            Self::Connect => "Kafka Connect".into(),
            Self::Ui => "Kafka UI".into(),
            Self::Ksqldb => "KSQLDB Server".into(),
            Self::Redis => "Redis".into(),
        }
    }

    /// What it is for (the seed's "Access Services" table).
    pub fn description(self) -> &'static str {
        match self {
            Self::Zookeeper(_) => "ZooKeeper ensemble member",
            Self::SchemaRegistry => "REST API for schema management",
            Self::Connect => "REST API for connector management",
            Self::Ui => "Web interface for cluster management",
            Self::Ksqldb => "Stream processing queries",
            Self::Redis => "Caching and session management",
        }
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// How a service is reached and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAddress {
    /// Host (from this machine).
    pub host: String,
    /// Port (from this machine).
    pub port: u16,
    /// The base path of its HTTP API (`/apis/ccompat/v7` for Apicurio's
    /// Confluent API); empty for non-HTTP services and root APIs.
    pub base_path: String,
}

impl ServiceAddress {
    /// A service at `host:port` with an HTTP API under `base_path`.
    pub fn new(host: impl Into<String>, port: u16, base_path: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            base_path: base_path.into(),
        }
    }

    /// `http://host:port/base` (or `redis://host:port` for Redis).
    pub fn url(&self, kind: ServiceKind) -> String {
        match kind {
            ServiceKind::Redis => format!("redis://{}:{}", self.host, self.port),
            ServiceKind::Zookeeper(_) => format!("{}:{}", self.host, self.port),
            _ => format!("http://{}:{}{}", self.host, self.port, self.base_path),
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
    /// `host:port` of its client listener (from this machine).
    pub address: String,
    /// `host:port` of its controller listener.
    pub controller_address: String,
    /// Where its output goes.
    pub log: LogLocation,
}

/// Status of a service of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// Which service.
    pub kind: ServiceKind,
    /// Process state.
    pub state: ProcessState,
    /// Where it answers.
    pub address: ServiceAddress,
    /// Its URL for people and clients.
    pub url: String,
    /// Where its output goes.
    pub log: LogLocation,
}

impl ServiceStatus {
    /// A service status; the URL is derived from `kind` and `address`.
    pub fn new(
        kind: ServiceKind,
        state: ProcessState,
        address: ServiceAddress,
        log: LogLocation,
    ) -> Self {
        Self {
            url: address.url(kind),
            kind,
            state,
            address,
            log,
        }
    }
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
    /// Bootstrap servers for clients inside the stack's container network (Docker only).
    pub internal_bootstrap_servers: Option<String>,
    /// The Confluent-compatible schema registry URL, if it runs.
    pub schema_registry_url: Option<String>,
    /// Every service address (registry, Connect, UI, JMX, ...).
    pub services: Vec<ServiceEndpoint>,
}

/// The truth about a stack, checked against its processes or containers.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Which provider runs it.
    pub provider: ProviderKind,
    /// Overall state of the brokers.
    pub state: ClusterState,
    /// Where the data lives (a directory, or the stack's volumes).
    pub data_location: String,
    /// Per-node status.
    pub nodes: Vec<NodeStatus>,
    /// Every service of the stack besides the brokers.
    pub services: Vec<ServiceStatus>,
    /// Connection endpoints.
    pub endpoints: Endpoints,
}

impl ClusterStatus {
    /// Whether every node is running.
    pub fn is_running(&self) -> bool {
        self.state == ClusterState::Running
    }

    /// The status of service `kind`, if the stack has it.
    pub fn service(&self, kind: ServiceKind) -> Option<&ServiceStatus> {
        self.services.iter().find(|s| s.kind == kind)
    }

    /// Whether any node or service process is still alive.
    pub fn anything_alive(&self) -> bool {
        self.nodes.iter().any(|n| n.state.is_alive())
            || self.services.iter().any(|s| s.state.is_alive())
    }

    /// The endpoints derived from the nodes and running services.
    pub(crate) fn endpoints_of(
        bootstrap_servers: String,
        internal_bootstrap_servers: Option<String>,
        services: &[ServiceStatus],
        jmx: Vec<ServiceEndpoint>,
    ) -> Endpoints {
        let running = || services.iter().filter(|s| s.state.is_running());
        let mut list: Vec<ServiceEndpoint> = running()
            .map(|s| ServiceEndpoint {
                name: s.kind.title(),
                address: s.url.clone(),
                description: s.kind.description().into(),
            })
            .collect();
        list.extend(jmx);
        Endpoints {
            bootstrap_servers,
            internal_bootstrap_servers,
            schema_registry_url: running()
                .find(|s| s.kind == ServiceKind::SchemaRegistry)
                .map(|s| s.url.clone()),
            services: list,
        }
    }
}
