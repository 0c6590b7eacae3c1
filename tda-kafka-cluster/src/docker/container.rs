//! Containers of the stack: the engine's create body for a [`ServiceSpec`]
//! (ports on the host address, named volumes, labels, health check), the
//! spec hash that decides whether a container must be recreated, and
//! idempotent create-and-start.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use sha2::{Digest, Sha256};

use super::topology::{ServiceSpec, Topology, IMAGE_SET_LABEL, NETWORK_LABEL, SERVICE_LABEL};
use super::{docker_err, is_status, DockerProvider, SPEC_LABEL};
use crate::{ClusterError, Result};

impl DockerProvider {
    pub(super) async fn spec_hash(&self, s: &ServiceSpec) -> Result<String> {
        let image_id = self
            .docker
            .inspect_image(&s.image)
            .await
            .map_err(|e| docker_err(format!("inspect image {}", s.image), e))?
            .id
            .unwrap_or_default();
        let json = serde_json::to_string(s).expect("a service spec always serializes");
        let digest = Sha256::digest(format!("{json}\0{image_id}").as_bytes());
        Ok(digest.iter().take(12).map(|b| format!("{b:02x}")).collect())
    }

    pub(super) fn container_body(
        &self,
        t: &Topology,
        s: &ServiceSpec,
        spec_hash: &str,
    ) -> ContainerCreateBody {
        let mut labels = self.stack_labels();
        labels.insert(SERVICE_LABEL.into(), s.key.clone());
        labels.insert(IMAGE_SET_LABEL.into(), t.options.image_set.as_str().into());
        labels.insert(SPEC_LABEL.into(), spec_hash.into());
        labels.insert(
            NETWORK_LABEL.into(),
            serde_json::to_string(&t.ports).expect("ports always serialize"),
        );
        let mut port_bindings = HashMap::new();
        let mut exposed = Vec::new();
        for p in &s.ports {
            let key = format!("{}/tcp", p.container_port);
            exposed.push(key.clone());
            port_bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.to_string()),
                }]),
            );
        }
        let mounts = s
            .volumes
            .iter()
            .map(|v| Mount {
                target: Some(v.target.clone()),
                source: Some(v.volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .collect();
        let nanos = |secs: u64| (secs as i64) * 1_000_000_000;
        ContainerCreateBody {
            hostname: Some(s.key.clone()),
            image: Some(s.image.clone()),
            cmd: (!s.command.is_empty()).then(|| s.command.clone()),
            env: Some(
                s.environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            exposed_ports: Some(exposed),
            labels: Some(labels),
            healthcheck: s.healthcheck.as_ref().map(|h| HealthConfig {
                test: Some(h.test.clone()),
                interval: Some(nanos(h.interval_secs)),
                timeout: Some(nanos(h.timeout_secs)),
                retries: Some(h.retries.into()),
                start_period: Some(nanos(h.start_period_secs)),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(mounts),
                network_mode: Some(t.network.clone()),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    t.network.clone(),
                    EndpointSettings {
                        aliases: Some(vec![s.key.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        }
    }

    /// Makes the container of `s` exist with the current spec and run it.
    /// Returns whether this call started it.
    pub(super) async fn ensure_container(&self, t: &Topology, s: &ServiceSpec) -> Result<bool> {
        let hash = self.spec_hash(s).await?;
        let name = &s.container_name;
        match self.docker.inspect_container(name, None).await {
            Ok(info) => {
                let same = info
                    .config
                    .as_ref()
                    .and_then(|c| c.labels.as_ref())
                    .and_then(|l| l.get(SPEC_LABEL))
                    .is_some_and(|h| *h == hash);
                let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
                if same && running {
                    return Ok(false);
                }
                if !same {
                    // Changed spec or image: recreate (volumes keep the data).
                    self.docker
                        .remove_container(
                            name,
                            Some(RemoveContainerOptions {
                                force: true,
                                // Anonymous volumes only; named ones keep the data.
                                v: true,
                                ..Default::default()
                            }),
                        )
                        .await
                        .map_err(|e| docker_err(format!("remove container {name}"), e))?;
                    self.create_container(t, s, &hash).await?;
                }
            }
            Err(e) if is_status(&e, 404) => self.create_container(t, s, &hash).await?,
            Err(e) => return Err(docker_err(format!("inspect container {name}"), e)),
        }
        match self.docker.start_container(name, None).await {
            Ok(()) => Ok(true),
            Err(e) if is_status(&e, 304) => Ok(false),
            Err(e) => Err(docker_err(format!("start container {name}"), e)),
        }
    }

    pub(super) async fn create_container(
        &self,
        t: &Topology,
        s: &ServiceSpec,
        hash: &str,
    ) -> Result<()> {
        let opts = CreateContainerOptions {
            name: Some(s.container_name.clone()),
            ..Default::default()
        };
        match self
            .docker
            .create_container(Some(opts), self.container_body(t, s, hash))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Err(ClusterError::ImageMissing {
                image: s.image.clone(),
                image_set: t.options.image_set.to_string(),
            }),
            Err(e) => Err(docker_err(
                format!("create container {}", s.container_name),
                e,
            )),
        }
    }
}
