//! `tda-kafka start|stop|status|health` (and the seed's `start-kafka` /
//! `stop-kafka`): the local provider, no Docker needed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tda_kafka_admin::{Admin, Backup, EnsureOutcome, HealthReport};
use tda_kafka_cluster::local::LocalProvider;
use tda_kafka_cluster::{
    ClusterProvider, ClusterStatus, Endpoints, Progress, ProgressEvent, StartOptions, StartReport,
    StopMode, StopOptions, StopOutcome,
};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::cmd::config::{load_with, ConfigArgs};
use crate::exit::CheckFailed;
use crate::output::{print_table, OutputArgs};

/// Where the local cluster keeps its data.
#[derive(Debug, Clone, Default, Args)]
pub struct DataDirArgs {
    /// Data directory of the local cluster
    /// [default: $XDG_DATA_HOME/tda-kafka/clusters/default or ~/.local/share/...].
    #[arg(long, value_name = "DIR", env = "TDA_KAFKA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    fn provider(&self) -> LocalProvider {
        LocalProvider::new(
            self.data_dir
                .clone()
                .unwrap_or_else(LocalProvider::default_data_dir),
        )
    }
}

/// Flags of `start` / `start-kafka` (the seed's start-kafka.sh flags plus ours).
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub provider: crate::cmd::docker::ProviderArgs,
    /// Show every readiness probe while waiting.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Stop, delete all data and reformat before starting.
    #[arg(long)]
    pub clean: bool,
    /// Do not create the TDA topics.
    #[arg(long)]
    pub no_topics: bool,
    /// Only check the health of the running cluster (start nothing).
    #[arg(long)]
    pub health_only: bool,
    /// Number of brokers (overrides KAFKA_BROKER_COUNT; replication factor and
    /// min ISR are lowered to fit when needed).
    #[arg(long, value_name = "N")]
    pub brokers: Option<u16>,
    /// Do not start the schema registry.
    #[arg(long)]
    pub no_registry: bool,
    /// Fetch the Kafka and registry jars again (the seed's "pull latest images").
    #[arg(long)]
    pub pull: bool,
    /// Upper bound on waiting for readiness, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 240)]
    pub timeout: u64,
    /// Print the start report as JSON on stdout.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `stop` / `stop-kafka` (the seed's stop-kafka.sh flags).
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub provider: crate::cmd::docker::ProviderArgs,
    /// Graceful shutdown: SIGTERM, wait, kill only after the bound (default).
    #[arg(long, conflicts_with = "force")]
    pub graceful: bool,
    /// Immediate shutdown (SIGKILL).
    #[arg(long)]
    pub force: bool,
    /// Remove containers (Docker only; no effect for the local cluster).
    #[arg(long)]
    pub remove_containers: bool,
    /// Delete the cluster's data after stopping (DATA LOSS).
    #[arg(long)]
    pub remove_volumes: bool,
    /// Complete cleanup: stop and delete all data (DATA LOSS).
    #[arg(long)]
    pub clean_all: bool,
    /// Back up topic configs and group offsets before stopping.
    #[arg(long)]
    pub backup: bool,
    /// Where `--backup` writes [default: DATA_DIR/../backups/tda-kafka-TIMESTAMP.yaml].
    #[arg(long, value_name = "PATH", requires = "backup")]
    pub backup_file: Option<PathBuf>,
    /// Seconds a graceful stop may take per process before it is killed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
}

/// Flags of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub provider: crate::cmd::docker::ProviderArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Bootstrap servers to check [default: the local cluster's, else the configuration's].
    #[arg(long, value_name = "HOSTS")]
    pub bootstrap: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Prints progress events as lines on stderr (the library never prints).
#[derive(Debug, Clone, Copy)]
struct Lines {
    verbose: bool,
}

impl Progress for Lines {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Started { step } => eprintln!("==> {step}"),
            ProgressEvent::Finished { step, detail } => eprintln!("    ok: {step}: {detail}"),
            ProgressEvent::Skipped { step, reason } => eprintln!("    skipped: {step} ({reason})"),
            ProgressEvent::Note { message } => eprintln!("    note: {message}"),
            ProgressEvent::Waiting {
                step,
                elapsed,
                detail,
            } => {
                let secs = elapsed.as_millis() / 500;
                // Every probe with --verbose, else about every 10 s.
                if self.verbose || secs % 20 == 0 {
                    eprintln!("    {step} ({:.0} s): {detail}", elapsed.as_secs_f64());
                }
            }
            _ => {}
        }
    }
}

