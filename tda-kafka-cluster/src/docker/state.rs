//! The state of the stack's containers, typed (engine state and health
//! check), and `status` built from them.

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use serde::Serialize;

use super::topology::{Role, ServiceSpec, Topology, CONTROLLER_PORT};
use super::{docker_err, is_status, DockerProvider};
use crate::{
    ClusterState, ClusterStatus, LogLocation, NodeStatus, ProcessState, ProviderKind, Result,
    ServiceAddress, ServiceEndpoint, ServiceKind, ServiceStatus, StackMember,
};

/// The engine's state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// No such container.
    Absent,
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Restarting.
    Restarting,
    /// Being removed.
    Removing,
    /// Exited.
    Exited,
    /// Dead.
    Dead,
}

impl ContainerState {
    fn from_engine(s: Option<ContainerStateStatusEnum>) -> Self {
        match s {
            Some(ContainerStateStatusEnum::CREATED) => Self::Created,
            Some(ContainerStateStatusEnum::RUNNING) => Self::Running,
            Some(ContainerStateStatusEnum::PAUSED) => Self::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => Self::Restarting,
            Some(ContainerStateStatusEnum::REMOVING) => Self::Removing,
            Some(ContainerStateStatusEnum::EXITED) => Self::Exited,
            Some(ContainerStateStatusEnum::DEAD) => Self::Dead,
            _ => Self::Exited,
        }
    }

    /// Whether it ended (it will not become healthy by waiting).
    pub fn ended(self) -> bool {
        matches!(self, Self::Absent | Self::Exited | Self::Dead)
    }
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown"))
    }
}

/// The result of a container's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerHealth {
    /// No health check (or not running).
    None,
    /// Within its start period, not yet passed.
    Starting,
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
}

impl std::fmt::Display for ContainerHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        })
    }
}

/// State of one container of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerStatus {
    /// Service key, e.g. `kafka-1`.
    pub service: String,
    /// Container name, e.g. `tda_kafka_1`.
    pub container: String,
    /// Image.
    pub image: String,
    /// Engine state.
    pub state: ContainerState,
    /// Health check result.
    pub health: ContainerHealth,
    /// Host pid of the main process, when running.
    pub pid: Option<u32>,
    /// Published ports, `127.0.0.1:19092->19092`.
    pub ports: Vec<String>,
}

impl ContainerStatus {
    /// Running.
    pub fn running(&self) -> bool {
        self.state == ContainerState::Running
    }

    /// Running and its health check (if any) passes.
    pub fn healthy(&self) -> bool {
        self.running()
            && matches!(
                self.health,
                ContainerHealth::Healthy | ContainerHealth::None
            )
    }

    fn process_state(&self) -> ProcessState {
        match self.pid {
            Some(pid) if self.healthy() => ProcessState::Running { pid },
            Some(pid) => ProcessState::NotListening { pid },
            None => ProcessState::Stopped,
        }
    }
}

/// The member of the stack a container plays.
pub(super) fn member_of(role: Role) -> StackMember {
    StackMember::Service(match role {
        Role::Broker(n) => return StackMember::Node(n),
        Role::Zookeeper(n) => ServiceKind::Zookeeper(n),
        Role::SchemaRegistry => ServiceKind::SchemaRegistry,
        Role::Connect => ServiceKind::Connect,
        Role::Ui => ServiceKind::Ui,
        Role::Ksqldb => ServiceKind::Ksqldb,
        Role::Redis => ServiceKind::Redis,
    })
}

/// Where a service answers from the host (the registry's API path included).
pub(super) fn service_address(t: &Topology, s: &ServiceSpec) -> ServiceAddress {
    let (host, port) = s
        .ports
        .first()
        .map(|p| (p.host_ip.clone(), p.host_port))
        .unwrap_or_default();
    let base = match (s.role, t.registry_url()) {
        (Role::SchemaRegistry, Some(url)) => url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    ServiceAddress::new(host, port, base)
}

impl DockerProvider {
    /// The state of every container of the topology (absent ones included).
    pub async fn containers(&self) -> Result<Vec<ContainerStatus>> {
        let t = self.topology();
        let mut out = Vec::new();
        for s in &t.services {
            out.push(self.container_status(s).await?);
        }
        Ok(out)
    }

    pub(super) async fn container_status(&self, s: &ServiceSpec) -> Result<ContainerStatus> {
        let ports = s
            .ports
            .iter()
            .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
            .collect();
        let mut status = ContainerStatus {
            service: s.key.clone(),
            container: s.container_name.clone(),
            image: s.image.clone(),
            state: ContainerState::Absent,
            health: ContainerHealth::None,
            pid: None,
            ports,
        };
        match self.docker.inspect_container(&s.container_name, None).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                status.state = ContainerState::from_engine(state.status);
                let running = status.running();
                status.health = match state.health.and_then(|h| h.status).filter(|_| running) {
                    Some(HealthStatusEnum::STARTING) => ContainerHealth::Starting,
                    Some(HealthStatusEnum::HEALTHY) => ContainerHealth::Healthy,
                    Some(HealthStatusEnum::UNHEALTHY) => ContainerHealth::Unhealthy,
                    _ => ContainerHealth::None,
                };
                status.pid = state.pid.filter(|p| *p > 0 && running).map(|p| p as u32);
                Ok(status)
            }
            Err(e) if is_status(&e, 404) => Ok(status),
            Err(e) => Err(docker_err(
                format!("inspect container {}", s.container_name),
                e,
            )),
        }
    }

    pub(super) async fn status_of(&self, t: &Topology) -> Result<ClusterStatus> {
        let mut nodes = Vec::new();
        let mut services = Vec::new();
        let mut any_container = false;
        for s in &t.services {
            let st = self.container_status(s).await?;
            any_container |= st.state != ContainerState::Absent;
            let state = st.process_state();
            let log = LogLocation::Container(s.container_name.clone());
            match member_of(s.role) {
                StackMember::Node(n) => nodes.push(NodeStatus {
                    node_id: n,
                    state,
                    address: format!("{}:{}", s.ports[0].host_ip, s.ports[0].host_port),
                    controller_address: match t.zookeeper {
                        None => format!("{}:{CONTROLLER_PORT}", s.key),
                        // The controller is elected among the brokers.
                        Some(_) => String::new(),
                    },
                    log,
                }),
                StackMember::Service(kind) => {
                    services.push(ServiceStatus::new(kind, state, service_address(t, s), log))
                }
            }
        }
        let jmx = t
            .brokers()
            .filter_map(|s| {
                s.ports.get(1).map(|jmx| ServiceEndpoint {
                    name: format!("JMX {}", s.key),
                    address: format!("{}:{}", jmx.host_ip, jmx.host_port),
                    description: "JVM metrics".into(),
                })
            })
            .collect();
        Ok(ClusterStatus {
            provider: ProviderKind::Docker,
            state: ClusterState::of(any_container, &nodes),
            data_location: format!("docker volumes {}_*", self.options.name),
            endpoints: ClusterStatus::endpoints_of(
                t.bootstrap_servers.clone(),
                Some(t.internal_bootstrap_servers.clone()),
                &services,
                jmx,
            ),
            nodes,
            services,
        })
    }
}
