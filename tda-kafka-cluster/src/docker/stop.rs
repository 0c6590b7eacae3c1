//! Stopping the stack (dependants first, brokers next, ZooKeeper last,
//! each rank in parallel) and removing exactly what carries the stack label.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    KillContainerOptions, ListContainersOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions,
};

use super::state::member_of;
use super::topology::{Role, ServiceSpec, STACK_LABEL};
use super::{docker_err, is_status, DockerProvider};
use crate::{
    Progress, ProgressEvent, Result, Step, StopMode, StopOptions, StopOutcome, StopReport,
};

fn stop_step(s: &ServiceSpec) -> Step {
    match s.role {
        Role::Broker(n) => Step::StopNode { node_id: n },
        Role::SchemaRegistry => Step::StopRegistry,
        _ => Step::Other {
            name: format!("stopping {}", s.container_name),
        },
    }
}

impl DockerProvider {
    pub(super) async fn stop_stack(
        &self,
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> Result<StopReport> {
        let t = self.topology();
        let mut stopped = Vec::new();
        // Dependants first, brokers next, ZooKeeper last (reverse start order).
        let rank = |s: &ServiceSpec| match s.role {
            Role::Zookeeper(_) => 2,
            Role::Broker(_) => 1,
            _ => 0,
        };
        // Each rank is stopped in parallel: the KRaft controllers of a
        // combined-mode cluster need each other's quorum for a controlled
        // shutdown, so stopping them one by one leaves the last one hanging.
        for r in 0..=2 {
            let group: Vec<&ServiceSpec> = t.services.iter().filter(|s| rank(s) == r).collect();
            if group.is_empty() {
                continue;
            }
            for s in &group {
                progress.report(ProgressEvent::Started { step: stop_step(s) });
            }
            let outcomes = futures::future::join_all(
                group
                    .iter()
                    .map(|s| self.stop_container(&s.container_name, options)),
            )
            .await;
            for (s, outcome) in group.iter().zip(outcomes) {
                let outcome = outcome?;
                progress.report(ProgressEvent::Finished {
                    step: stop_step(s),
                    detail: outcome.to_string(),
                });
                stopped.push((member_of(s.role), outcome));
            }
        }
        let mut removed = Vec::new();
        let mut notes = Vec::new();
        if options.remove_containers || options.remove_data {
            removed.extend(self.remove_all_containers().await?);
            removed.extend(self.remove_network().await?);
        }
        if options.remove_data {
            progress.report(ProgressEvent::Started {
                step: crate::Step::RemoveData,
            });
            removed.extend(self.remove_volumes().await?);
            let secrets = super::topology::secrets_dir(&self.options.name);
            match std::fs::remove_dir_all(&secrets) {
                Ok(()) => removed.push(format!("secret files in {}", secrets.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::ClusterError::io("cannot remove", &secrets)(e)),
            }
            progress.report(ProgressEvent::Finished {
                step: crate::Step::RemoveData,
                detail: format!("{} removed", removed.len()),
            });
        } else {
            notes.push(format!("data kept in volumes {}_*", self.options.name));
        }
        Ok(StopReport {
            stopped,
            removed,
            notes,
        })
    }

    pub(super) async fn stop_container(
        &self,
        name: &str,
        options: &StopOptions,
    ) -> Result<StopOutcome> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(i) => i,
            Err(e) if is_status(&e, 404) => return Ok(StopOutcome::NotRunning),
            Err(e) => return Err(docker_err(format!("inspect container {name}"), e)),
        };
        let running = info.state.and_then(|s| s.running).unwrap_or(false);
        let outcome = if !running {
            StopOutcome::NotRunning
        } else if options.mode == StopMode::Force {
            match self
                .docker
                .kill_container(
                    name,
                    Some(KillContainerOptions {
                        signal: "SIGKILL".into(),
                    }),
                )
                .await
            {
                Ok(()) => StopOutcome::Killed {
                    after_timeout: false,
                },
                Err(e) if is_status(&e, 409) || is_status(&e, 404) => StopOutcome::NotRunning,
                Err(e) => return Err(docker_err(format!("kill container {name}"), e)),
            }
        } else {
            let t0 = Instant::now();
            let secs = options.graceful_timeout.as_secs().clamp(1, 600) as i32;
            match self
                .docker
                .stop_container(
                    name,
                    Some(StopContainerOptions {
                        t: Some(secs),
                        signal: None,
                    }),
                )
                .await
            {
                Ok(()) => {
                    let after = t0.elapsed();
                    // The engine kills after `t` seconds; report that honestly.
                    let code = self
                        .docker
                        .inspect_container(name, None)
                        .await
                        .ok()
                        .and_then(|i| i.state)
                        .and_then(|s| s.exit_code);
                    if code == Some(137) && after >= Duration::from_secs(secs as u64) {
                        StopOutcome::Killed {
                            after_timeout: true,
                        }
                    } else {
                        StopOutcome::Stopped { after }
                    }
                }
                Err(e) if is_status(&e, 304) || is_status(&e, 404) => StopOutcome::NotRunning,
                Err(e) => return Err(docker_err(format!("stop container {name}"), e)),
            }
        };
        Ok(outcome)
    }

    /// Every container, volume and network labelled with this stack: what
    /// `--clean-all` removes, and what a test checks is gone afterwards.
    pub async fn leftovers(&self) -> Result<Vec<String>> {
        let label = format!("{STACK_LABEL}={}", self.options.name);
        let filters = HashMap::from([("label".to_string(), vec![label.clone()])]);
        let mut out = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| docker_err("list containers", e))?;
        for c in containers {
            for n in c.names.unwrap_or_default() {
                out.push(format!("container {}", n.trim_start_matches('/')));
            }
        }
        for v in self.our_volumes().await? {
            out.push(format!("volume {v}"));
        }
        let networks = self
            .docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| docker_err("list networks", e))?;
        for n in networks {
            out.push(format!("network {}", n.name.unwrap_or_default()));
        }
        Ok(out)
    }

    pub(super) async fn remove_all_containers(&self) -> Result<Vec<String>> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{STACK_LABEL}={}", self.options.name)],
        )]);
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| docker_err("list containers", e))?;
        let mut removed = Vec::new();
        for c in containers {
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            match self
                .docker
                .remove_container(
                    &name,
                    Some(RemoveContainerOptions {
                        force: true,
                        // Anonymous volumes (image VOLUMEs not mounted by
                        // name) go with the container; named ones are ours
                        // to remove with --remove-volumes.
                        v: true,
                        link: false,
                    }),
                )
                .await
            {
                Ok(()) => removed.push(format!("container {name}")),
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(docker_err(format!("remove container {name}"), e)),
            }
        }
        Ok(removed)
    }

    pub(super) async fn remove_volumes(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for v in self.our_volumes().await? {
            match self
                .docker
                .remove_volume(&v, Some(RemoveVolumeOptions { force: true }))
                .await
            {
                Ok(()) => removed.push(format!("volume {v}")),
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(docker_err(format!("remove volume {v}"), e)),
            }
        }
        Ok(removed)
    }

    pub(super) async fn remove_network(&self) -> Result<Vec<String>> {
        let name = self.options.network_name();
        match self.docker.remove_network(&name).await {
            Ok(()) => Ok(vec![format!("network {name}")]),
            Err(e) if is_status(&e, 404) => Ok(Vec::new()),
            Err(e) => Err(docker_err(format!("remove network {name}"), e)),
        }
    }
}
