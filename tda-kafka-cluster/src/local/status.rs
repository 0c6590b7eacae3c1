//! `status` of the local stack: every process checked against its PID file,
//! `/proc` and its port.

use super::process::{self, PidCheck};
use super::{LocalProvider, REGISTRY_API};
use crate::{
    ClusterState, ClusterStatus, NodeStatus, ProcessState, ProviderKind, Result, ServiceAddress,
    ServiceEndpoint, ServiceKind, ServiceStatus, StackMember,
};

impl LocalProvider {
    /// The state of `member`, whose port is `host:port`.
    fn process_state(&self, member: StackMember, host: &str, port: u16) -> ProcessState {
        match self.check(member) {
            PidCheck::Alive(pid) if process::port_open(host, port) => ProcessState::Running { pid },
            PidCheck::Alive(pid) => ProcessState::NotListening { pid },
            PidCheck::Stale(pid) => ProcessState::StalePid { pid },
            PidCheck::None => ProcessState::Stopped,
        }
    }

    pub(super) fn status_now(&self) -> Result<ClusterStatus> {
        let data_location = self.data_dir.display().to_string();
        let Some(stored) = self.load_state()? else {
            return Ok(ClusterStatus {
                provider: ProviderKind::Local,
                state: ClusterState::NotCreated,
                data_location,
                nodes: Vec::new(),
                services: Vec::new(),
                endpoints: Default::default(),
            });
        };
        let host = stored.host.as_str();
        let nodes: Vec<NodeStatus> = (1..=stored.broker_count)
            .map(|id| {
                let port = stored.kafka_port(id);
                let member = StackMember::Node(id);
                NodeStatus {
                    node_id: id,
                    state: self.process_state(member, host, port),
                    address: format!("{host}:{port}"),
                    controller_address: format!("{host}:{}", stored.controller_port(id)),
                    log: self.log_of(member),
                }
            })
            .collect();
        let registry = StackMember::Service(ServiceKind::SchemaRegistry);
        let mut services = Vec::new();
        let registry_check = self.check(registry);
        if stored.registry_port.is_some() || !matches!(registry_check, PidCheck::None) {
            let port = stored.registry_port.unwrap_or_default();
            services.push(ServiceStatus::new(
                ServiceKind::SchemaRegistry,
                self.process_state(registry, host, port),
                ServiceAddress::new(host, port, REGISTRY_API),
                self.log_of(registry),
            ));
        }
        let console = StackMember::Service(ServiceKind::Ui);
        if stored.console_port.is_some() || !matches!(self.check(console), PidCheck::None) {
            let port = stored.console_port.unwrap_or_default();
            services.push(ServiceStatus::new(
                ServiceKind::Ui,
                self.process_state(console, host, port),
                ServiceAddress::new(host, port, ""),
                self.log_of(console),
            ));
        }
        let jmx = if stored.jmx_base_port == 0 {
            Vec::new()
        } else {
            (1..=stored.broker_count)
                .map(|id| ServiceEndpoint {
                    name: format!("JMX node {id}"),
                    address: format!("{host}:{}", stored.jmx_base_port + id - 1),
                    description: "JVM and Kafka metrics (JMX, no auth)".into(),
                })
                .collect()
        };
        Ok(ClusterStatus {
            provider: ProviderKind::Local,
            state: ClusterState::of(true, &nodes),
            data_location,
            endpoints: ClusterStatus::endpoints_of(stored.bootstrap(), None, &services, jmx),
            nodes,
            services,
        })
    }
}
