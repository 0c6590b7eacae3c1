//! The Docker side of the CLI: `images build|list`, `compose`, `logs`, and
//! `docker start|stop|status` (the same functions back
//! `start/stop/status --provider docker`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde::Serialize;
use tda_kafka_cluster::docker::{
    self, compose, images, BuildOptions, DockerProvider, ImageSet, Services, StackOptions,
};
use tda_kafka_cluster::{
    ClusterProvider, ClusterState, ClusterStatus, Progress, ProgressEvent, StartOptions,
    StartReport, StopMode, StopOptions, StopReport,
};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::cmd::config::ConfigArgs;
use crate::exit::CheckFailed;
use crate::output::{print_table, OutputArgs};

/// Prints progress events as lines on stderr.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinePrinter;

impl Progress for LinePrinter {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Started { step } => eprintln!("... {step}"),
            ProgressEvent::Finished { step, detail } => eprintln!("ok  {step}: {detail}"),
            ProgressEvent::Skipped { step, reason } => eprintln!("--  {step}: {reason}"),
            ProgressEvent::Note { message } => eprintln!("note: {message}"),
            // About once every 5 s is enough on a terminal.
            ProgressEvent::Waiting {
                step,
                elapsed,
                detail,
            } if elapsed.as_millis() % 5000 < 500 => {
                eprintln!("... {step} ({:.0} s): {detail}", elapsed.as_secs_f64());
            }
            _ => {}
        }
    }
}

/// Which stack and images: shared by every Docker command.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// Image set: local (built by `images build`), confluent (the seed's cp 7.5.0,
    /// ZooKeeper mode) or apache (apache/kafka 4.x, KRaft).
    #[arg(long = "images", value_name = "SET", default_value = "local")]
    pub images: ImageSet,
    /// Stack name: containers `<stack>_kafka_1`, network `<stack>-kafka-network`.
    #[arg(long, value_name = "NAME", default_value = "tda")]
    pub stack: String,
    /// Services: full (all), core (brokers + schema registry), brokers.
    #[arg(long, value_name = "PROFILE", default_value = "full")]
    pub profile: String,
    /// Leave a service out (schema-registry, kafka-connect, kafka-ui, ksqldb, redis); repeatable.
    #[arg(long, value_name = "SERVICE")]
    pub without: Vec<String>,
    /// JVM heap of every container.
    #[arg(long, value_name = "SIZE", default_value = "512m")]
    pub heap: String,
}

impl StackArgs {
    /// The stack options these flags select.
    pub fn stack_options(&self) -> anyhow::Result<StackOptions> {
        let mut services = Services::profile(&self.profile).with_context(|| {
            format!(
                "unknown profile `{}` (expected full, core or brokers)",
                self.profile
            )
        })?;
        for w in &self.without {
            anyhow::ensure!(
                services.disable(w),
                "unknown service `{w}` (expected schema-registry, kafka-connect, kafka-ui, ksqldb or redis)"
            );
        }
        Ok(StackOptions {
            name: self.stack.clone(),
            image_set: self.images,
            services,
            heap: self.heap.clone(),
            ..StackOptions::default()
        })
    }
}

/// Which provider runs the cluster (`start/stop/status --provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// JVM processes on this machine (no Docker).
    Local,
    /// Containers on the local Docker engine.
    Docker,
    /// `docker` when a Docker engine runs and has the image set's images
    /// (for stop/status: when the stack's containers exist), else `local`;
    /// always `local` with `--data-dir`.
    Auto,
}

/// `--provider`, `--images` and `--stack`, flattened into `start`, `stop` and `status`.
#[derive(Debug, Clone, Args)]
pub struct ProviderArgs {
    /// Provider: local, docker or auto (the choice is stated in the output).
    #[arg(long, value_enum, env = "TDA_KAFKA_PROVIDER", default_value = "auto")]
    pub provider: ProviderKind,
    /// Docker image set: local (`tda-kafka images build`), confluent or apache.
    #[arg(long = "images", value_name = "SET", default_value = "local")]
    pub images: ImageSet,
    /// Docker stack name (containers `<stack>_kafka_1`, network `<stack>-kafka-network`).
    #[arg(long, value_name = "NAME", default_value = "tda")]
    pub stack: String,
}