/// The configuration for `start`: env file and flags, `--brokers` as an explicit override.
fn load_config(config: &ConfigArgs, brokers: Option<u16>) -> anyhow::Result<ClusterConfig> {
    let mut loader = config.loader();
    if let Some(n) = brokers {
        anyhow::ensure!(n >= 1, "--brokers must be at least 1");
        loader = loader.set("KAFKA_BROKER_COUNT", n.to_string());
        // Fit the replication settings to a smaller cluster.
        let base = config.loader().check().config;
        if base.default_replication_factor > n as i16 {
            loader = loader.set("KAFKA_DEFAULT_REPLICATION_FACTOR", n.to_string());
        }
        if base.min_insync_replicas > (n as i16).min(base.default_replication_factor) {
            loader = loader.set(
                "KAFKA_MIN_INSYNC_REPLICAS",
                (n as i16)
                    .min(base.min_insync_replicas)
                    .clamp(1, 2)
                    .to_string(),
            );
        }
    }
    Ok(load_with(loader)?.config)
}

/// `start` / `start-kafka`.
pub async fn start(args: StartArgs) -> anyhow::Result<()> {
    // A bad env file fails here, before anything is touched.
    let config = load_config(&args.config, args.brokers)?;
    let provider = args.data.provider();
    if args.health_only {
        return health(HealthArgs {
            config: args.config.clone(),
            data: args.data.clone(),
            bootstrap: None,
            output: args.output.clone(),
        })
        .await;
    }
    let options = StartOptions {
        clean: args.clean,
        create_topics: !args.no_topics,
        registry: !args.no_registry,
        refetch: args.pull,
        ready_timeout: Duration::from_secs(args.timeout),
    };
    if let Some(docker) = args
        .provider
        .for_start(&config, args.pull, args.data.data_dir.is_some())
        .await?
    {
        let report = crate::cmd::docker::start(&docker, &config, &options).await?;
        return args.output.print(&report, print_start_report);
    }
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping what was started ...");
            on_ctrl_c.cancel();
        }
    });
    eprintln!(
        "Starting the TDA Kafka cluster ({} brokers, {} profile) in {}",
        config.broker_count,
        config.environment,
        provider.data_dir().display()
    );
    let progress = Lines {
        verbose: args.verbose,
    };
    let result = provider.start(&config, &options, &progress, cancel).await;
    watcher.abort();
    let report = result.with_context(|| {
        format!(
            "start failed (logs under {})",
            provider.data_dir().display()
        )
    })?;
    args.output.print(&report, print_start_report)?;
    if config.recovery_mode {
        recover(&provider, &config, &report.endpoints.bootstrap_servers).await?;
    }
    Ok(())
}

/// Where `stop --backup` writes and `RECOVERY_MODE=true start` reads.
fn backups_dir(provider: &LocalProvider) -> PathBuf {
    provider.data_dir().with_file_name("backups")
}

/// The seed's `RECOVERY_MODE=true start-kafka.sh`: restores the newest backup
/// written by `stop --backup` (missing topics and group offsets).
async fn recover(
    provider: &LocalProvider,
    config: &ClusterConfig,
    bootstrap: &str,
) -> anyhow::Result<()> {
    let dir = backups_dir(provider);
    let newest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tda-kafka-") && n.ends_with(".yaml"))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let Some(path) = newest else {
        anyhow::bail!(
            "RECOVERY_MODE=true, but there is no backup in {}: make one with `tda-kafka stop --backup`",
            dir.display()
        );
    };
    let backup = Backup::read(&path)?;
    let mut props = config.client_properties();
    props.set("bootstrap.servers", bootstrap);
    let admin = Admin::connect(&props, Duration::from_secs(15)).await?;
    let report = admin.restore(&backup).await?;
    eprintln!("recovery from {}:", path.display());
    for (topic, outcome) in &report.topics {
        eprintln!("  topic {topic}: {outcome}");
    }
    for (group, outcome) in &report.groups {
        eprintln!("  group {group}: offsets {outcome}");
    }
    if !report.success() {
        anyhow::bail!(
            "recovery from {} incomplete: see the lines above",
            path.display()
        );
    }
    Ok(())
}

