//! Image sets and the local image build (no registry needed).
//!
//! The `local` set is built on this machine:
//! 1. a JRE base image: `debootstrap --variant=minbase` of Debian bookworm with
//!    `openjdk-17-jre-headless`, `redis-server` and `curl`, imported with the
//!    engine's import API (the rootfs tarball is cached in the user cache);
//! 2. `tda-kafka/kafka`: the Kafka 4.4.0 jars (broker, tools, Connect runtime)
//!    resolved by Maven into the user cache, plus an entrypoint that configures
//!    the broker from `KAFKA_*` variables like the apache/kafka image does;
//! 3. `tda-kafka/connect`: the same jars running `ConnectDistributed`, with
//!    the FileStream connectors (connect-file 4.3.1) on its `plugin.path`;
//! 4. `tda-kafka/apicurio-registry`: Apicurio Registry 3.0.9 (its Confluent
//!    API under `/apis/ccompat/v7` only);
//! 5. `tda-kafka/schema-registry`: that registry behind the `tda-kafka`
//!    binary's root-path proxy (`tda-kafka registry-proxy`), so the seed's
//!    `http://HOST:8081/subjects` answers;
//! 6. `tda-kafka/console`: the `tda-kafka` binary running the web console;
//! 7. `tda-kafka/redis`: Debian's redis-server (already in the base);
//! 8. `tda-kafka/kafka-zk`: Kafka 3.9.1 with ZooKeeper 3.8.4 (the local
//!    provider's ZooKeeper-mode jars), running the ensemble's nodes and the
//!    ZooKeeper-mode brokers (`images/zookeeper.rs`).
//!
//! Every image carries a content label (a hash of its build inputs and of its
//! parent's label; for the `tda-kafka` binary a digest of its bytes); a build
//! whose image already has the same label is skipped.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;
use tda_kafka_config::MetadataMode;

use crate::{Progress, Result};

use super::docker_err;

mod base;
mod binary;
mod context;
mod zookeeper;

use base::build_base;
pub use base::{debian_mirror, mirror_from_sources};
pub use binary::{APICURIO_INTERNAL_PORT, BINARY, REGISTRY_DATA_DIR};
use context::{build_image, Context};
pub use zookeeper::ZOOKEEPER_DATA_DIR;

/// Label holding the hash of an image's build inputs.
pub const CONTENT_LABEL: &str = "io.tda-kafka.content";

pub use crate::dist::KAFKA_VERSION;
/// The Apicurio Registry version of the local images: the local provider's
/// ([`crate::dist::REGISTRY_VERSION`]).
pub use crate::dist::REGISTRY_VERSION as APICURIO_VERSION;

/// Names of the local images; the Kafka tags are [`KAFKA_VERSION`] (the
/// ZooKeeper-mode image's [`crate::dist::ZOOKEEPER_KAFKA_VERSION`]).
pub mod local {
    use crate::dist::{kafka_version, zookeeper_kafka_version};

    /// The JRE base image (Debian bookworm, OpenJDK 17, redis-server, curl).
    pub const BASE: &str = "tda-kafka/jre:17-bookworm";
    /// Kafka broker + tools + Connect runtime.
    pub const KAFKA: &str = concat!("tda-kafka/kafka:", kafka_version!());
    /// Kafka Connect (distributed worker).
    pub const CONNECT: &str = concat!("tda-kafka/connect:", kafka_version!());
    /// Apicurio Registry alone (Confluent-compatible API under
    /// `/apis/ccompat/v7`; in-memory storage unless configured).
    pub const REGISTRY: &str = "tda-kafka/apicurio-registry:3.0.9";
    /// The stack's schema registry: [`REGISTRY`] behind the `tda-kafka`
    /// root-path proxy (the Confluent API at `/` and at `/apis/ccompat/v7`).
    pub const SCHEMA_REGISTRY: &str = "tda-kafka/schema-registry:3.0.9";
    /// The web console (`tda-kafka ui`); tagged with the tools' version.
    pub const CONSOLE: &str = concat!("tda-kafka/console:", env!("CARGO_PKG_VERSION"));
    /// Redis from Debian.
    pub const REDIS: &str = "tda-kafka/redis:7-bookworm";
    /// ZooKeeper mode: Kafka 3.9 with ZooKeeper 3.8 (ensemble nodes and brokers).
    pub const KAFKA_ZOOKEEPER: &str = concat!("tda-kafka/kafka-zk:", zookeeper_kafka_version!());
}

