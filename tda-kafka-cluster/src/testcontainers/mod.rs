//! testcontainers fixtures on the local images (feature `testcontainers`):
//! a single KRaft broker, a multi-broker KRaft cluster and an Apicurio schema
//! registry, each reachable **from the host** (`127.0.0.1:<free port>`) and
//! **from other containers on the same network** (`<container>:9092`).
//!
//! Each broker advertises two listeners, which is what the usual Kafka
//! modules get wrong: `INTERNAL://<container-name>:9092` for containers and
//! `EXTERNAL://127.0.0.1:<host port>` for the host, with the host port chosen
//! before the container starts (so it can be advertised) and published on
//! 127.0.0.1 only. Fixtures are ready when the shared readiness probe passes
//! (all brokers in the metadata and a produce/consume round trip), not when a
//! log line appears.
//!
//! Build the images once with `tda-kafka images build` (or
//! [`crate::docker::build_local_images`]). Containers and the network are
//! removed when the fixture is dropped.
//!
//! ```no_run
//! # async fn demo() -> tda_kafka_cluster::Result<()> {
//! use tda_kafka_cluster::testcontainers::{KafkaCluster, SchemaRegistry};
//!
//! let kafka = KafkaCluster::start(3).await?;
//! let registry = SchemaRegistry::start_on(kafka.network()).await?;
//! // From the test process:
//! let bootstrap = kafka.bootstrap_servers();          // 127.0.0.1:P1,127.0.0.1:P2,...
//! let url = registry.url();                           // http://127.0.0.1:P/apis/ccompat/v7
//! // From another container started with `.with_network(kafka.network())`:
//! let internal = kafka.internal_bootstrap_servers();  // tdatc-...-kafka-1:9092,...
//! # let _ = (bootstrap, url, internal); Ok(()) }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ::testcontainers::core::{ContainerPort, IntoContainerPort, WaitFor};
use ::testcontainers::runners::AsyncRunner;
use ::testcontainers::{ContainerAsync, Image, ImageExt};
use tda_kafka_config::ClusterConfig;

use crate::docker::images::local;
use crate::docker::topology::{self, Role, StackOptions};
use crate::docker::{ImageSet, Services};
use crate::local::REGISTRY_API;
use crate::poll::{Attempt, Wait};
use crate::{ClusterError, Result, ServiceAddress, ServiceKind};

/// Bound on waiting for a fixture to be ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// One of our local images with its environment and command.
#[derive(Debug, Clone)]
pub struct LocalImage {
    name: String,
    tag: String,
    env: BTreeMap<String, String>,
    cmd: Vec<String>,
    ports: Vec<ContainerPort>,
}

impl LocalImage {
    fn new(reference: &str) -> Self {
        let (name, tag) = reference.split_once(':').unwrap_or((reference, "latest"));
        Self {
            name: name.into(),
            tag: tag.into(),
            env: BTreeMap::new(),
            cmd: Vec::new(),
            ports: Vec::new(),
        }
    }
}

impl Image for LocalImage {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // Readiness is checked by the fixtures with a real probe.
        vec![WaitFor::Nothing]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.cmd.iter().map(String::as_str)
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &self.ports
    }
}

fn fixture_err(
    fixture: &str,
) -> impl Fn(::testcontainers::TestcontainersError) -> ClusterError + '_ {
    move |e| {
        ClusterError::Fixture {
        fixture: fixture.into(),
        message: format!(
            "{e} (are the local images built? run `tda-kafka images build`; is a Docker engine running?)"
        ),
    }
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; chosen before the
/// container starts so the broker can advertise it).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| ClusterError::Fixture {
        fixture: "port".into(),
        message: format!("cannot find a free port: {e}"),
    })?;
    Ok(l.local_addr().map(|a| a.port()).unwrap_or_default())
}

