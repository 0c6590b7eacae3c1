//! `start` / `start-kafka`: the seed's start-kafka.sh flags on either provider.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tda_kafka_admin::EnsureOutcome;
use tda_kafka_cluster::ops::{self, StartOutcome};
use tda_kafka_cluster::{ConsoleLaunch, Endpoints, Purpose, StartOptions};
use tda_kafka_config::ClusterConfig;

use super::status::{health_of, HealthArgs};
use super::{cancel_on_ctrl_c, Lines, ServiceArgs, StackArgs};
use crate::cmd::config::load_with;
use crate::output::{print_table, OutputArgs};

/// Flags of `start` / `start-kafka` (the seed's start-kafka.sh flags plus ours).
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub services: ServiceArgs,
    /// Show every readiness probe while waiting.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Clean restart: stop, delete all data (and containers), then start.
    #[arg(long)]
    pub clean: bool,
    /// Do not create the TDA topics.
    #[arg(long)]
    pub no_topics: bool,
    /// Only check the health of the running stack (start nothing; exit 3 when unhealthy).
    #[arg(long)]
    pub health_only: bool,
    /// Number of brokers (overrides KAFKA_BROKER_COUNT; replication factor and
    /// min ISR are lowered to fit when needed).
    #[arg(long, value_name = "N")]
    pub brokers: Option<u16>,
    /// Metadata mode: kraft (Kafka 4.4, the default) or zookeeper (Kafka 3.9
    /// brokers and a ZooKeeper ensemble; overrides TDA_METADATA_MODE).
    #[arg(long, value_name = "MODE")]
    pub metadata: Option<String>,
    /// Fetch the Kafka and registry jars again, or pull the Docker images.
    #[arg(long)]
    pub pull: bool,
    /// Upper bound on waiting for readiness, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 240)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The configuration for `start`: env file and flags; `--brokers N` sets the
/// broker count and the replication settings the one rule fits to it (set
/// before validation, which refuses a factor above the broker count).
fn load_config(args: &StartArgs) -> anyhow::Result<ClusterConfig> {
    let mut loader = args.stack.config.loader();
    if let Some(mode) = &args.metadata {
        loader = loader.set("TDA_METADATA_MODE", mode.clone());
    }
    if let Some(n) = args.brokers {
        anyhow::ensure!(n >= 1, "--brokers must be at least 1");
        let fitted = args.stack.config.loader().check().config.fit_to_brokers(n);
        loader = loader
            .set("KAFKA_BROKER_COUNT", n.to_string())
            .set(
                "KAFKA_DEFAULT_REPLICATION_FACTOR",
                fitted.default_replication_factor.to_string(),
            )
            .set(
                "KAFKA_MIN_INSYNC_REPLICAS",
                fitted.min_insync_replicas.to_string(),
            );
    }
    Ok(load_with(loader)?.config)
}

/// `start` / `start-kafka`.
pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    // A bad env file or flag fails here, before anything is touched.
    let config = load_config(&args)?;
    let services = args.services.services()?;
    if args.health_only {
        let health = HealthArgs {
            stack: args.stack.clone(),
            bootstrap: None,
            output: args.output.clone(),
        };
        return health_of(&health, &config).await;
    }
    let selected = args.stack.select(&config, Purpose::Start).await?;
    let options = StartOptions {
        clean: args.clean,
        create_topics: !args.no_topics,
        services,
        refetch: args.pull,
        ready_timeout: Duration::from_secs(args.timeout),
        console: Some(console_launch(&args, &config)?),
        registry_proxy: Some(std::env::current_exe().context("cannot find the tda-kafka binary")?),
    };
    eprintln!(
        "Starting the TDA Kafka stack ({} brokers, {}, {} profile{})",
        config.broker_count,
        match config.metadata {
            tda_kafka_config::MetadataMode::Kraft => "KRaft".to_string(),
            tda_kafka_config::MetadataMode::Zookeeper => format!(
                "ZooKeeper mode with {} ZooKeeper nodes",
                config.zookeeper.nodes
            ),
        },
        config.environment,
        if config.recovery_mode {
            ", RECOVERY_MODE"
        } else {
            ""
        }
    );
    let outcome = ops::start(
        &selected.provider,
        &config,
        &options,
        &Lines::new(args.verbose),
        cancel_on_ctrl_c(),
    )
    .await
    .context("start failed")?;
    args.output.print(&outcome, print_outcome)?;
    anyhow::ensure!(
        outcome.success(),
        "recovery incomplete: see the lines above"
    );
    Ok(())
}

