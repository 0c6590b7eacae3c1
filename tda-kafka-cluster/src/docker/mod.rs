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
mod run;
mod start;
mod state;
mod stop;
pub mod tls;
pub mod topology;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use bollard::Docker;
use tda_kafka_config::{ClusterConfig, MetadataMode};
use tokio_util::sync::CancellationToken;

pub use images::{build_local_images, BuildOptions, BuildReport, ImageSet};
pub use topology::{Services, StackOptions, Topology};

pub use state::{ContainerHealth, ContainerState, ContainerStatus};

use crate::{
    ClusterError, ClusterProvider, ClusterStatus, Progress, ProviderKind, Result, StartOptions,
    StartReport, StopMode, StopOptions, StopReport,
};
use topology::{IMAGE_SET_LABEL, NETWORK_LABEL, SERVICE_LABEL, STACK_LABEL, ZOOKEEPER_LABEL};

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

/// The first image of the stack's image set that the engine lacks, if any.
pub(crate) async fn first_missing_image(
    docker: &Docker,
    config: &ClusterConfig,
    stack: &StackOptions,
) -> Result<Option<String>> {
    for s in &topology::build(config, stack).services {
        if !images::image_exists(docker, &s.image).await? {
            return Ok(Some(s.image.clone()));
        }
    }
    Ok(None)
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
}

impl DockerProvider {
    /// A provider for the stack `options` of `config`, on the local engine.
    ///
    /// When containers of the stack already exist, their recorded image set,
    /// services, broker count, ports and metadata mode (with the ensemble's
    /// settings) win over `config` and `options` for `status`, `stop` and
    /// `logs` (what runs is the truth); `start` always uses the
    /// configuration it is given.
    pub async fn connect(config: ClusterConfig, options: StackOptions) -> Result<Self> {
        let mut p = Self {
            docker: connect().await?,
            config,
            requested: options.clone(),
            options,
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
        match labels
            .iter()
            .find_map(|l| l.get(ZOOKEEPER_LABEL))
            .and_then(|j| serde_json::from_str(j).ok())
        {
            Some(zk) => {
                self.config.metadata = MetadataMode::Zookeeper;
                self.config.zookeeper = zk;
            }
            None => self.config.metadata = MetadataMode::Kraft,
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

    /// Whether any container of the stack exists (running or not).
    pub async fn has_containers(&self) -> Result<bool> {
        Ok(!self.list_ours().await?.is_empty())
    }

    /// The configuration this provider describes (after adopting a running stack).
    pub fn config(&self) -> &ClusterConfig {
        &self.config
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
}

impl ClusterProvider for DockerProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Docker
    }

    fn backups_dir(&self) -> PathBuf {
        crate::dist::data_root()
            .join("docker")
            .join(&self.options.name)
            .join("backups")
    }

    async fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> Result<StartReport> {
        // Refused before anything starts: the set has no images for the mode.
        self.requested.image_set.check_runs(config.metadata)?;
        // Existing containers (adopted) keep their mode unless recreated:
        // the brokers' data is of one mode.
        if !options.clean && self.config.metadata != config.metadata {
            return Err(ClusterError::TopologyChanged {
                reason: format!(
                    "the containers of stack `{}` run {} mode, but {} mode was requested; \
                     recreating the stack deletes its data",
                    self.options.name, self.config.metadata, config.metadata
                ),
            });
        }
        if let (Some(dir), set @ (ImageSet::Apache | ImageSet::Confluent)) =
            (&config.security.tls_dir, self.requested.image_set)
        {
            // Refused before anything starts: the public images' entrypoints
            // cannot create the SCRAM users at storage format.
            return Err(ClusterError::Tls {
                dir: dir.into(),
                reason: format!(
                    "the `{set}` image set cannot run a generated secured cluster (its \
                     images cannot create SCRAM users at storage format); use the `local` \
                     image set (`tda-kafka images build`)"
                ),
            });
        }
        let mut started = Vec::new();
        let result = self
            .start_inner(config, options, progress, &cancel, &mut started)
            .await;
        let Err(e) = result else { return result };
        // Stop what this call started; containers and volumes stay for
        // `docker logs` and the next start.
        let stop = StopOptions {
            mode: StopMode::Force,
            ..StopOptions::default()
        };
        for name in &started {
            let _ = self.stop_container(name, &stop).await;
        }
        let cleanup = format!(
            "stopped {} container(s) started by this call",
            started.len()
        );
        Err(match e {
            ClusterError::Interrupted { .. } => ClusterError::Interrupted { cleanup },
            other => other,
        })
    }

    async fn stop(&self, options: &StopOptions, progress: &dyn Progress) -> Result<StopReport> {
        self.stop_stack(options, progress).await
    }

    async fn status(&self) -> Result<ClusterStatus> {
        self.status_of(&self.topology()).await
    }
}