impl ProviderArgs {
    fn stack_options(&self) -> StackOptions {
        StackOptions {
            name: self.stack.clone(),
            image_set: self.images,
            ..StackOptions::default()
        }
    }

    /// For `start`: the Docker provider when `--provider docker`, or `auto`
    /// finds a working engine with every image of the set; `None` = local.
    /// `data_dir_given`: a `--data-dir` (a local-provider notion) makes `auto`
    /// pick local.
    pub async fn for_start(
        &self,
        config: &ClusterConfig,
        pull: bool,
        data_dir_given: bool,
    ) -> anyhow::Result<Option<DockerProvider>> {
        let use_docker = match self.provider {
            ProviderKind::Local => false,
            ProviderKind::Docker => true,
            ProviderKind::Auto if data_dir_given => {
                eprintln!("provider: local (auto: --data-dir given)");
                false
            }
            ProviderKind::Auto => {
                let choice = docker::detect_provider(self.images).await;
                eprintln!("provider: {} (auto: {})", choice.provider, choice.reason);
                choice.provider == "docker"
            }
        };
        if !use_docker {
            return Ok(None);
        }
        if self.provider == ProviderKind::Docker {
            eprintln!(
                "provider: docker (image set {}, stack {})",
                self.images, self.stack
            );
        }
        let p = DockerProvider::connect(config.clone(), self.stack_options()).await?;
        Ok(Some(p.with_pull(pull)))
    }