/// The web console is this binary's `ui` command, given the same
/// configuration flags (so it connects with the same security settings).
fn console_launch(args: &StartArgs, cluster: &ClusterConfig) -> anyhow::Result<ConsoleLaunch> {
    let program = std::env::current_exe().context("cannot find the tda-kafka binary")?;
    let config = &args.stack.config;
    let mut flags = Vec::new();
    if let Some(env) = config.environment {
        flags.push(format!("--environment={env}"));
    }
    if let Some(file) = config.env_file_path() {
        let file = std::path::absolute(&file).unwrap_or(file);
        flags.push(format!("--env-file={}", file.display()));
    }
    if let Some(file) = &config.topics_file {
        let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        flags.push(format!("--topics-file={}", file.display()));
    }
    // `--metadata` is a flag of this start only: the console is told the ensemble.
    if cluster.uses_zookeeper() {
        flags.push(format!(
            "--zookeeper={}",
            cluster.zookeeper_addresses().join(",")
        ));
    }
    Ok(ConsoleLaunch {
        program,
        args: flags,
    })
}

fn print_outcome(o: &StartOutcome) {
    let report = &o.report;
    if report.already_running {
        println!("The TDA Kafka stack was already running; nothing was started.");
    } else {
        println!(
            "The TDA Kafka stack is ready on the {} provider (brokers {:?}, services [{}] started in {:.1} s{}).",
            report.provider,
            report.started_nodes,
            report
                .started_services
                .iter()
                .map(|s| s.key())
                .collect::<Vec<_>>()
                .join(", "),
            report.ready_after.as_secs_f64(),
            if report.formatted {
                ", storage formatted"
            } else {
                ""
            }
        );
    }
    for (kind, reason) in &report.skipped_services {
        println!("not started: {kind} ({reason})");
    }
    if !report.topics.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = report
            .topics
            .iter()
            .map(|(t, o)| {
                vec![
                    t.clone(),
                    match o {
                        EnsureOutcome::Created => "created".into(),
                        EnsureOutcome::AlreadyExists => "already existed".into(),
                    },
                ]
            })
            .collect();
        print_table(&["TOPIC", "RESULT"], &rows);
    }
    if let Some(r) = &o.recovery {
        println!();
        println!("Recovery from {}", r.file.display());
        let rows: Vec<Vec<String>> = r
            .restore
            .topics
            .iter()
            .map(|(t, s)| vec![format!("topic {t}"), s.clone()])
            .chain(
                r.restore
                    .groups
                    .iter()
                    .map(|(g, s)| vec![format!("group {g}"), format!("offsets {s}")]),
            )
            .collect();
        print_table(&["WHAT", "RESULT"], &rows);
    }
    print_endpoints(&report.status.endpoints);
}

/// The seed's "Connect to Kafka" and "Access Services" tables.
pub fn print_endpoints(e: &Endpoints) {
    println!();
    println!("Connect to Kafka");
    let mut rows = vec![vec![
        "External (from host)".to_string(),
        e.bootstrap_servers.clone(),
    ]];
    if let Some(internal) = &e.internal_bootstrap_servers {
        rows.push(vec!["Internal (containers)".into(), internal.clone()]);
    }
    print_table(&["CONNECTION", "BOOTSTRAP SERVERS"], &rows);
    if !e.services.is_empty() {
        println!();
        println!("Access Services");
        let rows: Vec<Vec<String>> = e
            .services
            .iter()
            .map(|s| vec![s.name.clone(), s.address.clone(), s.description.clone()])
            .collect();
        print_table(&["SERVICE", "ADDRESS", "DESCRIPTION"], &rows);
    }
}
