//! `start` of the Docker stack: images, network, volumes, containers in
//! dependency stages, each stage waited for with its health checks, then the
//! same real readiness checks as the local provider (the ZooKeeper ensemble
//! formed, the brokers' round trip).

use std::collections::HashMap;
use std::time::Instant;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{CreateImageOptionsBuilder, ListVolumesOptions};
use futures::StreamExt;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use super::images;
use super::state::{member_of, service_address};
use super::topology::{self, Role, ServiceSpec, Topology, STACK_LABEL};
use super::{docker_err, is_status, DockerProvider};
use crate::poll::{Attempt, Wait};
use crate::{
    ClusterError, ClusterState, LogLocation, Progress, ProgressEvent, ProviderKind, Result,
    StackMember, StartOptions, StartReport, Step,
};

fn start_step(s: &ServiceSpec) -> Step {
    match s.role {
        Role::Broker(n) => Step::StartNode { node_id: n },
        Role::SchemaRegistry => Step::StartRegistry,
        _ => Step::Other {
            name: format!("starting {}", s.container_name),
        },
    }
}

impl DockerProvider {
    pub(super) async fn ensure_images(
        &self,
        t: &Topology,
        pull: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &t.services {
            if !seen.insert(s.image.clone()) || images::image_exists(&self.docker, &s.image).await?
            {
                continue;
            }
            if !pull {
                return Err(ClusterError::ImageMissing {
                    image: s.image.clone(),
                    image_set: t.options.image_set.to_string(),
                });
            }
            let step = crate::Step::Other {
                name: format!("pull {}", s.image),
            };
            progress.report(ProgressEvent::Started { step: step.clone() });
            let (repo, tag) = s.image.rsplit_once(':').unwrap_or((&s.image, "latest"));
            let opts = CreateImageOptionsBuilder::default()
                .from_image(repo)
                .tag(tag)
                .build();
            let mut stream = self.docker.create_image(Some(opts), None, None);
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    return Err(ClusterError::ImagePull {
                        image: s.image.clone(),
                        message: e.to_string(),
                    });
                }
            }
            progress.report(ProgressEvent::Finished {
                step,
                detail: "pulled".into(),
            });
        }
        Ok(())
    }

    pub(super) fn stack_labels(&self) -> HashMap<String, String> {
        HashMap::from([(STACK_LABEL.to_string(), self.options.name.clone())])
    }

    pub(super) async fn ensure_network(&self, t: &Topology) -> Result<bool> {
        match self.docker.inspect_network(&t.network, None).await {
            Ok(_) => Ok(false),
            Err(e) if is_status(&e, 404) => {
                let req = NetworkCreateRequest {
                    name: t.network.clone(),
                    driver: Some("bridge".into()),
                    labels: Some(self.stack_labels()),
                    ..Default::default()
                };
                match self.docker.create_network(req).await {
                    Ok(_) => Ok(true),
                    // Created concurrently: fine.
                    Err(e) if is_status(&e, 409) => Ok(false),
                    Err(e) => Err(docker_err(format!("create network {}", t.network), e)),
                }
            }
            Err(e) => Err(docker_err(format!("inspect network {}", t.network), e)),
        }
    }

    /// Creates missing volumes; returns the names of those created now.
    pub(super) async fn ensure_volumes(&self, t: &Topology) -> Result<Vec<String>> {
        let existing = self.our_volumes().await?;
        let mut created = Vec::new();
        for v in &t.volumes {
            if existing.contains(v) {
                continue;
            }
            let req = VolumeCreateRequest {
                name: Some(v.clone()),
                labels: Some(self.stack_labels()),
                ..Default::default()
            };
            self.docker
                .create_volume(req)
                .await
                .map_err(|e| docker_err(format!("create volume {v}"), e))?;
            created.push(v.clone());
        }
        Ok(created)
    }

    pub(super) async fn our_volumes(&self) -> Result<Vec<String>> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{STACK_LABEL}={}", self.options.name)],
        )]);
        let list = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| docker_err("list volumes", e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    /// Waits until every service in `stage` reports healthy; fails early when one ends.
    async fn wait_healthy(&self, stage: &[&ServiceSpec], wait: &Wait<'_>) -> Result<()> {
        wait.until(
            || async {
                let mut pending = Vec::new();
                for s in stage {
                    let st = match self.container_status(s).await {
                        Ok(st) => st,
                        Err(e) => return Attempt::Failed(e),
                    };
                    if st.state.ended() {
                        return Attempt::Failed(ClusterError::ProcessDied {
                            what: format!("container {}", s.container_name),
                            exit: st.state.to_string(),
                            log: LogLocation::Container(s.container_name.clone()),
                            log_tail: self.log_tail(&s.container_name, 30).await,
                        });
                    }
                    if !st.running() {
                        pending.push(format!("{} {}", s.key, st.state));
                    } else if !st.healthy() {
                        pending.push(format!("{} {}", s.key, st.health));
                    }
                }
                if pending.is_empty() {
                    Attempt::Ready(())
                } else {
                    Attempt::Pending(format!("containers not healthy: {}", pending.join(", ")))
                }
            },
            |waited, last_problem| ClusterError::NotReady {
                waited,
                last_problem,
            },
        )
        .await
    }

    /// The topology `start` provisions: the requested stack with `options`'
    /// services, and the TLS material of a generated secured cluster.
    fn start_topology(&self, config: &ClusterConfig, options: &StartOptions) -> Result<Topology> {
        let mut requested = self.requested.clone();
        requested.services = options.services;
        let tls = super::tls::prepare(config, &topology::secrets_dir(&requested.name))?;
        Ok(topology::build_secured(config, &requested, tls.as_ref()))
    }

    pub(super) async fn start_inner(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        started_names: &mut Vec<String>,
    ) -> Result<StartReport> {
        let t0 = Instant::now();
        let t = self.start_topology(config, options)?;
        let skipped_services = skipped(&t, options);
        for (kind, reason) in &skipped_services {
            progress.report(ProgressEvent::Note {
                message: format!("not started: {kind}: {reason}"),
            });
        }
        if options.clean {
            progress.report(ProgressEvent::Started {
                step: Step::RemoveData,
            });
            let mut removed = self.remove_all_containers().await?;
            removed.extend(self.remove_volumes().await?);
            progress.report(ProgressEvent::Finished {
                step: Step::RemoveData,
                detail: if removed.is_empty() {
                    "nothing to remove".into()
                } else {
                    removed.join(", ")
                },
            });
        }
        self.ensure_images(&t, options.refetch, progress).await?;
        if self.ensure_network(&t).await? {
            progress.report(ProgressEvent::Note {
                message: format!("created network {}", t.network),
            });
        }
        let created_volumes = self.ensure_volumes(&t).await?;
        // A new broker volume is formatted by the entrypoint (KRaft only).
        let formatted = t.zookeeper.is_none()
            && t.brokers().any(|b| {
                b.volumes
                    .iter()
                    .any(|v| created_volumes.contains(&v.volume))
            });
        let wait = Wait {
            step: Step::Other {
                name: "waiting for container health checks".into(),
            },
            started: t0,
            deadline: t0 + options.ready_timeout,
            progress,
            cancel,
        };
        let mut started_nodes = Vec::new();
        let mut started_services = Vec::new();
        for stage in stages(&t) {
            for s in &stage {
                progress.report(ProgressEvent::Started {
                    step: start_step(s),
                });
                let started = self.ensure_container(&t, s).await?;
                if started {
                    started_names.push(s.container_name.clone());
                    match member_of(s.role) {
                        StackMember::Node(n) => started_nodes.push(n),
                        StackMember::Service(kind) => started_services.push(kind),
                    }
                }
                progress.report(ProgressEvent::Finished {
                    step: start_step(s),
                    detail: if started {
                        format!("container {} started", s.container_name)
                    } else {
                        format!("container {} already running", s.container_name)
                    },
                });
            }
            self.wait_healthy(&stage, &wait).await?;
            wait_services_answer(&t, &stage, &wait).await?;
            if stage.iter().any(|s| matches!(s.role, Role::Zookeeper(_))) {
                // The same check as the local provider's: every node `imok`
                // over its published port, one leader, the others following.
                crate::ready::wait_for_ensemble(config, &wait, || Ok(())).await?;
            }
            if stage.iter().any(|s| matches!(s.role, Role::Broker(_))) {
                // The same real check as the local provider: every broker in
                // the metadata and a produce/consume round trip, from the host.
                crate::ready::wait_for_brokers(config, &wait, || Ok(())).await?;
            }
        }
        let ready_after = t0.elapsed();
        let topics =
            crate::topics::ensure_requested(options.create_topics, config, progress).await?;
        let status = self.status_of(&t).await?;
        Ok(StartReport {
            provider: ProviderKind::Docker,
            already_running: started_names.is_empty() && status.state == ClusterState::Running,
            started_nodes,
            started_services,
            skipped_services,
            formatted,
            ready_after,
            topics,
            status,
        })
    }
}

