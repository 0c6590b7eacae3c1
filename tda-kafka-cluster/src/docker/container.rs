//! Containers of the stack: the engine's create body for a [`ServiceSpec`]
//! (ports on the host address, named volumes, secret files bind-mounted
//! read-only, labels, health check), the spec hash that decides whether a
//! container must be recreated, the secret files on the host (mode 0600),
//! and idempotent create-and-start.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use sha2::{Digest, Sha256};

use super::topology::{
    ServiceSpec, Topology, IMAGE_SET_LABEL, NETWORK_LABEL, SERVICE_LABEL, ZOOKEEPER_LABEL,
};
use super::{docker_err, is_status, DockerProvider, SPEC_LABEL};
use crate::{ClusterError, Result};

/// The spec hash of `s` on image `image_id`: the serialized spec (secret
/// contents show as `***` there) plus a digest of every secret file's
/// contents, so a changed password recreates the container while neither the
/// password nor its own digest reaches the label (only 12 bytes of the
/// digest of everything).
fn spec_digest(s: &ServiceSpec, image_id: &str) -> String {
    let json = serde_json::to_string(s).expect("a service spec always serializes");
    let mut h = Sha256::new();
    h.update(json.as_bytes());
    h.update([0]);
    h.update(image_id.as_bytes());
    for f in &s.secret_files {
        h.update([0]);
        h.update(f.target_path.as_bytes());
        h.update([0]);
        h.update(Sha256::digest(f.contents.expose().as_bytes()));
    }
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `contents` to `path` readable and writable by its owner only
/// (0600; directories 0700), replacing it atomically.
pub(super) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().expect("a secret file has a directory");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(ClusterError::io("cannot create", dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(ClusterError::io("cannot protect", dir))?;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(ClusterError::io("cannot create", &tmp))?;
    // The mode given at creation is filtered by the umask; set it exactly.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| f.write_all(contents))
        .and_then(|()| f.sync_all())
        .map_err(ClusterError::io("cannot write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(ClusterError::io("cannot replace", path))
}

/// Writes the secret files of service `s` of `t`.
fn write_service_secrets(t: &Topology, s: &ServiceSpec) -> Result<()> {
    for f in &s.secret_files {
        write_private(
            &f.host_path(&t.options.name),
            f.contents.expose().as_bytes(),
        )?;
    }
    Ok(())
}

impl DockerProvider {
    pub(super) async fn spec_hash(&self, s: &ServiceSpec) -> Result<String> {
        let image_id = self
            .docker
            .inspect_image(&s.image)
            .await
            .map_err(|e| docker_err(format!("inspect image {}", s.image), e))?
            .id
            .unwrap_or_default();
        Ok(spec_digest(s, &image_id))
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
        if let Some(zk) = &t.zookeeper {
            labels.insert(
                ZOOKEEPER_LABEL.into(),
                serde_json::to_string(zk).expect("ZooKeeper settings always serialize"),
            );
        }
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
            .chain(s.secret_files.iter().map(|f| Mount {
                target: Some(f.target_path.clone()),
                source: Some(f.host_path(&t.options.name).display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(true),
                ..Default::default()
            }))
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
    /// Its secret files are (re)written first, so a created or restarted
    /// container finds them.
    pub(super) async fn ensure_container(&self, t: &Topology, s: &ServiceSpec) -> Result<bool> {
        write_service_secrets(t, s)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::topology::{self, StackOptions};
    use tda_kafka_config::{ClusterConfig, SecretString, SecurityProtocol};

    fn broker_with(password: &str) -> ServiceSpec {
        let mut c = ClusterConfig::default();
        c.security.protocol = SecurityProtocol::Ssl;
        c.security.ssl_keystore_password = Some(SecretString::new(password));
        let t = topology::build(&c, &StackOptions::default());
        t.service("kafka-1").unwrap().clone()
    }

    #[test]
    fn spec_hash_follows_the_secret_without_showing_it() {
        let a = broker_with("Sentinel-Pa55-a");
        let b = broker_with("Sentinel-Pa55-b");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap(),
            "the serialized spec must not depend on (or show) the secret"
        );
        assert!(!serde_json::to_string(&a).unwrap().contains("Sentinel"));
        assert_ne!(spec_digest(&a, "img"), spec_digest(&b, "img"));
        assert_eq!(spec_digest(&a, "img"), spec_digest(&a, "img"));
        assert_eq!(spec_digest(&a, "img").len(), 24);
    }

    #[test]
    fn private_files_are_0600_in_0700_directories() {
        let root = std::env::temp_dir().join(format!("tda-secret-test-{}", std::process::id()));
        let path = root.join("svc/server-secrets.properties");
        write_private(&path, b"a=1\n").unwrap();
        // Replacing keeps the mode whatever the umask, and the new contents.
        write_private(&path, b"a=2\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a=2\n");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
