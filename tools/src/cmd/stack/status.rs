//! `status` (exit 3 unless every node runs) and `health` (exit 3 when
//! unhealthy), the same for both providers.

use clap::Args;
use tda_kafka_cluster::ops::{self, StackHealth};
use tda_kafka_cluster::{ClusterProvider, ClusterStatus, Purpose};
use tda_kafka_config::ClusterConfig;

use super::start::print_endpoints;
use super::StackArgs;
use crate::exit::CheckFailed;
use crate::output::{print_table, OutputArgs};

/// Flags of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Check these bootstrap servers instead of the stack's (services are then not checked).
    #[arg(long, value_name = "HOSTS")]
    pub bootstrap: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `status`.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let config = args.stack.config.load()?.config;
    let selected = args.stack.select(&config, Purpose::Existing).await?;
    let status = selected.provider.status().await?;
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
        println!("No cluster has been started with this data directory or stack.");
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
                n.log.to_string(),
            ]
        })
        .collect();
    rows.extend(s.services.iter().map(|svc| {
        vec![
            svc.kind.key(),
            svc.state.to_string(),
            svc.url.clone(),
            svc.log.to_string(),
        ]
    }));
    print_table(&["MEMBER", "STATE", "ADDRESS", "LOG"], &rows);
    if s.is_running() {
        print_endpoints(&s.endpoints);
    }
}

/// `health`.
pub async fn health(args: HealthArgs) -> anyhow::Result<()> {
    let config = args.stack.config.load()?.config;
    health_of(&args, &config).await
}

/// `health` (and `start --health-only`) with the configuration loaded.
pub async fn health_of(args: &HealthArgs, config: &ClusterConfig) -> anyhow::Result<()> {
    let selected = args.stack.select(config, Purpose::Existing).await?;
    let health = ops::health(&selected.provider, config, args.bootstrap.as_deref()).await?;
    args.output.print(&health, print_health)?;
    if health.healthy {
        Ok(())
    } else {
        Err(CheckFailed("the stack is unhealthy".into()).into())
    }
}

fn print_health(h: &StackHealth) {
    println!("Cluster: {} ({} provider)", h.state, h.provider);
    if let Some(r) = &h.kafka {
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
    if let Some(zk) = &h.zookeeper {
        println!("ZooKeeper: {}", zk.summary());
    }
    if !h.services.is_empty() {
        let rows: Vec<Vec<String>> = h
            .services
            .iter()
            .map(|s| {
                vec![
                    s.kind.key(),
                    s.url.clone(),
                    if s.healthy { "ok" } else { "FAILED" }.into(),
                    s.detail.clone(),
                ]
            })
            .collect();
        print_table(&["SERVICE", "URL", "CHECK", "DETAIL"], &rows);
    }
    if h.healthy {
        println!("Healthy.");
    } else {
        for p in &h.problems {
            println!("problem: {p}");
        }
    }
}
