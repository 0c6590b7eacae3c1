//! Faults on the Docker provider, through the engine: kill (SIGKILL),
//! pause/unpause, a start of the stopped container (back when the cluster
//! is ready, as on the local provider), and isolation by
//! disconnecting the container from the stack network (reconnected with its
//! service alias by heal).

use std::time::Instant;

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::KillContainerOptionsBuilder;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use super::{Fault, FaultOptions, FaultReport};
use crate::docker::topology::Role;
use crate::docker::DockerProvider;
use crate::poll::Wait;
use crate::{ClusterError, Progress, Result, Step};

fn engine(operation: String) -> impl FnOnce(bollard::errors::Error) -> ClusterError {
    move |source| ClusterError::Docker { operation, source }
}

pub(super) async fn inject(
    p: &DockerProvider,
    config: &ClusterConfig,
    fault: &Fault,
    options: &FaultOptions,
    progress: &dyn Progress,
    cancel: CancellationToken,
) -> Result<FaultReport> {
    let topology = p.topology_for(config);
    let docker = p.docker();
    let nodes: Vec<u16> = match fault {
        Fault::Kill { node }
        | Fault::Stop { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::Restart { node }
        | Fault::Isolate { node }
        | Fault::Heal { node } => vec![*node],
        Fault::HealAll => config.node_ids().collect(),
        Fault::KillLeader { .. } => unreachable!("resolved to a kill by inject"),
    };
    let mut report = FaultReport::default();
    for node in nodes {
        let spec = topology
            .brokers()
            .find(|s| s.role == Role::Broker(node))
            .ok_or_else(|| ClusterError::UnknownMember {
                name: format!("node {node}"),
                known: format!("nodes 1..={}", config.broker_count),
            })?;
        let name = spec.container_name.as_str();
        report.node = Some(node);
        report.container = Some(name.to_owned());
        match fault {
            Fault::Kill { .. } => {
                let opts = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
                docker
                    .kill_container(name, Some(opts))
                    .await
                    .map_err(engine(format!("kill {name}")))?;
                report.detail = format!("container {name} killed with SIGKILL");
            }
            Fault::Stop { .. } => {
                docker
                    .stop_container(name, None)
                    .await
                    .map_err(engine(format!("stop {name}")))?;
                report.detail = format!("container {name} stopped");
            }
            Fault::Pause { .. } => {
                docker
                    .pause_container(name)
                    .await
                    .map_err(engine(format!("pause {name}")))?;
                report.detail = format!("container {name} paused");
            }
            Fault::Resume { .. } => {
                docker
                    .unpause_container(name)
                    .await
                    .map_err(engine(format!("unpause {name}")))?;
                report.detail = format!("container {name} resumed");
            }
            Fault::Restart { .. } => {
                let t0 = Instant::now();
                docker
                    .start_container(name, None)
                    .await
                    .map_err(engine(format!("start {name}")))?;
                // As on the local provider: back when the cluster is ready.
                let wait = Wait {
                    step: Step::WaitReady,
                    started: t0,
                    deadline: t0 + options.timeout,
                    progress,
                    cancel: &cancel,
                };
                crate::ready::wait_for_brokers(config, &wait, || Ok(())).await?;
                report.started_nodes.push(node);
                report.detail = format!(
                    "container {name} started and the cluster is ready after {:.1} s",
                    t0.elapsed().as_secs_f64()
                );
            }
            Fault::Isolate { .. } => {
                let req = NetworkDisconnectRequest {
                    container: name.to_owned(),
                    force: Some(true),
                };
                docker
                    .disconnect_network(&topology.network, req)
                    .await
                    .map_err(engine(format!(
                        "disconnect {name} from {}",
                        topology.network
                    )))?;
                report
                    .added
                    .push(format!("{name} disconnected from {}", topology.network));
                report.detail = format!("container {name} isolated");
            }
            Fault::Heal { .. } | Fault::HealAll => {
                let req = NetworkConnectRequest {
                    container: name.to_owned(),
                    endpoint_config: Some(EndpointSettings {
                        aliases: Some(vec![spec.key.clone()]),
                        ..EndpointSettings::default()
                    }),
                };
                match docker.connect_network(&topology.network, req).await {
                    Ok(()) => report
                        .removed
                        .push(format!("{name} reconnected to {}", topology.network)),
                    // Already connected: nothing to heal.
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 403 | 409,
                        ..
                    }) if matches!(fault, Fault::HealAll) => {}
                    Err(e) => {
                        return Err(ClusterError::Docker {
                            operation: format!("connect {name} to {}", topology.network),
                            source: e,
                        })
                    }
                }
                report.detail = format!("{} containers reconnected", report.removed.len());
            }
            Fault::KillLeader { .. } => unreachable!(),
        }
    }
    if matches!(fault, Fault::HealAll) {
        report.node = None;
        report.container = None;
    }
    Ok(report)
}
