//! Health of a stack: the brokers (all expected ones registered, the
//! controller), partitions (offline, under-replicated, below min ISR), the
//! architecture's topics, a real check of every service the stack runs, and
//! in ZooKeeper mode the ensemble (one leader, the others following).

use serde::Serialize;
use tda_kafka_admin::zookeeper::{ensemble_state, EnsembleState};
use tda_kafka_admin::{Admin, HealthReport};
use tda_kafka_config::ClusterConfig;

use super::{client_properties, ADMIN_TIMEOUT};
use crate::{ClusterProvider, ClusterState, ProviderKind, Result, ServiceKind};

/// The check of one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    /// Which service.
    pub kind: ServiceKind,
    /// Its URL.
    pub url: String,
    /// Whether it answered its check.
    pub healthy: bool,
    /// What the check saw.
    pub detail: String,
}

/// What [`health`] found.
#[derive(Debug, Clone, Serialize)]
pub struct StackHealth {
    /// No problem at all.
    pub healthy: bool,
    /// Every problem, one line each.
    pub problems: Vec<String>,
    /// Which provider runs the stack.
    pub provider: ProviderKind,
    /// The brokers' state as the provider sees it.
    pub state: ClusterState,
    /// The bootstrap servers checked.
    pub bootstrap: String,
    /// The admin health report, when Kafka answered.
    pub kafka: Option<HealthReport>,
    /// Architecture topics that do not exist.
    pub missing_topics: Vec<String>,
    /// One check per service of the stack.
    pub services: Vec<ServiceHealth>,
    /// The ZooKeeper ensemble's state (ZooKeeper mode): each node's `ruok`
    /// and role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<EnsembleState>,
}

/// Checks the stack `provider` runs; `bootstrap` checks other brokers
/// instead (then services are not checked, as they belong to the stack).
pub async fn health<P: ClusterProvider>(
    provider: &P,
    config: &ClusterConfig,
    bootstrap: Option<&str>,
) -> Result<StackHealth> {
    let status = provider.status().await?;
    let mut props = client_properties(config, &status);
    let expected = match (bootstrap, status.nodes.len()) {
        (Some(b), _) => {
            props.set("bootstrap.servers", b);
            None
        }
        (None, 0) => Some(usize::from(config.broker_count)),
        (None, n) => Some(n),
    };
    let bootstrap = props
        .get("bootstrap.servers")
        .unwrap_or_default()
        .to_string();
    let mut problems = Vec::new();
    let mut kafka = None;
    let mut missing_topics = Vec::new();
    let nothing_runs = expected.is_some() && !status.nodes.iter().any(|n| n.state.is_alive());
    let connected = if nothing_runs {
        problems.push(format!("the cluster is {}: no broker runs", status.state));
        None
    } else {
        Some(Admin::connect(&props, ADMIN_TIMEOUT).await)
    };
    match connected {
        None => {}
        Some(Err(e)) => problems.push(format!("cannot reach Kafka at {bootstrap}: {e}")),
        Some(Ok(admin)) => match admin.health().await {
            Err(e) => problems.push(format!("health check of {bootstrap} failed: {e}")),
            Ok(mut report) => {
                if let Some(n) = expected {
                    report = report.expecting(n);
                }
                problems.extend(report.problems());
                match admin.metadata().await {
                    Ok(md) => {
                        missing_topics = config
                            .topics
                            .iter()
                            .filter(|t| !md.topics.contains(&t.name))
                            .map(|t| t.name.clone())
                            .collect();
                        if !missing_topics.is_empty() {
                            problems.push(format!("missing topics: {}", missing_topics.join(", ")));
                        }
                    }
                    Err(e) => problems.push(format!("metadata of {bootstrap}: {e}")),
                }
                kafka = Some(report);
            }
        },
    }
    let mut services = Vec::new();
    if bootstrap_is_the_stacks(&status, &bootstrap) {
        for s in &status.services {
            let checked = if s.state.is_alive() && s.kind == ServiceKind::Redis {
                let password = config.services.redis_password.as_ref();
                tda_kafka_admin::redis::ping(&s.address.host, s.address.port, password).await
            } else if s.state.is_alive() {
                crate::ready::probe_service(s.kind, &s.address).await
            } else {
                Err(s.state.to_string())
            };
            let (healthy, detail) = match checked {
                Ok(detail) => (true, detail),
                Err(problem) => {
                    problems.push(format!("{} at {}: {problem}", s.kind.title(), s.url));
                    (false, problem)
                }
            };
            services.push(ServiceHealth {
                kind: s.kind,
                url: s.url.clone(),
                healthy,
                detail,
            });
        }
    }
    let zookeeper = ensemble_of(&status, &services, &mut problems).await;
    Ok(StackHealth {
        zookeeper,
        healthy: problems.is_empty(),
        problems,
        provider: provider.kind(),
        state: status.state,
        bootstrap,
        kafka,
        missing_topics,
        services,
    })
}

fn bootstrap_is_the_stacks(status: &crate::ClusterStatus, bootstrap: &str) -> bool {
    status.endpoints.bootstrap_servers.is_empty() || status.endpoints.bootstrap_servers == bootstrap
}

/// The ensemble's state when the stack has ZooKeeper nodes; its problems are
/// added when every node passed its own check (a node that did not is
/// already reported).
async fn ensemble_of(
    status: &crate::ClusterStatus,
    checked: &[ServiceHealth],
    problems: &mut Vec<String>,
) -> Option<EnsembleState> {
    let nodes: Vec<_> = status
        .services
        .iter()
        .filter_map(|s| match s.kind {
            ServiceKind::Zookeeper(n) => {
                Some((n, format!("{}:{}", s.address.host, s.address.port)))
            }
            _ => None,
        })
        .collect();
    if nodes.is_empty() {
        return None;
    }
    let state = ensemble_state(&nodes).await;
    let nodes_fine = checked
        .iter()
        .filter(|c| matches!(c.kind, ServiceKind::Zookeeper(_)))
        .all(|c| c.healthy);
    if nodes_fine {
        problems.extend(state.problems());
    }
    Some(state)
}
