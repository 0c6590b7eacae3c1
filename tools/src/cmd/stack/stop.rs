//! `stop` / `stop-kafka`: the seed's stop-kafka.sh flags on either provider.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tda_kafka_cluster::ops::{self, StopOutcome, StopRequest};
use tda_kafka_cluster::{Purpose, StopMode, StopOptions};

use super::{Lines, StackArgs};
use crate::output::{print_table, OutputArgs};

/// Flags of `stop` / `stop-kafka` (the seed's stop-kafka.sh flags).
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Graceful shutdown: SIGTERM, wait, kill only after the bound (default).
    #[arg(long, conflicts_with = "force")]
    pub graceful: bool,
    /// Immediate shutdown (SIGKILL).
    #[arg(long)]
    pub force: bool,
    /// Remove the containers (and the stack's network) after stopping.
    #[arg(long)]
    pub remove_containers: bool,
    /// Delete the stack's data after stopping (DATA LOSS).
    #[arg(long)]
    pub remove_volumes: bool,
    /// Complete cleanup: containers, network and data (DATA LOSS).
    #[arg(long)]
    pub clean_all: bool,
    /// Back up topic configs and group offsets before stopping (what
    /// `RECOVERY_MODE=true start` restores).
    #[arg(long)]
    pub backup: bool,
    /// Where `--backup` writes [default: the stack's backups folder].
    #[arg(long, value_name = "PATH", requires = "backup")]
    pub backup_file: Option<PathBuf>,
    /// Seconds a graceful stop may take per process before it is killed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `stop` / `stop-kafka`.
pub async fn run(args: StopArgs) -> anyhow::Result<()> {
    let config = args.stack.config.load()?.config;
    let selected = args.stack.select(&config, Purpose::Existing).await?;
    let request = StopRequest {
        options: StopOptions {
            mode: if args.force {
                StopMode::Force
            } else {
                StopMode::Graceful
            },
            remove_data: args.remove_volumes || args.clean_all,
            remove_containers: args.remove_containers || args.clean_all,
            graceful_timeout: Duration::from_secs(args.timeout),
        },
        backup: args.backup.then(|| args.backup_file.clone()),
    };
    let outcome = ops::stop(&selected.provider, &config, &request, &Lines::new(false))
        .await
        .context("stop failed")?;
    args.output.print(&outcome, print_outcome)
}

fn print_outcome(o: &StopOutcome) {
    if let Some(b) = &o.backup {
        println!(
            "backup: {} topics, {} groups, {} subjects and {} connectors written to {} (mode 0600; restore with `tda-kafka restore` or `RECOVERY_MODE=true tda-kafka start`)",
            b.topics,
            b.groups,
            b.subjects,
            b.connectors,
            b.file.display()
        );
    }
    let rows: Vec<Vec<String>> = o
        .report
        .stopped
        .iter()
        .map(|(member, outcome)| vec![member.to_string(), outcome.to_string()])
        .collect();
    print_table(&["MEMBER", "RESULT"], &rows);
    for n in &o.report.notes {
        println!("note: {n}");
    }
    for r in &o.report.removed {
        println!("removed {r}");
    }
}
