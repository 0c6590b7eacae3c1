//! Image sets and the local image build (no registry needed).
//!
//! The `local` set is built on this machine:
//! 1. a JRE base image: `debootstrap --variant=minbase` of Debian bookworm with
//!    `openjdk-17-jre-headless`, `redis-server` and `curl`, imported with the
//!    engine's import API (the rootfs tarball is cached in the user cache);
//! 2. `tda-kafka/kafka`: the Kafka 4.4.0 jars (broker, tools, Connect runtime)
//!    resolved by Maven into the user cache, plus an entrypoint that configures
//!    the broker from `KAFKA_*` variables like the apache/kafka image does;
//! 3. `tda-kafka/connect`: the same jars running `ConnectDistributed`;
//! 4. `tda-kafka/apicurio-registry`: Apicurio Registry 3.0.9;
//! 5. `tda-kafka/redis`: Debian's redis-server (already in the base).
//!
//! Every image carries a content label (a hash of its build inputs and of its
//! parent's label); a build whose image already has the same label is skipped.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

use super::docker_err;

/// Label holding the hash of an image's build inputs.
pub const CONTENT_LABEL: &str = "io.tda-kafka.content";

pub use crate::dist::KAFKA_VERSION;
/// The Apicurio Registry version of the local images: the local provider's
/// ([`crate::dist::REGISTRY_VERSION`]).
pub use crate::dist::REGISTRY_VERSION as APICURIO_VERSION;

/// Names of the local images; the Kafka tags are [`KAFKA_VERSION`].
pub mod local {
    use crate::dist::kafka_version;

    /// The JRE base image (Debian bookworm, OpenJDK 17, redis-server, curl).
    pub const BASE: &str = "tda-kafka/jre:17-bookworm";
    /// Kafka broker + tools + Connect runtime.
    pub const KAFKA: &str = concat!("tda-kafka/kafka:", kafka_version!());
    /// Kafka Connect (distributed worker).
    pub const CONNECT: &str = concat!("tda-kafka/connect:", kafka_version!());
    /// Apicurio Registry (Confluent-compatible API under `/apis/ccompat/v7`).
    pub const REGISTRY: &str = "tda-kafka/apicurio-registry:3.0.9";
    /// Redis from Debian.
    pub const REDIS: &str = "tda-kafka/redis:7-bookworm";
}