fn print_start_report(report: &StartReport) {
    if report.already_running {
        println!("The TDA Kafka cluster was already running; no broker was started.");
    } else {
        println!(
            "The TDA Kafka cluster is ready (brokers {:?} started in {:.1} s{}).",
            report.started_nodes,
            report.ready_after.as_secs_f64(),
            if report.formatted {
                ", storage formatted"
            } else {
                ""
            }
        );
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
    print_endpoints(&report.endpoints);
}

fn print_endpoints(e: &Endpoints) {
    println!();
    println!("Connect to Kafka");
    print_table(
        &["CONNECTION", "BOOTSTRAP SERVERS"],
        &[vec![
            "External (from host)".into(),
            e.bootstrap_servers.clone(),
        ]],
    );
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

/// `stop` / `stop-kafka`.
pub async fn stop(args: StopArgs) -> anyhow::Result<()> {
    if let Some(docker) = args
        .provider
        .for_existing(args.data.data_dir.is_some())
        .await?
    {
        return crate::cmd::docker::stop_cmd(&docker, &args).await;
    }
    let provider = args.data.provider();
    if args.backup {
        backup(&provider, args.backup_file.clone()).await?;
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
    let report = provider
        .stop(&options, &Lines { verbose: false })
        .await
        .context("stop failed")?;
    let rows: Vec<Vec<String>> = report
        .processes
        .iter()
        .map(|(name, o)| vec![name.clone(), describe(o)])
        .collect();
    print_table(&["PROCESS", "RESULT"], &rows);
    for n in &report.notes {
        println!("note: {n}");
    }
    if !report.removed.is_empty() {
        println!(
            "removed {} entries under {}",
            report.removed.len(),
            provider.data_dir().display()
        );
    }
    let status = provider.status().await?;
    if status.nodes.iter().any(|n| n.state.is_alive()) {
        anyhow::bail!("some nodes still run after stop; see `tda-kafka status`");
    }
    Ok(())
}

/// Writes topic configs and group offsets of the running cluster to a file.
async fn backup(provider: &LocalProvider, file: Option<PathBuf>) -> anyhow::Result<()> {
    let status = provider.status().await?;
    if status.endpoints.bootstrap_servers.is_empty() || !status.is_running() {
        anyhow::bail!(
            "--backup needs a running cluster (status: {})",
            status.state
        );
    }
    let mut props = ClusterConfig::default().client_properties();
    props.set("bootstrap.servers", &status.endpoints.bootstrap_servers);
    let admin = Admin::connect(&props, Duration::from_secs(15)).await?;
    let backup = admin.backup().await.context("backup failed")?;
    let path = file.unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        backups_dir(provider).join(format!("tda-kafka-{secs}.yaml"))
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

fn describe(o: &StopOutcome) -> String {
    match o {
        StopOutcome::Stopped { after } => {
            format!("stopped gracefully in {:.1} s", after.as_secs_f64())
        }
        StopOutcome::Killed {
            after_timeout: true,
        } => "killed after the graceful bound".into(),
        StopOutcome::Killed { .. } => "killed (--force)".into(),
        StopOutcome::NotRunning => "was not running".into(),
        StopOutcome::StalePidRemoved { pid } => {
            format!("was not running (stale pid {pid} removed)")
        }
        _ => format!("{o:?}"),
    }
}

/// `status`: exit 3 unless every node runs.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let status = match args
        .provider
        .for_existing(args.data.data_dir.is_some())
        .await?
    {
        Some(docker) => docker.status().await?,
        None => args.data.provider().status().await?,
    };
    args.output.print(&status, print_status)?;
    if status.is_running() {
        Ok(())
    } else {
        Err(CheckFailed(format!("cluster is {}", status.state)).into())
    }
}

fn print_status(s: &ClusterStatus) {
    println!(
        "Cluster: {} ({} provider, data in {})",
        s.state, s.provider, s.data_location
    );
    if s.nodes.is_empty() {
        println!("No cluster has been started with this data directory.");
        return;
    }
    let mut rows: Vec<Vec<String>> = s
        .nodes
        .iter()
        .map(|n| {
            vec![
                format!("kafka-{}", n.node_id),
                n.state.to_string(),
                n.address.clone(),
                n.log.clone(),
            ]
        })
        .collect();
    if let Some(r) = &s.registry {
        rows.push(vec![
            r.name.clone(),
            r.state.to_string(),
            r.url.clone(),
            r.log.clone(),
        ]);
    }
    print_table(&["PROCESS", "STATE", "ADDRESS", "LOG"], &rows);
    if s.is_running() {
        print_endpoints(&s.endpoints);
    }
}

/// Health of the cluster: the admin crate's checks plus the TDA topics and the registry.
#[derive(Debug, Serialize)]
struct Health {
    healthy: bool,
    problems: Vec<String>,
    report: Option<HealthReport>,
    missing_topics: Vec<String>,
    schema_registry: Option<String>,
}

/// `health` (and `start --health-only`): exit 3 when unhealthy.
pub async fn health(args: HealthArgs) -> anyhow::Result<()> {
    let config = load_with(args.config.loader())?.config;
    let provider = args.data.provider();
    let status = provider.status().await?;
    let (bootstrap, expected) = match (&args.bootstrap, status.nodes.len()) {
        (Some(b), _) => (b.clone(), None),
        (None, 0) => (
            config.bootstrap_servers(),
            Some(usize::from(config.broker_count)),
        ),
        (None, n) => (status.endpoints.bootstrap_servers.clone(), Some(n)),
    };
    let mut props = config.client_properties();
    props.set("bootstrap.servers", &bootstrap);
    let mut problems = Vec::new();
    let mut report = None;
    let mut missing_topics = Vec::new();
    match Admin::connect(&props, Duration::from_secs(10)).await {
        Err(e) => problems.push(format!("cannot reach Kafka at {bootstrap}: {e}")),
        Ok(admin) => {
            let mut r = admin.health().await.context("health check failed")?;
            if let Some(n) = expected {
                r = r.expecting(n);
            }
            problems.extend(r.problems());
            let md = admin.metadata().await?;
            missing_topics = config
                .topics
                .iter()
                .filter(|t| !md.topics.contains(&t.name))
                .map(|t| t.name.clone())
                .collect();
            if !missing_topics.is_empty() {
                problems.push(format!("missing topics: {}", missing_topics.join(", ")));
            }
            report = Some(r);
        }
    }
    let schema_registry = match (&status.registry, args.bootstrap.is_none()) {
        (Some(reg), true) => {
            let port = reg
                .url
                .rsplit(':')
                .next()
                .and_then(|rest| rest.split('/').next())
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(config.network.schema_registry_port);
            match tda_kafka_cluster::ready::probe_registry(
                &config.network.host,
                port,
                tda_kafka_cluster::local::REGISTRY_API,
            )
            .await
            {
                Ok(()) => Some(format!("{} answers", reg.url)),
                Err(e) => {
                    problems.push(format!("schema registry {}: {e}", reg.url));
                    Some(format!("{}: {e}", reg.url))
                }
            }
        }
        _ => None,
    };
    let health = Health {
        healthy: problems.is_empty(),
        problems,
        report,
        missing_topics,
        schema_registry,
    };
    args.output.print(&health, |h| {
        if let Some(r) = &h.report {
            println!(
                "Brokers: {} ({})",
                r.brokers.len(),
                r.brokers
                    .iter()
                    .map(|b| format!("{}@{}:{}", b.id, b.host, b.port))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "Controller: {}",
                r.controller
                    .map(|c| c.to_string())
                    .or(r.controller_note.clone())
                    .unwrap_or_default()
            );
            println!("Topics: {}, partitions: {}", r.topics, r.partitions);
        }
        if let Some(s) = &h.schema_registry {
            println!("Schema registry: {s}");
        }
        if h.healthy {
            println!("Healthy.");
        } else {
            for p in &h.problems {
                println!("problem: {p}");
            }
        }
    })?;
    if health.healthy {
        Ok(())
    } else {
        Err(CheckFailed("cluster is unhealthy".into()).into())
    }
}