    /// For `stop`/`status`: the Docker provider when `--provider docker`, or
    /// `auto` finds containers of the stack on a running engine; `None` = local.
    pub async fn for_existing(
        &self,
        data_dir_given: bool,
    ) -> anyhow::Result<Option<DockerProvider>> {
        let config = ConfigArgs::default().load()?.config;
        match self.provider {
            ProviderKind::Local => Ok(None),
            ProviderKind::Auto if data_dir_given => Ok(None),
            ProviderKind::Docker => Ok(Some(
                DockerProvider::connect(config, self.stack_options()).await?,
            )),
            ProviderKind::Auto => {
                let Ok(p) = DockerProvider::connect(config, self.stack_options()).await else {
                    return Ok(None);
                };
                let ours = p.leftovers().await?;
                if ours.iter().any(|o| o.starts_with("container ")) {
                    eprintln!(
                        "provider: docker (auto: containers of stack `{}` exist)",
                        self.stack
                    );
                    Ok(Some(p))
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// `stop --backup` for the Docker provider: topic configs and group offsets
/// of the running stack, in the format `tda-kafka restore` reads.
pub async fn backup(provider: &DockerProvider, file: Option<PathBuf>) -> anyhow::Result<()> {
    let status = provider.status().await?;
    anyhow::ensure!(
        status.is_running(),
        "--backup needs a running cluster (status: {})",
        status.state
    );
    let mut props = ClusterConfig::default().client_properties();
    props.set("bootstrap.servers", &status.endpoints.bootstrap_servers);
    let admin = tda_kafka_admin::Admin::connect(&props, Duration::from_secs(15)).await?;
    let backup = admin.backup().await.context("backup failed")?;
    let path = file.unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        tda_kafka_cluster::dist::data_root()
            .join("backups")
            .join(format!("tda-kafka-{}-{secs}.yaml", provider.options().name))
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    backup.write(&path)?;
    eprintln!(
        "backup: {} topics and {} groups written to {} (restore with `tda-kafka restore`)",
        backup.topics.len(),
        backup.groups.len(),
        path.display()
    );
    Ok(())
}

/// `images` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the `local` image set with no registry: a Debian JRE base image
    /// (debootstrap + import), Kafka 4.4.0, Kafka Connect, Apicurio Registry
    /// 3.0.9 and Redis. Cached: unchanged images are skipped.
    Build {
        /// Rebuild even if an image with the same content exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the images of a set and whether the engine has them.
    List {
        /// Image set.
        #[arg(long = "images", value_name = "SET", default_value = "local")]
        images: ImageSet,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// `compose` arguments.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write to this file instead of stdout.
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `logs` arguments.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Service (`kafka-1`, `schema-registry`, ...) or container name (`tda_kafka_1`).
    pub service: String,
    /// Follow the output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Start flags of the seed's start-kafka.sh (Docker side).
#[derive(Debug, Args)]
pub struct DockerStartArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Pull missing images from their registry (needs Docker Hub for confluent/apache).
    #[arg(long)]
    pub pull: bool,
    /// Clean restart: remove containers and volumes first.
    #[arg(long)]
    pub clean: bool,
    /// Do not create the TDA topics.
    #[arg(long)]
    pub no_topics: bool,
    /// Only check health (exit 3 when not healthy); start nothing.
    #[arg(long)]
    pub health_only: bool,
    /// Upper bound on waiting for readiness, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Stop flags of the seed's stop-kafka.sh (Docker side).
#[derive(Debug, Args)]
pub struct DockerStopArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Graceful shutdown (default): SIGTERM, then SIGKILL after --timeout.
    #[arg(long, conflicts_with = "force")]
    pub graceful: bool,
    /// Immediate shutdown (SIGKILL).
    #[arg(long)]
    pub force: bool,
    /// Remove the containers after stopping (and the network).
    #[arg(long)]
    pub remove_containers: bool,
    /// Remove the data volumes (DATA LOSS).
    #[arg(long)]
    pub remove_volumes: bool,
    /// Complete cleanup: containers, network and volumes of the stack.
    #[arg(long)]
    pub clean_all: bool,
    /// Back up topic configurations and consumer-group offsets before shutdown.
    #[arg(long)]
    pub backup: bool,
    /// Graceful stop bound per container, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `docker` subcommands (also reachable as `start/stop/status --provider docker`).
#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Start the stack as containers and wait until it is ready.
    Start(DockerStartArgs),
    /// Stop the stack.
    Stop(DockerStopArgs),
    /// Show the state of every container of the stack (exit 3 when not running).
    Status {
        #[command(flatten)]
        stack: StackArgs,
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Which provider `start` would pick without `--provider`, and why.
    Detect {
        /// Image set to look for.
        #[arg(long = "images", value_name = "SET", default_value = "local")]
        images: ImageSet,
    },
}

/// Runs `images ...`.
pub async fn run_images(cmd: ImagesCommand) -> anyhow::Result<()> {
    match cmd {
        ImagesCommand::Build { force, output } => {
            let docker = docker::connect().await?;
            let options = BuildOptions {
                force,
                ..BuildOptions::default()
            };
            let report = docker::build_local_images(&docker, &options, &LinePrinter).await?;
            output.print(&report, |r| {
                let rows: Vec<Vec<String>> = r
                    .images
                    .iter()
                    .map(|i| {
                        vec![
                            i.image.clone(),
                            format!("{:?}", i.outcome).to_lowercase(),
                            format!("{:.1}s", i.took.as_secs_f64()),
                            i.content[..12].to_string(),
                        ]
                    })
                    .collect();
                print_table(&["IMAGE", "OUTCOME", "TOOK", "CONTENT"], &rows);
            })
        }
        ImagesCommand::List {
            images: set,
            output,
        } => {
            let docker = docker::connect().await?;
            #[derive(Serialize)]
            struct Row {
                service: &'static str,
                image: String,
                present: bool,
            }
            let refs = set.images();
            let mut rows = Vec::new();
            let all = [
                ("zookeeper", refs.zookeeper.clone()),
                ("kafka", Some(refs.kafka.clone())),
                ("schema-registry", refs.schema_registry.clone()),
                ("kafka-connect", refs.connect.clone()),
                ("kafka-ui", refs.ui.clone()),
                ("ksqldb", refs.ksqldb.clone()),
                ("redis", refs.redis.clone()),
            ];
            for (service, image) in all {
                let Some(image) = image else { continue };
                let present = images::image_exists(&docker, &image).await?;
                rows.push(Row {
                    service,
                    image,
                    present,
                });
            }
            output.print(&rows, |rows| {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.service.to_string(),
                            r.image.clone(),
                            if r.present { "yes" } else { "no" }.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["SERVICE", "IMAGE", "PRESENT"], &rows);
            })
        }
    }
}

fn load_config(args: &ConfigArgs) -> anyhow::Result<ClusterConfig> {
    Ok(args.load()?.config)
}

/// Runs `compose`.
pub async fn run_compose(args: ComposeArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let t = docker::topology::build(&config, &args.stack.stack_options()?);
    let text = compose::render(&t);
    match &args.file {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!(
                "wrote {} ({} services, image set {})",
                p.display(),
                t.services.len(),
                t.options.image_set
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

async fn provider(
    stack: &StackArgs,
    config: &ConfigArgs,
) -> anyhow::Result<(DockerProvider, ClusterConfig)> {
    let config = load_config(config)?;
    let p = DockerProvider::connect(config.clone(), stack.stack_options()?).await?;
    Ok((p, config))
}

/// Runs `logs`.
pub async fn run_logs(args: LogsArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let (p, _) = provider(&args.stack, &args.config).await?;
    let mut stream = Box::pin(p.logs(&args.service, args.follow, args.tail)?);
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        out.write_all(chunk?.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// `start --provider docker`: starts the stack; returns the report.
pub async fn start(
    provider: &DockerProvider,
    config: &ClusterConfig,
    options: &StartOptions,
) -> anyhow::Result<StartReport> {
    let cancel = cancel_on_ctrl_c();
    Ok(provider
        .start(config, options, &LinePrinter, cancel)
        .await?)
}

/// `stop --provider docker`.
pub async fn stop(provider: &DockerProvider, options: &StopOptions) -> anyhow::Result<StopReport> {
    Ok(provider.stop(options, &LinePrinter).await?)
}

/// `stop --provider docker` with the flags of `stop` (the seed's stop-kafka.sh).
pub async fn stop_cmd(
    provider: &DockerProvider,
    args: &crate::cmd::cluster::StopArgs,
) -> anyhow::Result<()> {
    if args.backup {
        backup(provider, args.backup_file.clone()).await?;
    }
    let options = StopOptions {
        mode: if args.force {
            StopMode::Force
        } else {
            StopMode::Graceful
        },
        remove_data: args.remove_volumes || args.clean_all,
        remove_containers: args.remove_containers || args.clean_all,
        graceful_timeout: Duration::from_secs(args.timeout),
    };
    let report = stop(provider, &options).await?;
    print_stop_report(&report);
    let status = provider.status().await?;
    anyhow::ensure!(
        !status.nodes.iter().any(|n| n.state.is_alive()),
        "some brokers still run after stop; see `tda-kafka status --provider docker`"
    );
    Ok(())
}

fn print_stop_report(r: &StopReport) {
    let rows: Vec<Vec<String>> = r
        .processes
        .iter()
        .map(|(name, o)| vec![name.clone(), format!("{o:?}")])
        .collect();
    print_table(&["CONTAINER", "RESULT"], &rows);
    for rm in &r.removed {
        println!("removed {rm}");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

fn print_status(status: &ClusterStatus, containers: &[docker::ContainerStatus]) {
    println!("provider: docker   state: {}", status.state);
    let rows: Vec<Vec<String>> = containers
        .iter()
        .map(|c| {
            vec![
                c.service.clone(),
                c.container.clone(),
                c.state.clone(),
                c.health.clone(),
                c.ports.join(","),
                c.image.clone(),
            ]
        })
        .collect();
    print_table(
        &["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "IMAGE"],
        &rows,
    );
    println!(
        "bootstrap (host):       {}",
        status.endpoints.bootstrap_servers
    );
    if let Some(i) = &status.endpoints.internal_bootstrap_servers {
        println!("bootstrap (containers): {i}");
    }
    if let Some(r) = &status.endpoints.schema_registry_url {
        println!("schema registry:        {r}");
    }
}

/// Runs `docker ...`.
pub async fn run(cmd: DockerCommand) -> anyhow::Result<()> {
    match cmd {
        DockerCommand::Start(a) => {
            let (p, config) = provider(&a.stack, &a.config).await?;
            let p = p.with_pull(a.pull);
            if a.health_only {
                return health_only(&p, &a.output).await;
            }
            let options = StartOptions {
                clean: a.clean,
                create_topics: !a.no_topics,
                refetch: a.pull,
                ready_timeout: Duration::from_secs(a.timeout),
                ..StartOptions::default()
            };
            eprintln!(
                "provider: docker (image set {}, stack {})",
                a.stack.images, a.stack.stack
            );
            let report = start(&p, &config, &options).await?;
            a.output.print(&report, |r| {
                println!(
                    "{} in {:.1} s",
                    if r.already_running {
                        "already running; ready"
                    } else {
                        "ready"
                    },
                    r.ready_after.as_secs_f64()
                );
                for e in &r.endpoints.services {
                    println!("{:<18} {}", e.name, e.address);
                }
                println!("bootstrap (host):       {}", r.endpoints.bootstrap_servers);
                if let Some(i) = &r.endpoints.internal_bootstrap_servers {
                    println!("bootstrap (containers): {i}");
                }
                if let Some(u) = &r.endpoints.schema_registry_url {
                    println!("schema registry:        {u}");
                }
            })
        }
        DockerCommand::Stop(a) => {
            let (p, _) = provider(&a.stack, &a.config).await?;
            if a.backup {
                backup(&p, None).await?;
            }
            let options = StopOptions {
                mode: if a.force {
                    StopMode::Force
                } else {
                    StopMode::Graceful
                },
                remove_data: a.remove_volumes || a.clean_all,
                remove_containers: a.remove_containers || a.clean_all,
                graceful_timeout: Duration::from_secs(a.timeout),
            };
            let report = stop(&p, &options).await?;
            a.output.print(&report, print_stop_report)
        }
        DockerCommand::Status {
            stack,
            config,
            output,
        } => {
            let (p, _) = provider(&stack, &config).await?;
            let status = p.status().await?;
            let containers = p.containers().await?;
            #[derive(Serialize)]
            struct Out<'a> {
                status: &'a ClusterStatus,
                containers: &'a [docker::ContainerStatus],
            }
            output.print(
                &Out {
                    status: &status,
                    containers: &containers,
                },
                |o| print_status(o.status, o.containers),
            )?;
            if status.state != ClusterState::Running {
                return Err(CheckFailed(format!("cluster is {}", status.state)).into());
            }
            Ok(())
        }
        DockerCommand::Detect { images } => {
            let choice = docker::detect_provider(images).await;
            println!("provider: {} ({})", choice.provider, choice.reason);
            Ok(())
        }
    }
}

async fn health_only(p: &DockerProvider, output: &OutputArgs) -> anyhow::Result<()> {
    let status = p.status().await?;
    let containers = p.containers().await?;
    output.print(&status, |s| print_status(s, &containers))?;
    let unhealthy: Vec<String> = containers
        .iter()
        .filter(|c| c.health != "healthy" && c.health != "none" || c.state != "running")
        .map(|c| format!("{} {} {}", c.container, c.state, c.health))
        .collect();
    if status.state != ClusterState::Running || !unhealthy.is_empty() {
        return Err(CheckFailed(format!(
            "not healthy: cluster {}; {}",
            status.state,
            unhealthy.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// A token cancelled by Ctrl-C: a running start stops what it started.
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            t.cancel();
        }
    });
    token
}