/// Which images run the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageSet {
    /// The seed's Confluent Platform 7.5.0 images (needs Docker Hub); both
    /// metadata modes (the seed's topology is ZooKeeper mode).
    Confluent,
    /// apache/kafka 4.x in KRaft mode plus public companion images (needs Docker Hub).
    Apache,
    /// Images built here by `tda-kafka images build` (no registry); both
    /// metadata modes.
    #[default]
    Local,
}

impl ImageSet {
    /// All sets.
    pub const ALL: [ImageSet; 3] = [ImageSet::Confluent, ImageSet::Apache, ImageSet::Local];

    /// The set's name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confluent => "confluent",
            Self::Apache => "apache",
            Self::Local => "local",
        }
    }

    /// Whether the set's images run a cluster in `mode` (ZooKeeper mode
    /// needs a ZooKeeper image and brokers that still speak to it; the
    /// `apache` set is KRaft-only). The mode itself is the configuration's.
    pub fn runs(self, mode: MetadataMode) -> bool {
        self.images().kafka_for(mode).is_some()
    }

    /// [`ImageSet::runs`] as the error a Docker start (or `compose`) gives
    /// before anything starts.
    pub fn check_runs(self, mode: MetadataMode) -> Result<()> {
        if self.runs(mode) {
            return Ok(());
        }
        Err(crate::ClusterError::MetadataModeUnsupported {
            provider: "docker".into(),
            mode: mode.to_string(),
            reason: format!(
                "the {self} image set runs KRaft only; ZooKeeper mode runs with the local or confluent image set, or on the local provider"
            ),
        })
    }

    /// The image of every service in this set. `None`: the set has no image
    /// for the service (ksqlDB exists only as a public image; the `local`
    /// set's UI is our web console).
    pub fn images(self) -> ImageRefs {
        match self {
            Self::Confluent => ImageRefs {
                zookeeper: Some("confluentinc/cp-zookeeper:7.5.0".into()),
                kafka: "confluentinc/cp-kafka:7.5.0".into(),
                kafka_zookeeper: Some("confluentinc/cp-kafka:7.5.0".into()),
                schema_registry: Some("confluentinc/cp-schema-registry:7.5.0".into()),
                connect: Some("confluentinc/cp-kafka-connect:7.5.0".into()),
                ui: Some("provectuslabs/kafka-ui:v0.7.2".into()),
                ksqldb: Some("confluentinc/ksqldb-server:0.29.0".into()),
                redis: Some("redis:7-alpine".into()),
            },
            Self::Apache => ImageRefs {
                zookeeper: None,
                kafka: "apache/kafka:4.1.0".into(),
                kafka_zookeeper: None,
                schema_registry: Some(format!("apicurio/apicurio-registry:{APICURIO_VERSION}")),
                connect: Some("apache/kafka:4.1.0".into()),
                ui: Some("provectuslabs/kafka-ui:v0.7.2".into()),
                ksqldb: Some("confluentinc/ksqldb-server:0.29.0".into()),
                redis: Some("redis:7-alpine".into()),
            },
            Self::Local => ImageRefs {
                zookeeper: Some(local::KAFKA_ZOOKEEPER.into()),
                kafka: local::KAFKA.into(),
                kafka_zookeeper: Some(local::KAFKA_ZOOKEEPER.into()),
                schema_registry: Some(local::SCHEMA_REGISTRY.into()),
                connect: Some(local::CONNECT.into()),
                ui: Some(local::CONSOLE.into()),
                ksqldb: None,
                redis: Some(local::REDIS.into()),
            },
        }
    }
}

impl fmt::Display for ImageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageSet {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "confluent" => Ok(Self::Confluent),
            "apache" => Ok(Self::Apache),
            "local" => Ok(Self::Local),
            other => Err(format!(
                "unknown image set `{other}` (expected confluent, apache or local)"
            )),
        }
    }
}

