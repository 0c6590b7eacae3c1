//! `fault`: inject a fault into the running stack (kill, stop, pause, resume,
//! restart, isolate, heal a node; kill a partition's leader) for testing
//! services against broker failures. Thin: parses, calls
//! `tda_kafka_cluster::fault::inject`, prints what was done.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use tda_kafka_cluster::fault::{self, Fault, FaultOptions, FaultReport};
use tda_kafka_cluster::Purpose;

use super::stack::{cancel_on_ctrl_c, Lines, StackArgs};
use crate::output::OutputArgs;

/// Flags every fault takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Upper bound in seconds on a kill's exit and a restart's readiness wait.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One node.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Broker id as in `tda-kafka status` (1, 2, 3).
    pub node: u16,
    #[command(flatten)]
    pub common: Common,
}

/// `heal NODE` or `heal --all`.
#[derive(Debug, Clone, Args)]
pub struct HealArgs {
    /// Broker id to heal.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub node: Option<u16>,
    /// Heal every isolated node of this cluster.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `kill-leader TOPIC PARTITION`.
#[derive(Debug, Clone, Args)]
pub struct LeaderArgs {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    #[command(flatten)]
    pub common: Common,
}

/// `tda-kafka fault ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum FaultCommand {
    /// SIGKILL a node (Docker: the engine's kill).
    Kill(NodeArgs),
    /// SIGTERM a node (controlled shutdown) and wait until it exited.
    Stop(NodeArgs),
    /// SIGSTOP a node (Docker: pause).
    Pause(NodeArgs),
    /// SIGCONT a paused node (Docker: unpause).
    Resume(NodeArgs),
    /// Start a stopped or killed node again and wait until the cluster is ready.
    Restart(NodeArgs),
    /// Drop the node's client and controller traffic (root and iptables;
    /// Docker: disconnect it from the stack network).
    Isolate(NodeArgs),
    /// Remove the isolation of a node (exactly the rules `isolate` added), or of all with --all.
    Heal(HealArgs),
    /// SIGKILL the current leader of TOPIC's PARTITION.
    #[command(name = "kill-leader")]
    KillLeader(LeaderArgs),
}

impl FaultCommand {
    fn split(self) -> (Fault, Common) {
        match self {
            Self::Kill(a) => (Fault::Kill { node: a.node }, a.common),
            Self::Stop(a) => (Fault::Stop { node: a.node }, a.common),
            Self::Pause(a) => (Fault::Pause { node: a.node }, a.common),
            Self::Resume(a) => (Fault::Resume { node: a.node }, a.common),
            Self::Restart(a) => (Fault::Restart { node: a.node }, a.common),
            Self::Isolate(a) => (Fault::Isolate { node: a.node }, a.common),
            Self::Heal(HealArgs {
                node: Some(node),
                all: false,
                common,
            }) => (Fault::Heal { node }, common),
            Self::Heal(a) => (Fault::HealAll, a.common),
            Self::KillLeader(a) => (
                Fault::KillLeader {
                    topic: a.topic,
                    partition: a.partition,
                },
                a.common,
            ),
        }
    }
}

/// `fault ...`.
pub async fn run(command: FaultCommand) -> anyhow::Result<()> {
    let (fault, common) = command.split();
    let config = common.stack.config.load()?.config;
    let selected = common.stack.select(&config, Purpose::Existing).await?;
    let options = FaultOptions {
        timeout: Duration::from_secs(common.timeout),
    };
    let report = fault::inject(
        &selected.provider,
        &config,
        &fault,
        &options,
        &Lines::new(false),
        cancel_on_ctrl_c(),
    )
    .await
    .with_context(|| format!("fault {} failed", fault.name()))?;
    common.output.print(&report, print_report)
}

fn print_report(r: &FaultReport) {
    println!("{}", r.detail);
    for rule in &r.added {
        println!("added: {rule}");
    }
    for rule in &r.removed {
        println!("removed: {rule}");
    }
}