/// Which images run the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageSet {
    /// The seed's Confluent Platform 7.5.0 images, ZooKeeper mode (needs Docker Hub).
    Confluent,
    /// apache/kafka 4.x in KRaft mode plus public companion images (needs Docker Hub).
    Apache,
    /// Images built here by `tda-kafka images build` (no registry).
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

    /// Whether brokers run in ZooKeeper mode (only the Confluent 7.5 set).
    pub fn uses_zookeeper(self) -> bool {
        self == Self::Confluent
    }

    /// The image of every service in this set. `None`: the set has no image
    /// for the service (Kafka UI and ksqlDB exist only as public images).
    pub fn images(self) -> ImageRefs {
        match self {
            Self::Confluent => ImageRefs {
                zookeeper: Some("confluentinc/cp-zookeeper:7.5.0".into()),
                kafka: "confluentinc/cp-kafka:7.5.0".into(),
                schema_registry: Some("confluentinc/cp-schema-registry:7.5.0".into()),
                connect: Some("confluentinc/cp-kafka-connect:7.5.0".into()),
                ui: Some("provectuslabs/kafka-ui:v0.7.2".into()),
                ksqldb: Some("confluentinc/ksqldb-server:0.29.0".into()),
                redis: Some("redis:7-alpine".into()),
            },
            Self::Apache => ImageRefs {
                zookeeper: None,
                kafka: "apache/kafka:4.1.0".into(),
                schema_registry: Some(format!("apicurio/apicurio-registry:{APICURIO_VERSION}")),
                connect: Some("apache/kafka:4.1.0".into()),
                ui: Some("provectuslabs/kafka-ui:v0.7.2".into()),
                ksqldb: Some("confluentinc/ksqldb-server:0.29.0".into()),
                redis: Some("redis:7-alpine".into()),
            },
            Self::Local => ImageRefs {
                zookeeper: None,
                kafka: local::KAFKA.into(),
                schema_registry: Some(local::REGISTRY.into()),
                connect: Some(local::CONNECT.into()),
                ui: None,
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
    /// Kafka brokers.
    pub kafka: String,
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
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            force: false,
            cache_dir: cache_dir(),
            debian_mirror: std::env::var("TDA_KAFKA_DEBIAN_MIRROR").ok(),
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

const BASE_PACKAGES: &str = "openjdk-17-jre-headless,redis-server,curl";
const BASE_SUITE: &str = "bookworm";
/// Bump to invalidate cached base images when the recipe changes.
const BASE_RECIPE: &str = "minbase-v1";

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

    let mut connect_ctx = Context::new();
    connect_ctx.add_text(
        "Dockerfile",
        &format!("FROM {}\nEXPOSE 8083\nCMD [\"connect\"]\n", local::KAFKA),
        0o644,
    );
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
    images.push(
        build_image(
            docker,
            local::REGISTRY,
            &base_content,
            reg_ctx,
            options,
            progress,
        )
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

/// A build context: a tar archive assembled in memory, plus the hash of its inputs.
struct Context {
    builder: tar::Builder<Vec<u8>>,
    hasher: Sha256,
}

impl Context {
    fn new() -> Self {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        Self {
            builder,
            hasher: Sha256::new(),
        }
    }

    fn add_text(&mut self, path: &str, text: &str, mode: u32) {
        self.hasher.update(path.as_bytes());
        self.hasher.update([0]);
        self.hasher.update(text.as_bytes());
        self.hasher.update([0]);
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        self.builder
            .append_data(&mut header, path, text.as_bytes())
            .expect("writing to an in-memory tar cannot fail");
    }

    /// Adds a file; its identity for the hash is its name and size (the
    /// cached artifacts are versioned by name).
    fn add_file(&mut self, path: &str, src: &Path) -> Result<()> {
        let meta = std::fs::metadata(src).map_err(ClusterError::io("cannot read", src))?;
        self.hasher
            .update(format!("{path}\0{}\0", meta.len()).as_bytes());
        let mut file = std::fs::File::open(src).map_err(ClusterError::io("cannot open", src))?;
        self.builder
            .append_file(path, &mut file)
            .map_err(ClusterError::io("cannot add to the build context", src))
    }

    /// Adds every file under `src` (recursively, sorted) below `dir`,
    /// skipping the cache's completion markers.
    fn add_tree(&mut self, dir: &str, src: &Path) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(src)
            .map_err(ClusterError::io("cannot list", src))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.starts_with(".tda-kafka") {
                continue;
            }
            if p.is_dir() {
                self.add_tree(&format!("{dir}/{name}"), &p)?;
            } else {
                self.add_file(&format!("{dir}/{name}"), &p)?;
            }
        }
        Ok(())
    }

    fn add_dir_files(&mut self, dir: &str, src: &Path, ext: &str) -> Result<()> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(src)
            .map_err(ClusterError::io("cannot list", src))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        names.sort();
        for p in names {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            self.add_file(&format!("{dir}/{name}"), &p)?;
        }
        Ok(())
    }

    fn finish(mut self, parent_content: &str) -> (Vec<u8>, String) {
        self.hasher.update(parent_content.as_bytes());
        let hash = hex(&self.hasher.finalize());
        let bytes = self
            .builder
            .into_inner()
            .expect("finishing an in-memory tar cannot fail");
        (bytes, hash)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn build_image(
    docker: &Docker,
    image: &str,
    parent_content: &str,
    ctx: Context,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let t0 = Instant::now();
    let step = Step::Other {
        name: format!("image {image}"),
    };
    let (context, content) = ctx.finish(parent_content);
    if !options.force && image_content(docker, image).await?.as_deref() == Some(&content) {
        progress.report(ProgressEvent::Skipped {
            step,
            reason: "up to date (same content label)".into(),
        });
        return Ok(BuiltImage {
            image: image.into(),
            outcome: BuildOutcome::Cached,
            content,
            took: t0.elapsed(),
        });
    }
    progress.report(ProgressEvent::Started { step: step.clone() });
    let labels = HashMap::from([(CONTENT_LABEL.to_string(), content.clone())]);
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ClusterError::ImageBuild {
            image: image.into(),
            message: format!("{e}; build output:\n{}", tail.join("")),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(ClusterError::ImageBuild {
                image: image.into(),
                message: detail.message.unwrap_or_default(),
            });
        }
        if let Some(s) = info.stream {
            tail.push(s);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    let took = t0.elapsed();
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!("built in {:.1} s", took.as_secs_f64()),
    });
    Ok(BuiltImage {
        image: image.into(),
        outcome: BuildOutcome::Built,
        content,
        took,
    })
}

/// The Debian mirror of this machine's apt sources (for debootstrap).
pub fn debian_mirror() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(m) = mirror_from_sources(&text) {
            return m;
        }
    }
    "http://deb.debian.org/debian".into()
}

/// Finds the main Debian archive URI (not `-security`) in apt sources text,
/// either one-line (`deb URI bookworm main`) or deb822 (`URIs: URI`).
pub fn mirror_from_sources(text: &str) -> Option<String> {
    let is_archive = |u: &str| {
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.trim_end_matches('/').ends_with("/debian")
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let uri = if let Some(rest) = line.strip_prefix("URIs:") {
            rest.split_whitespace().next()
        } else if line.starts_with("deb ") {
            line.split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with('['))
        } else {
            None
        };
        if let Some(u) = uri.filter(|u| is_archive(u)) {
            return Some(u.trim_end_matches('/').to_string());
        }
    }
    None
}

