//! The Docker provider: the seed's docker-compose topology as typed Rust,
//! provisioned through the Docker engine API (bollard).
//!
//! - [`topology`]: the stack as data (network `tda-kafka-network`, containers
//!   `tda_kafka_1..3`, `tda_schema_registry`, ..., named volumes, health checks,
//!   ports on 127.0.0.1);
//! - [`images`]: the image sets (`confluent`, `apache`, `local`) and the build
//!   of the `local` set without any registry;
//! - [`compose`]: the same topology rendered as a docker-compose file;
//! - [`DockerProvider`]: start / stop / status / logs, idempotent, with the
//!   same real readiness check as the local provider.
//!
//! Every object we create carries the label [`topology::STACK_LABEL`] with the
//! stack name, so `stop --clean-all` can find and remove exactly ours.

pub mod compose;
mod container;
pub mod images;
mod ready;
pub mod topology;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, HealthStatusEnum, HostConfig, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptionsBuilder, KillContainerOptions, ListContainersOptions,
    ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions,
};
use bollard::Docker;
use futures::{Stream, StreamExt};
use serde::Serialize;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

pub use images::{build_local_images, BuildOptions, BuildReport, ImageSet};
pub use topology::{Services, StackOptions, Topology};

use crate::{
    ClusterError, ClusterProvider, ClusterState, ClusterStatus, Endpoints, NodeStatus,
    ProcessState, Progress, ProgressEvent, Result, ServiceEndpoint, ServiceStatus, StartOptions,
    StartReport, StopMode, StopOptions, StopOutcome, StopReport,
};
use topology::{Role, ServiceSpec, IMAGE_SET_LABEL, NETWORK_LABEL, SERVICE_LABEL, STACK_LABEL};

/// Label with the hash of a container's spec (and image id): a container
/// whose spec changed is recreated on start (its volumes are kept).
pub const SPEC_LABEL: &str = "io.tda-kafka.spec";

pub(crate) fn docker_err(
    operation: impl Into<String>,
    source: bollard::errors::Error,
) -> ClusterError {
    ClusterError::Docker {
        operation: operation.into(),
        source,
    }
}

fn is_status(e: &bollard::errors::Error, code: u16) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code, .. } if *status_code == code)
}

/// Connects to the local engine (`DOCKER_HOST` or `/var/run/docker.sock`),
/// negotiates the API version and checks that it answers.
pub async fn connect() -> Result<Docker> {
    let unavailable = |e: bollard::errors::Error| ClusterError::DockerUnavailable {
        message: e.to_string(),
    };
    let docker = Docker::connect_with_local_defaults().map_err(unavailable)?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| ClusterError::DockerUnavailable {
            message: "the engine did not answer within 10 s".into(),
        })?
        .map_err(unavailable)?;
    docker.ping().await.map_err(unavailable)?;
    Ok(docker)
}

/// Why a provider was chosen by [`detect_provider`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderChoice {
    /// `docker` or `local`.
    pub provider: &'static str,
    /// One line for the user, e.g. `Docker engine 20.10.24 with the local images`.
    pub reason: String,
}

