//! The `tda-kafka` command: a thin layer of argument parsing and printing over
//! the tda-kafka libraries. Exit codes are documented in [`exit`].

mod cmd;
mod exit;
mod output;

use clap::{Parser, Subcommand};

/// Bring up, inspect and operate the TDA Kafka cluster.
#[derive(Debug, Parser)]
#[command(name = "tda-kafka", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the TDA stack (3 KRaft brokers, services, topics) and wait until ready.
    Start(cmd::stack::start::StartArgs),
    /// The seed's start-kafka.sh: same as `start`, same flags.
    #[command(name = "start-kafka")]
    StartKafka(cmd::stack::start::StartArgs),
    /// Stop the stack (graceful by default; `--backup` first).
    Stop(cmd::stack::stop::StopArgs),
    /// The seed's stop-kafka.sh: same as `stop`, same flags.
    #[command(name = "stop-kafka")]
    StopKafka(cmd::stack::stop::StopArgs),
    /// Show the state of every node and service (exit 3 when not running).
    Status(cmd::stack::status::StatusArgs),
    /// Check brokers, partitions, topics and every service (exit 3 when unhealthy).
    Health(cmd::stack::status::HealthArgs),
    /// Show or validate the effective configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Build or list the Docker images (`images build` makes the local set, no registry needed).
    #[command(subcommand)]
    Images(cmd::docker::ImagesCommand),
    /// Render the Docker topology as a docker-compose.yml.
    Compose(cmd::docker::ComposeArgs),
    /// Show the output of a member of the stack (`logs kafka-1 -f`).
    Logs(cmd::docker::LogsArgs),
    /// Docker tools: images, compose, logs, and which provider `start` would pick.
    #[command(subcommand)]
    Docker(cmd::docker::DockerCommand),
    /// Topics: list, describe, create, delete, update, plan/apply/check, metrics, produce, consume.
    Topics(cmd::topics::TopicsArgs),
    /// Consumer groups: list, describe with lag, reset offsets, delete.
    Groups(cmd::groups::GroupsArgs),
    /// ACLs of the architecture's access grants: list, plan/apply/check (secured clusters).
    Acls(cmd::acls::AclsArgs),
    /// Kafka Connect: list, status, create/update/delete, pause/resume/restart, validate, plugins.
    Connect(cmd::connect::ConnectArgs),
    /// Schema registry: list, show, register, compat, set-compat, delete.
    Schemas(cmd::schemas::SchemasArgs),
    /// Inject a fault: kill, pause, resume, restart, isolate or heal a node; kill a partition's leader.
    #[command(subcommand)]
    Fault(cmd::fault::FaultCommand),
    /// Write topics, group offsets, ACLs, schemas and connector configs to a YAML/JSON file (0600).
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup: missing topics, group offsets, ACLs, schemas, connectors.
    Restore(cmd::backup::RestoreArgs),
    /// The web console (replaces Kafka UI): overview, topics, messages, groups with lag history, schemas, connectors, TDA views.
    Ui(cmd::ui::UiArgs),
    /// The schema registry behind its root-path proxy (run by `start`).
    #[command(name = "registry-proxy", hide = true)]
    RegistryProxy(cmd::registry_proxy::RegistryProxyArgs),
    /// Print a shell completion script: `tda-kafka completions bash > /etc/bash_completion.d/tda-kafka`.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> std::process::ExitCode {
    exit::quiet_on_broken_pipe();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Start(a) | Command::StartKafka(a) => cmd::stack::start::run(a).await,
            Command::Stop(a) | Command::StopKafka(a) => cmd::stack::stop::run(a).await,
            Command::Status(a) => cmd::stack::status::status(a).await,
            Command::Health(a) => cmd::stack::status::health(a).await,
            Command::Config(c) => cmd::config::run(c).await,
            Command::Images(c) => cmd::docker::run_images(c).await,
            Command::Compose(c) => cmd::docker::run_compose(c).await,
            Command::Logs(c) => cmd::docker::run_logs(c).await,
            Command::Docker(c) => cmd::docker::run(c).await,
            Command::Topics(c) => cmd::topics::run_args(c).await,
            Command::Groups(c) => cmd::groups::run(c).await,
            Command::Acls(c) => cmd::acls::run(c).await,
            Command::Connect(c) => cmd::connect::run(c).await,
            Command::Schemas(c) => cmd::schemas::run(c).await,
            Command::Fault(c) => cmd::fault::run(c).await,
            Command::Backup(c) => cmd::backup::run_backup(c).await,
            Command::Restore(c) => cmd::backup::run_restore(c).await,
            Command::Ui(a) => cmd::ui::run(a).await,
            Command::RegistryProxy(a) => cmd::registry_proxy::run(a).await,
            Command::Completions { shell } => {
                let mut cli = <Cli as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut cli, "tda-kafka", &mut std::io::stdout());
                Ok(())
            }
        }
    });
    exit::report(result)
}