/// `n` consecutive free ports on 127.0.0.1 (the typed topology numbers the
/// brokers' external ports from a base port).
fn free_port_range(n: u16) -> Result<u16> {
    for _ in 0..100 {
        let base = free_port()?;
        if base.checked_add(n).is_none() {
            continue;
        }
        let held: Vec<_> = (1..n)
            .map_while(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == usize::from(n - 1) {
            return Ok(base);
        }
    }
    Err(ClusterError::Fixture {
        fixture: "port".into(),
        message: format!("no {n} consecutive free ports found"),
    })
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique name prefix for one fixture: `tdatc-<pid>-<n>`.
fn unique_prefix() -> String {
    format!(
        "tdatc-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Publishes every mapped port on 127.0.0.1 only.
fn loopback_only(hc: &mut bollard::models::HostConfig) {
    if let Some(bindings) = hc.port_bindings.as_mut() {
        for list in bindings.values_mut().flatten() {
            for b in list.iter_mut() {
                b.host_ip = Some("127.0.0.1".into());
            }
        }
    }
}

/// A KRaft cluster of `n` broker+controller containers (also `n = 1`).
pub struct KafkaCluster {
    nodes: Vec<ContainerAsync<LocalImage>>,
    network: String,
    names: Vec<String>,
    config: ClusterConfig,
}

impl std::fmt::Debug for KafkaCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaCluster")
            .field("network", &self.network)
            .field("containers", &self.names)
            .field("bootstrap", &self.bootstrap_servers())
            .finish()
    }
}

/// A single KRaft broker (a [`KafkaCluster`] of one).
pub type KafkaBroker = KafkaCluster;

impl KafkaCluster {
    /// Starts `n` brokers on a new network and waits until they are ready.
    pub async fn start(n: u16) -> Result<Self> {
        let prefix = unique_prefix();
        Self::start_named(n, &format!("{prefix}-net"), &prefix).await
    }

    /// A single broker on a new network.
    pub async fn single() -> Result<Self> {
        Self::start(1).await
    }

    /// Starts `n` brokers on `network` (created if missing, e.g. shared with
    /// other fixtures or application containers).
    pub async fn start_on(n: u16, network: &str) -> Result<Self> {
        Self::start_named(n, network, &unique_prefix()).await
    }

    async fn start_named(n: u16, network: &str, prefix: &str) -> Result<Self> {
        let what = format!("{n}-broker KRaft cluster");
        if n == 0 {
            return Err(ClusterError::Fixture {
                fixture: what,
                message: "at least one broker is needed".into(),
            });
        }
        let mut config = ClusterConfig {
            group_initial_rebalance_delay_ms: 0,
            num_network_threads: 2,
            num_io_threads: 2,
            topics: Vec::new(),
            ..ClusterConfig::default()
        }
        .fit_to_brokers(n);
        config.network.kafka_base_port = free_port_range(n)?;
        config.network.jmx_base_port = 0;
        let stack = StackOptions {
            name: prefix.into(),
            image_set: ImageSet::Local,
            services: Services::brokers_only(),
            heap: "512m".into(),
        };
        let t = topology::build(&config, &stack);
        let names: Vec<String> = (1..=n).map(|i| format!("{prefix}-kafka-{i}")).collect();
        let mut nodes = Vec::new();
        for s in t
            .services
            .iter()
            .filter(|s| matches!(s.role, Role::Broker(_)))
        {
            let Role::Broker(id) = s.role else { continue };
            let idx = usize::from(id - 1);
            let host_port = config.network.kafka_port(id);
            let mut image = LocalImage::new(local::KAFKA);
            for (k, v) in &s.environment {
                // Service keys `kafka-N` become the unique container names
                // (DNS names on the network; no aliases in testcontainers).
                let mut v = v.clone();
                for (j, name) in names.iter().enumerate().rev() {
                    v = v.replace(&format!("kafka-{}:", j + 1), &format!("{name}:"));
                }
                image.env.insert(k.clone(), v);
            }
            image.ports = vec![host_port.tcp(), topology::INTERNAL_KAFKA_PORT.tcp()];
            let container = image
                .with_container_name(&names[idx])
                .with_network(network)
                .with_mapped_port(host_port, host_port.tcp())
                .with_host_config_modifier(loopback_only)
                .with_label(topology::STACK_LABEL, prefix)
                .start()
                .await
                .map_err(fixture_err(&what))?;
            nodes.push(container);
        }
        let cluster = Self {
            nodes,
            network: network.into(),
            names,
            config,
        };
        cluster.wait_ready(&what).await?;
        Ok(cluster)
    }

    async fn wait_ready(&self, what: &str) -> Result<()> {
        let probed = wait_bounded(|| async {
            match crate::ready::probe(&self.config).await {
                Ok(()) => Attempt::Ready(()),
                Err(p) => Attempt::Pending(p),
            }
        })
        .await;
        let Err((waited, problem)) = probed else {
            return Ok(());
        };
        let mut logs = String::new();
        for n in &self.nodes {
            let out = n.stdout_to_vec().await.unwrap_or_default();
            let text = String::from_utf8_lossy(&out);
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            logs.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            logs.push('\n');
        }
        Err(ClusterError::Fixture {
            fixture: what.into(),
            message: format!(
                "not ready after {:.0} s: {problem}\nlast log lines:\n{logs}",
                waited.as_secs_f64()
            ),
        })
    }

    /// `127.0.0.1:<port>,...`: bootstrap servers for clients on the host.
    pub fn bootstrap_servers(&self) -> String {
        self.config.bootstrap_servers()
    }

    /// The configuration describing this cluster (ports, broker count,
    /// replication settings), e.g. for `config.client_properties()`.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// `<container>:9092,...`: bootstrap servers for containers on [`Self::network`].
    pub fn internal_bootstrap_servers(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("{n}:{}", topology::INTERNAL_KAFKA_PORT))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The Docker network the brokers are on.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The container names, node 1 first.
    pub fn container_names(&self) -> &[String] {
        &self.names
    }

    /// Number of brokers.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a cluster has at least one broker.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// An Apicurio Registry (Confluent-compatible API) container.
pub struct SchemaRegistry {
    container: ContainerAsync<LocalImage>,
    name: String,
    host_port: u16,
    network: String,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("container", &self.name)
            .field("url", &self.url())
            .finish()
    }
}

impl SchemaRegistry {
    /// Starts a registry on `network` (e.g. [`KafkaCluster::network`]) and
    /// waits until `GET /apis/ccompat/v7/subjects` answers 200.
    pub async fn start_on(network: &str) -> Result<Self> {
        let what = "schema registry";
        let name = format!("{}-schema-registry", unique_prefix());
        let host_port = free_port()?;
        let mut image = LocalImage::new(local::REGISTRY);
        image.ports = vec![8081.tcp()];
        let container = image
            .with_container_name(&name)
            .with_network(network)
            .with_mapped_port(host_port, 8081.tcp())
            .with_host_config_modifier(loopback_only)
            .start()
            .await
            .map_err(fixture_err(what))?;
        let at = ServiceAddress::new("127.0.0.1", host_port, REGISTRY_API);
        wait_bounded(|| async {
            match crate::ready::probe_service(ServiceKind::SchemaRegistry, &at).await {
                Ok(_) => Attempt::Ready(()),
                Err(p) => Attempt::Pending(p),
            }
        })
        .await
        .map_err(|(waited, problem)| ClusterError::Fixture {
            fixture: what.into(),
            message: format!("not ready after {:.0} s: {problem}", waited.as_secs_f64()),
        })?;
        Ok(Self {
            container,
            name,
            host_port,
            network: network.into(),
        })
    }

    /// Starts a registry on a network of its own.
    pub async fn start() -> Result<Self> {
        Self::start_on(&format!("{}-net", unique_prefix())).await
    }

    /// `http://127.0.0.1:<port>/apis/ccompat/v7`, for clients on the host.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/apis/ccompat/v7", self.host_port)
    }

    /// `http://<container>:8081/apis/ccompat/v7`, for containers on the network.
    pub fn internal_url(&self) -> String {
        format!("http://{}:8081/apis/ccompat/v7", self.name)
    }

    /// The network it is on.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The container id.
    pub fn id(&self) -> &str {
        self.container.id()
    }
}

/// The crate's one wait loop, bounded by [`READY_TIMEOUT`]; the error is
/// `(waited, last problem)`.
async fn wait_bounded<F, Fut>(probe: F) -> std::result::Result<(), (Duration, String)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Attempt<()>>,
{
    let cancel = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    let wait = Wait {
        step: crate::Step::WaitReady,
        started,
        deadline: started + READY_TIMEOUT,
        progress: &crate::NoProgress,
        cancel: &cancel,
    };
    let mut last = None;
    match wait
        .until(probe, |waited, problem| {
            last = Some((waited, problem));
            ClusterError::interrupted()
        })
        .await
    {
        Ok(()) => Ok(()),
        Err(_) => Err(last.unwrap_or((started.elapsed(), "interrupted".into()))),
    }
}