/// The image of each service of an [`ImageSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRefs {
    /// ZooKeeper (ZooKeeper mode only).
    pub zookeeper: Option<String>,
    /// Kafka brokers (KRaft).
    pub kafka: String,
    /// Kafka brokers in ZooKeeper mode; `None`: the set runs KRaft only.
    pub kafka_zookeeper: Option<String>,
    /// Schema registry.
    pub schema_registry: Option<String>,
    /// Kafka Connect.
    pub connect: Option<String>,
    /// Kafka UI.
    pub ui: Option<String>,
    /// ksqlDB server.
    pub ksqldb: Option<String>,
    /// Redis.
    pub redis: Option<String>,
}

impl ImageRefs {
    /// The brokers' image in `mode`; `None` when the set cannot run it
    /// (ZooKeeper mode needs a ZooKeeper image as well).
    pub fn kafka_for(&self, mode: MetadataMode) -> Option<&str> {
        match mode {
            MetadataMode::Kraft => Some(&self.kafka),
            MetadataMode::Zookeeper => self
                .kafka_zookeeper
                .as_deref()
                .filter(|_| self.zookeeper.is_some()),
        }
    }
}

/// Where the rootfs tarball of the base image is cached:
/// `<user cache>/docker` (`~/.cache/tda-kafka/docker`).
pub fn cache_dir() -> PathBuf {
    crate::dist::cache_root()
}

