//! The Docker side of the CLI: `images build|list`, `compose`, `logs`, and
//! `docker detect` (which provider `start` would pick). Starting, stopping
//! and checking a Docker stack is the one `start|stop|status|health` path.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde::Serialize;
use tda_kafka_cluster::docker::{self, compose, images, BuildOptions, ImageSet};
use tda_kafka_cluster::Purpose;

use crate::cmd::stack::{Lines, ServiceArgs, StackArgs};
use crate::output::{print_table, OutputArgs};

/// `images` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the `local` image set with no registry: a Debian JRE base image
    /// (debootstrap + import), Kafka 4.4.0, Kafka Connect with the FileStream
    /// connectors, Apicurio Registry 3.0.9 behind the root-path proxy, the web
    /// console (both carry this binary), Redis, and for ZooKeeper mode Kafka
    /// 3.9.1 with ZooKeeper 3.8.4. Cached: unchanged images are skipped.
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
    pub services: ServiceArgs,
    /// Write to this file instead of stdout.
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Metadata mode: kraft (the default) or zookeeper (the ensemble and
    /// ZooKeeper-mode brokers; overrides TDA_METADATA_MODE), as for `start`.
    #[arg(long, value_name = "MODE")]
    pub metadata: Option<String>,
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
}

/// `docker` subcommands.
#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Build or list the images (same as `tda-kafka images`).
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Render the stack as a docker-compose.yml (same as `tda-kafka compose`).
    Compose(ComposeArgs),
    /// Show a service's container output (same as `tda-kafka logs`).
    Logs(LogsArgs),
    /// Which provider `start` would pick, and why.
    Detect {
        #[command(flatten)]
        stack: StackArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Runs `docker ...`.
pub async fn run(cmd: DockerCommand) -> anyhow::Result<()> {
    match cmd {
        DockerCommand::Images(c) => run_images(c).await,
        DockerCommand::Compose(c) => run_compose(c).await,
        DockerCommand::Logs(c) => run_logs(c).await,
        DockerCommand::Detect { stack, output } => {
            let config = stack.config.load()?.config;
            let selected = stack.select(&config, Purpose::Start).await?;
            #[derive(Serialize)]
            struct Choice {
                provider: tda_kafka_cluster::ProviderKind,
                reason: tda_kafka_cluster::SelectionReason,
            }
            output.print(
                &Choice {
                    provider: selected.kind(),
                    reason: selected.reason.clone(),
                },
                |c| println!("provider: {} ({})", c.provider, c.reason),
            )
        }
    }
}

/// Runs `images ...`.
pub async fn run_images(cmd: ImagesCommand) -> anyhow::Result<()> {
    match cmd {
        ImagesCommand::Build { force, output } => {
            let docker = docker::connect().await?;
            let options = BuildOptions {
                force,
                // The registry's proxy and the console are this binary.
                tda_kafka_binary: Some(
                    std::env::current_exe().context("cannot find the tda-kafka binary")?,
                ),
                ..BuildOptions::default()
            };
            let report = docker::build_local_images(&docker, &options, &Lines::new(false)).await?;
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
                ("kafka (zookeeper mode)", refs.kafka_zookeeper.clone()),
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

/// Runs `compose`.
pub async fn run_compose(args: ComposeArgs) -> anyhow::Result<()> {
    let mut loader = args.stack.config.loader();
    if let Some(mode) = &args.metadata {
        loader = loader.set("TDA_METADATA_MODE", mode.clone());
    }
    let config = crate::cmd::config::load_with(loader)?.config;
    let mut options = args.stack.stack_options();
    options.services = args.services.services()?;
    options.image_set.check_runs(config.metadata)?;
    let t = docker::topology::build(&config, &options);
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

/// Runs `logs`.
pub async fn run_logs(args: LogsArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let config = args.stack.config.load()?.config;
    let selected = args.stack.select(&config, Purpose::Existing).await?;
    let mut stream = selected
        .provider
        .logs(&args.service, args.follow, args.tail)?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        out.write_all(chunk?.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}