/// Auto-detection: a working engine that has every image of `set` -> `docker`,
/// else `local` (JVM processes), with the reason.
pub async fn detect_provider(set: ImageSet) -> ProviderChoice {
    let docker = match connect().await {
        Ok(d) => d,
        Err(e) => {
            return ProviderChoice {
                provider: "local",
                reason: format!("no Docker engine ({e})"),
            }
        }
    };
    let version = docker
        .version()
        .await
        .ok()
        .and_then(|v| v.version)
        .unwrap_or_default();
    let t = topology::build(
        &ClusterConfig::default(),
        &StackOptions {
            image_set: set,
            ..StackOptions::default()
        },
    );
    for s in &t.services {
        match images::image_exists(&docker, &s.image).await {
            Ok(true) => {}
            _ => {
                return ProviderChoice {
                    provider: "local",
                    reason: format!(
                        "Docker engine {version} is running but image {} (set `{set}`) is missing; `tda-kafka images build` makes the local set",
                        s.image
                    ),
                }
            }
        }
    }
    ProviderChoice {
        provider: "docker",
        reason: format!("Docker engine {version} with the `{set}` images"),
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
    /// `running`, `exited`, `created`, ... or `absent`.
    pub state: String,
    /// `healthy`, `starting`, `unhealthy`, or `none`.
    pub health: String,
    /// Host pid of the main process, when running.
    pub pid: Option<u32>,
    /// Published ports, `127.0.0.1:19092->19092`.
    pub ports: Vec<String>,
}

impl ContainerStatus {
    fn running(&self) -> bool {
        self.state == "running"
    }

    fn healthy(&self) -> bool {
        self.running() && (self.health == "healthy" || self.health == "none")
    }
}

/// The Docker provider for one stack.
#[derive(Debug, Clone)]
pub struct DockerProvider {
    docker: Docker,
    config: ClusterConfig,
    /// What runs (adopted from existing containers) or, if nothing does, what was asked.
    options: StackOptions,
    /// What was asked: `start` provisions this.
    requested: StackOptions,
    pull: bool,
}

impl DockerProvider {
    /// A provider for the stack `options` of `config`, on the local engine.
    ///
    /// When containers of the stack already exist, their recorded image set,
    /// services, broker count and ports win over `config` and `options` for
    /// `status`, `stop` and `logs` (what runs is the truth); `start` always
    /// uses the configuration it is given.
    pub async fn connect(config: ClusterConfig, options: StackOptions) -> Result<Self> {
        let mut p = Self {
            docker: connect().await?,
            config,
            requested: options.clone(),
            options,
            pull: false,
        };
        p.adopt_existing().await?;
        Ok(p)
    }

    async fn adopt_existing(&mut self) -> Result<()> {
        let containers = self.list_ours().await?;
        let labels: Vec<HashMap<String, String>> =
            containers.into_iter().filter_map(|c| c.labels).collect();
        if labels.is_empty() {
            return Ok(());
        }
        let services: Vec<&str> = labels
            .iter()
            .filter_map(|l| l.get(SERVICE_LABEL).map(String::as_str))
            .collect();
        let brokers = services
            .iter()
            .filter(|s| s.starts_with("kafka-") && s[6..].parse::<u16>().is_ok())
            .count();
        if brokers > 0 {
            self.config.broker_count = brokers as u16;
        }
        if let Some(set) = labels
            .iter()
            .find_map(|l| l.get(IMAGE_SET_LABEL))
            .and_then(|s| s.parse::<ImageSet>().ok())
        {
            self.options.image_set = set;
        }
        if let Some(net) = labels
            .iter()
            .find_map(|l| l.get(NETWORK_LABEL))
            .and_then(|j| serde_json::from_str(j).ok())
        {
            self.config.network = net;
        }
        let has = |k: &str| services.contains(&k);
        self.options.services = Services {
            schema_registry: has("schema-registry"),
            connect: has("kafka-connect"),
            ui: has("kafka-ui"),
            ksqldb: has("ksqldb"),
            redis: has("redis"),
        };
        Ok(())
    }

    async fn list_ours(&self) -> Result<Vec<bollard::models::ContainerSummary>> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{STACK_LABEL}={}", self.options.name)],
        )]);
        self.docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| docker_err("list containers", e))
    }

    /// The configuration this provider describes (after adopting a running stack).
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Pull missing images from their registry on start (`--pull`).
    pub fn with_pull(mut self, pull: bool) -> Self {
        self.pull = pull;
        self
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The stack options.
    pub fn options(&self) -> &StackOptions {
        &self.options
    }

    /// The topology this provider manages (for `config`).
    pub fn topology_for(&self, config: &ClusterConfig) -> Topology {
        topology::build(config, &self.options)
    }

    /// The topology for the provider's own configuration.
    pub fn topology(&self) -> Topology {
        self.topology_for(&self.config)
    }

    async fn ensure_images(&self, t: &Topology, progress: &dyn Progress) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &t.services {
            if !seen.insert(s.image.clone()) || images::image_exists(&self.docker, &s.image).await?
            {
                continue;
            }
            if !self.pull {
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
                        message: format!(
                            "{e}; without a reachable registry use `--images local` after `tda-kafka images build`"
                        ),
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

    fn stack_labels(&self) -> HashMap<String, String> {
        HashMap::from([(STACK_LABEL.to_string(), self.options.name.clone())])
    }

    async fn ensure_network(&self, t: &Topology) -> Result<bool> {
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
    async fn ensure_volumes(&self, t: &Topology) -> Result<Vec<String>> {
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

    async fn our_volumes(&self) -> Result<Vec<String>> {
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

    /// The state of every container of the topology (absent ones included).
    pub async fn containers(&self) -> Result<Vec<ContainerStatus>> {
        let t = self.topology();
        let mut out = Vec::new();
        for s in &t.services {
            out.push(self.container_status(s).await?);
        }
        Ok(out)
    }

    async fn container_status(&self, s: &ServiceSpec) -> Result<ContainerStatus> {
        let ports = s
            .ports
            .iter()
            .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
            .collect();
        match self.docker.inspect_container(&s.container_name, None).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                let status = state
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unknown".into());
                let running = state.running == Some(true);
                let health = state
                    .health
                    .filter(|_| running)
                    .and_then(|h| h.status)
                    .map(|h| match h {
                        HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => "none".to_string(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| "none".into());
                Ok(ContainerStatus {
                    service: s.key.clone(),
                    container: s.container_name.clone(),
                    image: s.image.clone(),
                    pid: state
                        .pid
                        .filter(|p| *p > 0 && state.running == Some(true))
                        .map(|p| p as u32),
                    state: status,
                    health,
                    ports,
                })
            }
            Err(e) if is_status(&e, 404) => Ok(ContainerStatus {
                service: s.key.clone(),
                container: s.container_name.clone(),
                image: s.image.clone(),
                state: "absent".into(),
                health: "none".into(),
                pid: None,
                ports,
            }),
            Err(e) => Err(docker_err(
                format!("inspect container {}", s.container_name),
                e,
            )),
        }
    }

    /// Waits until every service in `keys` reports healthy; fails early when one exits.
    async fn wait_healthy(
        &self,
        t: &Topology,
        keys: &[String],
        deadline: Instant,
        started: Instant,
        progress: &dyn Progress,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let step = crate::Step::Other {
            name: "waiting for container health checks".into(),
        };
        let mut last_report = Instant::now();
        loop {
            let mut pending = Vec::new();
            for key in keys {
                let s = t.service(key).expect("keys come from the topology");
                let st = self.container_status(s).await?;
                if !st.running() {
                    if st.state == "exited" || st.state == "dead" || st.state == "absent" {
                        return Err(ClusterError::ProcessDied {
                            name: format!("container {}", s.container_name),
                            exit: st.state.clone(),
                            log_file: format!("docker logs {}", s.container_name).into(),
                            log_tail: self.log_tail(&s.container_name, 30).await,
                        });
                    }
                    pending.push(format!("{} {}", s.key, st.state));
                } else if !st.healthy() {
                    pending.push(format!("{} {}", s.key, st.health));
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotReady {
                    waited: started.elapsed(),
                    last_problem: format!("containers not healthy: {}", pending.join(", ")),
                });
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                progress.report(ProgressEvent::Waiting {
                    step: step.clone(),
                    elapsed: started.elapsed(),
                    detail: format!("waiting for {}", pending.join(", ")),
                });
            }
            tokio::select! {
                _ = cancel.cancelled() => return Err(ClusterError::Interrupted { cleanup: String::new() }),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// The last `lines` lines of a container's output.
    pub async fn log_tail(&self, container: &str, lines: usize) -> String {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut out = String::new();
        let mut stream = self.docker.logs(container, Some(opts));
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&chunk.to_string());
        }
        out
    }

    /// The output of a service's container (`tda-kafka logs SERVICE [-f]`).
    /// `service` is a service key (`kafka-1`) or a container name (`tda_kafka_1`).
    pub fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> Result<impl Stream<Item = Result<String>> + '_> {
        let t = self.topology();
        let s = t
            .services
            .iter()
            .find(|s| s.key == service || s.container_name == service)
            .ok_or_else(|| ClusterError::Conflict {
                reason: format!(
                    "no service `{service}` in the stack; services: {}",
                    t.services
                        .iter()
                        .map(|s| s.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let name = s.container_name.clone();
        let opts = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            tail: tail.map_or_else(|| "all".into(), |n| n.to_string()),
            ..Default::default()
        };
        Ok(self.docker.logs(&name, Some(opts)).map(move |r| {
            r.map(|chunk| chunk.to_string())
                .map_err(|e| docker_err(format!("logs of {name}"), e))
        }))
    }

    async fn stop_container(&self, name: &str, options: &StopOptions) -> Result<StopOutcome> {
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

    /// Runs a one-off container of `image` with `cmd` on the stack network
    /// (like `docker-compose run --rm`), waits up to `timeout` for it to exit
    /// and returns its exit code and output. The container is removed.
    /// Example: a console consumer reading through `kafka-1:9092`.
    pub async fn run_in_network(
        &self,
        image: &str,
        cmd: &[&str],
        timeout: Duration,
    ) -> Result<(i64, String)> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!("{}_run_{nanos}", self.options.name);
        let body = ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            labels: Some(self.stack_labels()),
            env: Some(vec!["TOOL_HEAP_OPTS=-Xmx256m".into()]),
            host_config: Some(HostConfig {
                network_mode: Some(self.options.network_name()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| docker_err(format!("create container {name}"), e))?;
        let run = async {
            self.docker
                .start_container(&name, None)
                .await
                .map_err(|e| docker_err(format!("start container {name}"), e))?;
            let mut wait = self.docker.wait_container(&name, None);
            let code = match wait.next().await {
                Some(Ok(r)) => r.status_code,
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
                Some(Err(e)) => return Err(docker_err(format!("wait for {name}"), e)),
                None => -1,
            };
            Ok(code)
        };
        let result = tokio::time::timeout(timeout, run).await;
        let output = self.log_tail(&name, 10_000).await;
        let _ = self
            .docker
            .remove_container(
                &name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        match result {
            Ok(code) => Ok((code?, output)),
            Err(_) => Err(ClusterError::NotReady {
                waited: timeout,
                last_problem: format!("one-off container {name} did not exit; output:\n{output}"),
            }),
        }
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

    async fn remove_all_containers(&self) -> Result<Vec<String>> {
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

    async fn remove_volumes(&self) -> Result<Vec<String>> {
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

    async fn remove_network(&self) -> Result<Vec<String>> {
        let name = self.options.network_name();
        match self.docker.remove_network(&name).await {
            Ok(()) => Ok(vec![format!("network {name}")]),
            Err(e) if is_status(&e, 404) => Ok(Vec::new()),
            Err(e) => Err(docker_err(format!("remove network {name}"), e)),
        }
    }

    fn endpoints(&self, t: &Topology) -> Endpoints {
        let mut services = Vec::new();
        for s in &t.services {
            let Some(p) = s.ports.first() else { continue };
            let (name, description, scheme) = match s.role {
                Role::SchemaRegistry => (
                    "Schema Registry",
                    "REST API for schema management",
                    "http://",
                ),
                Role::Connect => (
                    "Kafka Connect",
                    "REST API for connector management",
                    "http://",
                ),
                Role::Ui => (
                    "Kafka UI",
                    "Web interface for cluster management",
                    "http://",
                ),
                Role::Ksqldb => ("KSQLDB Server", "Stream processing queries", "http://"),
                Role::Redis => ("Redis", "Caching and session management", "redis://"),
                Role::Zookeeper(_) | Role::Broker(_) => continue,
            };
            services.push(ServiceEndpoint {
                name: name.into(),
                address: format!("{scheme}{}:{}", p.host_ip, p.host_port),
                description: description.into(),
            });
        }
        for s in t.brokers() {
            if let Some(jmx) = s.ports.get(1) {
                services.push(ServiceEndpoint {
                    name: format!("JMX {}", s.key),
                    address: format!("{}:{}", jmx.host_ip, jmx.host_port),
                    description: "JVM metrics".into(),
                });
            }
        }
        Endpoints {
            bootstrap_servers: t.bootstrap_servers.clone(),
            internal_bootstrap_servers: Some(t.internal_bootstrap_servers.clone()),
            schema_registry_url: t.registry_url(),
            services,
        }
    }

    async fn status_of(&self, t: &Topology) -> Result<ClusterStatus> {
        let mut nodes = Vec::new();
        let mut registry = None;
        let mut any_container = false;
        for s in &t.services {
            let st = self.container_status(s).await?;
            any_container |= st.state != "absent";
            let state = match st.pid {
                Some(pid) if st.healthy() => ProcessState::Running { pid },
                Some(pid) => ProcessState::NotListening { pid },
                None => ProcessState::Stopped,
            };
            match s.role {
                Role::Broker(n) => nodes.push(NodeStatus {
                    node_id: n,
                    state,
                    address: format!("{}:{}", s.ports[0].host_ip, s.ports[0].host_port),
                    controller_address: format!("{}:{}", s.key, topology::CONTROLLER_PORT),
                    log: s.container_name.clone(),
                }),
                Role::SchemaRegistry => {
                    registry = Some(ServiceStatus {
                        name: s.key.clone(),
                        state,
                        url: t.registry_url().unwrap_or_default(),
                        log: s.container_name.clone(),
                    })
                }
                _ => {}
            }
        }
        let running = nodes
            .iter()
            .filter(|n| matches!(n.state, ProcessState::Running { .. }))
            .count();
        let alive = nodes.iter().filter(|n| n.state.is_alive()).count();
        let state = if !any_container {
            ClusterState::NotCreated
        } else if running == nodes.len() && !nodes.is_empty() {
            ClusterState::Running
        } else if alive > 0 {
            ClusterState::Partial
        } else {
            ClusterState::Stopped
        };
        Ok(ClusterStatus {
            provider: "docker",
            state,
            data_location: format!("docker volumes {}_*", self.options.name),
            nodes,
            registry,
            endpoints: self.endpoints(t),
        })
    }

    async fn start_inner(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        started_names: &mut Vec<String>,
    ) -> Result<StartReport> {
        let t0 = Instant::now();
        let deadline = t0 + options.ready_timeout;
        let mut t = topology::build(config, &self.requested);
        if !options.registry {
            t.services.retain(|s| s.role != Role::SchemaRegistry);
        }
        for note in &t.skipped {
            progress.report(ProgressEvent::Note {
                message: format!("not started: {note}"),
            });
        }
        if options.clean {
            progress.report(ProgressEvent::Started {
                step: crate::Step::RemoveData,
            });
            let mut removed = self.remove_all_containers().await?;
            removed.extend(self.remove_volumes().await?);
            progress.report(ProgressEvent::Finished {
                step: crate::Step::RemoveData,
                detail: if removed.is_empty() {
                    "nothing to remove".into()
                } else {
                    removed.join(", ")
                },
            });
        }
        let before = self.status_of(&t).await?;
        let all_healthy_before = {
            let mut ok = true;
            for s in &t.services {
                ok &= self.container_status(s).await?.healthy();
            }
            ok
        };
        self.ensure_images(&t, progress).await?;
        let net_created = self.ensure_network(&t).await?;
        if net_created {
            progress.report(ProgressEvent::Note {
                message: format!("created network {}", t.network),
            });
        }
        let created_volumes = self.ensure_volumes(&t).await?;
        let formatted = t.brokers().any(|b| {
            b.volumes
                .iter()
                .any(|v| created_volumes.contains(&v.volume))
        });
        // Stage 1: services nothing depends on first (ZooKeeper, brokers,
        // Redis), then, once those are healthy, their dependants.
        let (first, second): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) =
            t.services.iter().partition(|s| s.depends_on.is_empty());
        let (zk, first): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) = first
            .into_iter()
            .partition(|s| matches!(s.role, Role::Zookeeper(_)));
        let (brokers, rest): (Vec<&ServiceSpec>, Vec<&ServiceSpec>) = second
            .into_iter()
            .partition(|s| matches!(s.role, Role::Broker(_)));
        let mut started_nodes = Vec::new();
        let mut registry_started = false;
        for stage in [zk, first, brokers, rest] {
            if stage.is_empty() {
                continue;
            }
            for s in &stage {
                let step = match s.role {
                    Role::Broker(n) => crate::Step::StartNode { node_id: n },
                    Role::SchemaRegistry => crate::Step::StartRegistry,
                    _ => crate::Step::Other {
                        name: format!("starting {}", s.container_name),
                    },
                };
                progress.report(ProgressEvent::Started { step: step.clone() });
                let started = self.ensure_container(&t, s).await?;
                if started {
                    started_names.push(s.container_name.clone());
                    if let Role::Broker(n) = s.role {
                        started_nodes.push(n);
                    }
                    registry_started |= s.role == Role::SchemaRegistry;
                }
                progress.report(ProgressEvent::Finished {
                    step,
                    detail: if started {
                        format!("container {} started", s.container_name)
                    } else {
                        format!("container {} already running", s.container_name)
                    },
                });
            }
            let keys: Vec<String> = stage.iter().map(|s| s.key.clone()).collect();
            self.wait_healthy(&t, &keys, deadline, t0, progress, cancel)
                .await?;
            if stage.iter().any(|s| matches!(s.role, Role::Broker(_))) {
                // The same real check as the local provider: every broker in
                // the metadata and a produce/consume round trip, from the host.
                progress.report(ProgressEvent::Started {
                    step: crate::Step::WaitReady,
                });
                let detail = ready::wait_ready(config, deadline, t0, progress, cancel).await?;
                progress.report(ProgressEvent::Finished {
                    step: crate::Step::WaitReady,
                    detail,
                });
            }
        }
        if let Some(url) = t.registry_url() {
            ready::wait_registry(&url, deadline, t0, cancel).await?;
        }
        let topics = if options.create_topics {
            crate::topics::ensure_architecture(config, progress).await?
        } else {
            progress.report(ProgressEvent::Skipped {
                step: crate::Step::CreateTopics,
                reason: "--no-topics".into(),
            });
            Vec::new()
        };
        let status = self.status_of(&t).await?;
        Ok(StartReport {
            already_running: before.state == ClusterState::Running
                && all_healthy_before
                && started_names.is_empty(),
            started_nodes,
            formatted,
            ready_after: t0.elapsed(),
            topics,
            registry_started,
            endpoints: self.endpoints(&t),
            status,
        })
    }
}

impl ClusterProvider for DockerProvider {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> Result<StartReport> {
        let mut started = Vec::new();
        let result = self
            .start_inner(config, options, progress, &cancel, &mut started)
            .await;
        match result {
            Err(ClusterError::Interrupted { .. }) => {
                // Stop what this call started; keep containers and data.
                let stop = StopOptions {
                    mode: StopMode::Force,
                    ..StopOptions::default()
                };
                for name in &started {
                    let _ = self.stop_container(name, &stop).await;
                }
                Err(ClusterError::Interrupted {
                    cleanup: format!(
                        "stopped {} container(s) started by this call",
                        started.len()
                    ),
                })
            }
            other => other,
        }
    }

    async fn stop(&self, options: &StopOptions, progress: &dyn Progress) -> Result<StopReport> {
        let t = self.topology();
        let mut processes = Vec::new();
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
                let step = match s.role {
                    Role::Broker(n) => crate::Step::StopNode { node_id: n },
                    Role::SchemaRegistry => crate::Step::StopRegistry,
                    _ => crate::Step::Other {
                        name: format!("stopping {}", s.container_name),
                    },
                };
                progress.report(ProgressEvent::Started { step });
            }
            let outcomes = futures::future::join_all(
                group
                    .iter()
                    .map(|s| self.stop_container(&s.container_name, options)),
            )
            .await;
            for (s, outcome) in group.iter().zip(outcomes) {
                let outcome = outcome?;
                let step = match s.role {
                    Role::Broker(n) => crate::Step::StopNode { node_id: n },
                    Role::SchemaRegistry => crate::Step::StopRegistry,
                    _ => crate::Step::Other {
                        name: format!("stopping {}", s.container_name),
                    },
                };
                progress.report(ProgressEvent::Finished {
                    step,
                    detail: format!("{outcome:?}"),
                });
                processes.push((s.container_name.clone(), outcome));
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
            progress.report(ProgressEvent::Finished {
                step: crate::Step::RemoveData,
                detail: format!("{} removed", removed.len()),
            });
        } else {
            notes.push(format!(
                "data kept in volumes {}_*; `stop --remove-volumes` deletes it",
                self.options.name
            ));
        }
        Ok(StopReport {
            processes,
            removed,
            notes,
        })
    }

    async fn status(&self) -> Result<ClusterStatus> {
        self.status_of(&self.topology()).await
    }
}

/// `(service, container, image)` rows of a topology, for listings.
pub fn describe(t: &Topology) -> Vec<BTreeMap<&'static str, String>> {
    t.services
        .iter()
        .map(|s| {
            BTreeMap::from([
                ("service", s.key.clone()),
                ("container", s.container_name.clone()),
                ("image", s.image.clone()),
                (
                    "ports",
                    s.ports
                        .iter()
                        .map(|p| format!("{}:{}", p.host_ip, p.host_port))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ])
        })
        .collect()
}