/// Waits until every service of `stage` passes its real check
/// ([`crate::ready::probe_service`]): a healthy container only says that it
/// answers, not e.g. that the Connect worker logged in and joined its group.
async fn wait_services_answer(t: &Topology, stage: &[&ServiceSpec], wait: &Wait<'_>) -> Result<()> {
    let services: Vec<_> = stage
        .iter()
        .filter(|s| !s.ports.is_empty())
        .filter_map(|s| match member_of(s.role) {
            StackMember::Service(kind) => Some((s, kind, service_address(t, s))),
            StackMember::Node(_) => None,
        })
        .collect();
    if services.is_empty() {
        return Ok(());
    }
    wait.until(
        || async {
            let mut pending = Vec::new();
            for (s, kind, at) in &services {
                if let Err(e) = crate::ready::probe_service(*kind, at).await {
                    pending.push(format!("{}: {e}", s.key));
                }
            }
            if pending.is_empty() {
                Attempt::Ready(())
            } else {
                Attempt::Pending(format!("services not ready: {}", pending.join(", ")))
            }
        },
        |waited, last_problem| ClusterError::NotReady {
            waited,
            last_problem,
        },
    )
    .await
}

/// Start order: ZooKeeper, then what depends on nothing else (Redis), the
/// brokers, then their dependants; each stage is healthy before the next.
fn stages(t: &Topology) -> Vec<Vec<&ServiceSpec>> {
    let (first, second): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) =
        t.services.iter().partition(|s| s.depends_on.is_empty());
    let (zk, first): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) = first
        .into_iter()
        .partition(|s| matches!(s.role, Role::Zookeeper(_)));
    let (brokers, rest): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) = second
        .into_iter()
        .partition(|s| matches!(s.role, Role::Broker(_)));
    [zk, first, brokers, rest]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

/// Requested services the image set has no image for.
fn skipped(t: &Topology, options: &StartOptions) -> Vec<(crate::ServiceKind, String)> {
    use crate::ServiceKind as K;
    let s = options.services;
    [
        (s.schema_registry, K::SchemaRegistry, Role::SchemaRegistry),
        (s.connect, K::Connect, Role::Connect),
        (s.ui, K::Ui, Role::Ui),
        (s.ksqldb, K::Ksqldb, Role::Ksqldb),
        (s.redis, K::Redis, Role::Redis),
    ]
    .into_iter()
    .filter(|(on, _, role)| *on && !t.services.iter().any(|spec| spec.role == *role))
    .map(|(_, kind, _)| {
        (
            kind,
            format!(
                "the `{}` image set has no image for it",
                t.options.image_set
            ),
        )
    })
    .collect()
}