/// Runs a blocking provisioning step (Maven) without stalling other tasks
/// of a multi-threaded runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Options of [`build_local_images`].
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Rebuild even when an image with the same content label exists.
    pub force: bool,
    /// The user cache (the base image's rootfs tarball goes to `<it>/docker`).
    pub cache_dir: PathBuf,
    /// Debian mirror for debootstrap; `None` reads `/etc/apt/sources.list.d`.
    pub debian_mirror: Option<String>,
    /// The `tda-kafka` binary copied into the registry and console images
    /// (`tda-kafka images build` passes itself). `None`: `TDA_KAFKA_BIN`,
    /// else those images are kept when they exist (and refused when not).
    pub tda_kafka_binary: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            force: false,
            cache_dir: cache_dir(),
            debian_mirror: std::env::var("TDA_KAFKA_DEBIAN_MIRROR").ok(),
            tda_kafka_binary: std::env::var_os("TDA_KAFKA_BIN")
                .filter(|b| !b.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildOutcome {
    /// Built (or imported) by this call.
    Built,
    /// An image with the same content label existed.
    Cached,
}

/// One image of a [`BuildReport`].
#[derive(Debug, Clone, Serialize)]
pub struct BuiltImage {
    /// Image name.
    pub image: String,
    /// Built or cached.
    pub outcome: BuildOutcome,
    /// The content label value.
    pub content: String,
    /// Time spent on it.
    #[serde(serialize_with = "secs")]
    pub took: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

/// What [`build_local_images`] did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Per image, in build order.
    pub images: Vec<BuiltImage>,
}

const ENTRYPOINT: &str = include_str!("assets/kafka-entrypoint.sh");
const LOG4J2: &str = include_str!("assets/log4j2.properties");
const TOOLS_LOG4J2: &str = include_str!("assets/tools-log4j2.properties");

/// Wrapper scripts named like the Confluent images' tools, so the seed's
/// health and debug commands (`kafka-broker-api-versions ...`) work here too.
const TOOLS: &[(&str, &str)] = &[
    (
        "kafka-console-producer",
        "org.apache.kafka.tools.ConsoleProducer",
    ),
    (
        "kafka-console-consumer",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
    ),
    ("kafka-topics", "org.apache.kafka.tools.TopicCommand"),
    (
        "kafka-broker-api-versions",
        "org.apache.kafka.tools.BrokerApiVersionsCommand",
    ),
    (
        "kafka-consumer-groups",
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    ),
    ("kafka-configs", "org.apache.kafka.tools.ConfigCommand"),
];

/// Builds the `local` image set (cached and incremental). Needs a running
/// engine, `debootstrap` (first build only) and `mvn` (first build only).
pub async fn build_local_images(
    docker: &Docker,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuildReport> {
    let mut images = Vec::new();
    let base = build_base(docker, options, progress).await?;
    let base_content = base.content.clone();
    images.push(base);

    // Kafka jars (broker, tools with the Connect runtime, log4j binding):
    // the same Maven-resolved distribution the local provider runs.
    let libs = blocking(|| crate::dist::KafkaDist::resolve(false, progress))?.libs;
    let mut kafka_ctx = Context::new();
    kafka_ctx.add_text("Dockerfile", &kafka_dockerfile(), 0o644);
    kafka_ctx.add_text("bin/tda-kafka-entrypoint", ENTRYPOINT, 0o755);
    for (tool, class) in TOOLS {
        kafka_ctx.add_text(
            &format!("bin/{tool}"),
            &format!("#!/bin/sh\nexec /opt/kafka/bin/tda-kafka-entrypoint class {class} \"$@\"\n"),
            0o755,
        );
    }
    kafka_ctx.add_text("config/log4j2.properties", LOG4J2, 0o644);
    kafka_ctx.add_text("config/tools-log4j2.properties", TOOLS_LOG4J2, 0o644);
    kafka_ctx.add_dir_files("libs", &libs, "jar")?;
    let kafka = build_image(
        docker,
        local::KAFKA,
        &base_content,
        kafka_ctx,
        options,
        progress,
    )
    .await?;
    let kafka_content = kafka.content.clone();
    images.push(kafka);

    // The FileStream connectors, as the local provider resolves them.
    let plugins = blocking(|| crate::dist::ConnectPlugins::resolve(false, progress))?;
    let mut connect_ctx = Context::new();
    connect_ctx.add_text("Dockerfile", &connect_dockerfile(), 0o644);
    for plugin in plugins.plugins()? {
        let name = plugin.file_name().unwrap_or_default().to_string_lossy();
        connect_ctx.add_dir_files(&format!("plugins/{name}"), &plugin, "jar")?;
    }
    images.push(
        build_image(
            docker,
            local::CONNECT,
            &kafka_content,
            connect_ctx,
            options,
            progress,
        )
        .await?,
    );

    let registry = blocking(|| crate::dist::RegistryDist::resolve(false, progress))?;
    let mut reg_ctx = Context::new();
    reg_ctx.add_text("Dockerfile", &registry_dockerfile(), 0o644);
    reg_ctx.add_tree("apicurio", &registry.home)?;
    let apicurio = build_image(
        docker,
        local::REGISTRY,
        &base_content,
        reg_ctx,
        options,
        progress,
    )
    .await?;
    let apicurio_content = apicurio.content.clone();
    images.push(apicurio);
    images.extend(
        binary::build_binary_images(docker, &apicurio_content, &base_content, options, progress)
            .await?,
    );

    let mut redis_ctx = Context::new();
    redis_ctx.add_text("Dockerfile", &redis_dockerfile(), 0o644);
    images.push(
        build_image(
            docker,
            local::REDIS,
            &base_content,
            redis_ctx,
            options,
            progress,
        )
        .await?,
    );
    images.push(zookeeper::build_kafka_zookeeper(docker, &base_content, options, progress).await?);
    Ok(BuildReport { images })
}

fn kafka_dockerfile() -> String {
    format!(
        "FROM {base}\n\
         COPY libs/ /opt/kafka/libs/\n\
         COPY config/ /opt/kafka/config/\n\
         COPY bin/ /opt/kafka/bin/\n\
         ENV PATH=/opt/kafka/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         VOLUME [\"/var/lib/kafka/data\"]\n\
         EXPOSE 9092 9093\n\
         ENTRYPOINT [\"/opt/kafka/bin/tda-kafka-entrypoint\"]\n\
         CMD [\"broker\"]\n",
        base = local::BASE
    )
}

/// Connect: the Kafka image running the worker, plugins in `/opt/kafka/plugins`.
fn connect_dockerfile() -> String {
    format!(
        "FROM {}\nCOPY plugins/ {PLUGIN_DIR}/\nEXPOSE 8083\nCMD [\"connect\"]\n",
        local::KAFKA
    )
}

/// Where the `local` Connect image keeps its plugins (one directory each).
pub const PLUGIN_DIR: &str = "/opt/kafka/plugins";

fn registry_dockerfile() -> String {
    format!(
        "FROM {base}\n\
         COPY apicurio/ /opt/apicurio/\n\
         ENV QUARKUS_HTTP_HOST=0.0.0.0 QUARKUS_HTTP_PORT=8081 JAVA_TOOL_OPTIONS=-Xmx512m\n\
         EXPOSE 8081\n\
         WORKDIR /opt/apicurio\n\
         ENTRYPOINT [\"java\", \"-jar\", \"/opt/apicurio/apicurio-registry-app-{APICURIO_VERSION}-runner.jar\"]\n",
        base = local::BASE
    )
}

fn redis_dockerfile() -> String {
    format!(
        "FROM {base}\n\
         VOLUME [\"/data\"]\n\
         EXPOSE 6379\n\
         ENTRYPOINT [\"redis-server\"]\n\
         CMD [\"--bind\", \"0.0.0.0\", \"--protected-mode\", \"no\", \"--port\", \"6379\", \"--dir\", \"/data\", \"--appendonly\", \"yes\"]\n",
        base = local::BASE
    )
}

/// The content label of `image`, if the image exists.
pub async fn image_content(docker: &Docker, image: &str) -> Result<Option<String>> {
    match docker.inspect_image(image).await {
        Ok(info) => Ok(info
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(CONTENT_LABEL).cloned())
            .or(Some(String::new()))),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(docker_err(format!("inspect image {image}"), e)),
    }
}

/// Whether `image` exists in the engine.
pub async fn image_exists(docker: &Docker, image: &str) -> Result<bool> {
    Ok(image_content(docker, image).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_depends_on_inputs_and_parent() {
        let mk = |text: &str, parent: &str| {
            let mut c = Context::new();
            c.add_text("Dockerfile", text, 0o644);
            c.finish(parent).1
        };
        assert_eq!(mk("FROM a", "p"), mk("FROM a", "p"));
        assert_ne!(mk("FROM a", "p"), mk("FROM b", "p"));
        assert_ne!(mk("FROM a", "p"), mk("FROM a", "q"));
    }

    #[test]
    fn image_sets_parse_and_local_has_the_console_but_no_ksqldb() {
        for s in ImageSet::ALL {
            assert_eq!(s.as_str().parse::<ImageSet>().unwrap(), s);
        }
        let local = ImageSet::Local.images();
        assert_eq!(local.ui.as_deref(), Some(local::CONSOLE));
        assert_eq!(
            local.schema_registry.as_deref(),
            Some(local::SCHEMA_REGISTRY)
        );
        assert!(local.ksqldb.is_none());
        for set in [ImageSet::Confluent, ImageSet::Local] {
            assert!(set.runs(MetadataMode::Zookeeper), "{set}");
            assert!(set.runs(MetadataMode::Kraft), "{set}");
        }
        assert!(!ImageSet::Apache.runs(MetadataMode::Zookeeper));
        assert_eq!(
            local.kafka_for(MetadataMode::Zookeeper),
            Some(local::KAFKA_ZOOKEEPER)
        );
        assert_eq!(local.zookeeper.as_deref(), Some(local::KAFKA_ZOOKEEPER));
    }

    #[test]
    fn the_binary_enters_the_content_hash_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("tda-kafka");
        let mk = || {
            let mut c = Context::new();
            c.add_file_by_digest("bin/tda-kafka", &bin).unwrap();
            c.finish("p").1
        };
        std::fs::write(&bin, b"build one").unwrap();
        let first = mk();
        assert_eq!(first, mk());
        // Same size, other bytes: another label, so the images rebuild.
        std::fs::write(&bin, b"build two").unwrap();
        assert_ne!(first, mk());
    }

    #[test]
    fn connect_image_puts_the_plugins_on_the_plugin_path() {
        let file = connect_dockerfile();
        assert!(file.contains("COPY plugins/ /opt/kafka/plugins/"), "{file}");
    }

    #[test]
    fn local_tags_carry_the_pinned_versions() {
        assert_eq!(
            local::KAFKA,
            format!("tda-kafka/kafka:{}", crate::dist::KAFKA_VERSION)
        );
        assert_eq!(
            local::CONNECT,
            format!("tda-kafka/connect:{}", crate::dist::KAFKA_VERSION)
        );
        assert_eq!(
            local::KAFKA_ZOOKEEPER,
            format!(
                "tda-kafka/kafka-zk:{}",
                crate::dist::ZOOKEEPER_KAFKA_VERSION
            )
        );
        assert_eq!(
            local::REGISTRY,
            format!(
                "tda-kafka/apicurio-registry:{}",
                crate::dist::REGISTRY_VERSION
            )
        );
    }
}