async fn run_logged(program: &str, args: &[&str], artifact: &str, log: &Path) -> Result<()> {
    let log_file = std::fs::File::create(log).map_err(ClusterError::io("cannot create", log))?;
    let log_err = log_file
        .try_clone()
        .map_err(ClusterError::io("cannot open", log))?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .await
        .map_err(|source| ClusterError::Spawn {
            program: program.into(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(ClusterError::FetchFailed {
        artifact: artifact.into(),
        command: format!("{program} {}", args.join(" ")),
        status: status.to_string(),
        output_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

async fn build_base(
    docker: &Docker,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let t0 = Instant::now();
    let mut h = Sha256::new();
    h.update(format!("{BASE_RECIPE}\0{BASE_SUITE}\0{BASE_PACKAGES}").as_bytes());
    let content = hex(&h.finalize());
    let step = Step::Other {
        name: format!("image {}", local::BASE),
    };
    if !options.force && image_content(docker, local::BASE).await?.as_deref() == Some(&content) {
        progress.report(ProgressEvent::Skipped {
            step,
            reason: "up to date (same content label)".into(),
        });
        return Ok(BuiltImage {
            image: local::BASE.into(),
            outcome: BuildOutcome::Cached,
            content,
            took: t0.elapsed(),
        });
    }
    progress.report(ProgressEvent::Started { step: step.clone() });
    let dir = options.cache_dir.join("docker");
    std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create", &dir))?;
    let tarball = dir.join(format!("rootfs-{BASE_SUITE}-{}.tar", &content[..12]));
    if !tarball.exists() {
        let artifact = format!("Debian {BASE_SUITE} rootfs with {BASE_PACKAGES}");
        progress.report(ProgressEvent::Started {
            step: Step::Fetch {
                artifact: artifact.clone(),
            },
        });
        let root = dir.join(format!("rootfs-{}.tmp", &content[..12]));
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(ClusterError::io("cannot remove", &root))?;
        }
        let mirror = options.debian_mirror.clone().unwrap_or_else(debian_mirror);
        let root_s = root.to_string_lossy().into_owned();
        let include = format!("--include={BASE_PACKAGES}");
        run_logged(
            "debootstrap",
            &["--variant=minbase", &include, BASE_SUITE, &root_s, &mirror],
            &artifact,
            &dir.join("debootstrap.log"),
        )
        .await?;
        // Downloaded .debs are not needed in the image.
        let archives = root.join("var/cache/apt/archives");
        if let Ok(rd) = std::fs::read_dir(&archives) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "deb") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let partial = tarball.with_extension("tar.partial");
        let partial_s = partial.to_string_lossy().into_owned();
        run_logged(
            "tar",
            &["-C", &root_s, "-cf", &partial_s, "."],
            &artifact,
            &dir.join("tar.log"),
        )
        .await?;
        std::fs::rename(&partial, &tarball).map_err(ClusterError::io("cannot rename", &partial))?;
        std::fs::remove_dir_all(&root).map_err(ClusterError::io("cannot remove", &root))?;
        progress.report(ProgressEvent::Finished {
            step: Step::Fetch { artifact },
            detail: tarball.display().to_string(),
        });
    }
    import_rootfs(docker, &tarball, &content).await?;
    let took = t0.elapsed();
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!("imported in {:.1} s", took.as_secs_f64()),
    });
    Ok(BuiltImage {
        image: local::BASE.into(),
        outcome: BuildOutcome::Built,
        content,
        took,
    })
}

/// `tar -C DIR -c . | docker import - NAME`, through the engine API.
async fn import_rootfs(docker: &Docker, tarball: &Path, content: &str) -> Result<()> {
    let (repo, tag) = local::BASE
        .split_once(':')
        .unwrap_or((local::BASE, "latest"));
    let changes = vec![
        format!("LABEL {CONTENT_LABEL}={content}"),
        "ENV LANG=C.UTF-8".to_string(),
        "CMD [\"/bin/bash\"]".to_string(),
    ];
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(changes)
        .build();
    let file = tokio::fs::File::open(tarball)
        .await
        .map_err(ClusterError::io("cannot open", tarball))?;
    let body = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut stream = docker.create_image(Some(opts), Some(bollard::body_try_stream(body)), None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ClusterError::ImageBuild {
            image: local::BASE.into(),
            message: format!("import of {} failed: {e}", tarball.display()),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(ClusterError::ImageBuild {
                image: local::BASE.into(),
                message: detail.message.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_read_from_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\n# http://snapshot.debian.org/archive/debian/x\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n";
        assert_eq!(
            mirror_from_sources(deb822).as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let security = "URIs: http://deb.debian.org/debian-security\n";
        assert_eq!(mirror_from_sources(security), None);
        let one = "deb [arch=amd64] http://mirror.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_from_sources(one).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

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
    fn image_sets_parse_and_local_has_no_ui_or_ksqldb() {
        for s in ImageSet::ALL {
            assert_eq!(s.as_str().parse::<ImageSet>().unwrap(), s);
        }
        let local = ImageSet::Local.images();
        assert!(local.ui.is_none() && local.ksqldb.is_none());
        assert!(ImageSet::Confluent.uses_zookeeper());
        assert!(ImageSet::Confluent.images().zookeeper.is_some());
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
            local::REGISTRY,
            format!(
                "tda-kafka/apicurio-registry:{}",
                crate::dist::REGISTRY_VERSION
            )
        );
    }
}
