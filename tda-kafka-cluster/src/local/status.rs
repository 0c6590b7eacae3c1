//! `status` of the local stack: every process checked against its PID file,
//! `/proc` and its port.

use tda_kafka_config::MetadataMode;

use super::process::{self, PidCheck};
use super::{LocalProvider, REGISTRY_API};
use crate::{
    ClusterState, ClusterStatus, NodeStatus, ProcessState, ProviderKind, Result, ServiceAddress,
    ServiceEndpoint, ServiceKind, ServiceStatus, StackMember,
};

impl LocalProvider {
    /// The state of `member`, whose port is `host:port`.
    pub(super) fn process_state(&self, member: StackMember, host: &str, port: u16) -> ProcessState {
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
                    controller_address: match stored.metadata {
                        MetadataMode::Kraft => format!("{host}:{}", stored.controller_port(id)),
                        // The controller is elected among the brokers.
                        MetadataMode::Zookeeper => String::new(),
                    },
                    log: self.log_of(member),
                }
            })
            .collect();
        let mut services = self.zookeeper_statuses(&stored);
        let registry_base = if stored.registry_root {
            ""
        } else {
            REGISTRY_API
        };
        for (kind, port, base) in [
            (
                ServiceKind::SchemaRegistry,
                stored.registry_port,
                registry_base,
            ),
            (ServiceKind::Connect, stored.connect_port, ""),
            (ServiceKind::Redis, stored.redis_port, ""),
            (ServiceKind::Ui, stored.console_port, ""),
        ] {
            let member = StackMember::Service(kind);
            if port.is_some() || !matches!(self.check(member), PidCheck::None) {
                let port = port.unwrap_or_default();
                services.push(ServiceStatus::new(
                    kind,
                    self.process_state(member, host, port),
                    ServiceAddress::new(host, port, base),
                    self.log_of(member),
                ));
            }
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
