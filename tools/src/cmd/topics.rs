//! `tda-kafka topics ...`: the seed's kafka-topics.sh, plus declarative
//! plan/apply/check, metrics, produce and consume.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tda_kafka_admin::{ConsumeOptions, CreateTopic, ProduceRequest, StartAt};

mod conn;
mod plan;

pub use conn::{ArchArgs, ConnArgs};
use plan::{apply, print_plan};

use crate::exit::CheckFailed;
use crate::output::{print_table, Format, OutputArgs};

/// `topics` subcommands.
#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// List topics (internal topics only with --all).
    List {
        /// Include internal topics (`__consumer_offsets`, ...).
        #[arg(long, short = 'a')]
        all: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Partitions, leaders, replicas, ISR and configs of a topic (`*` marks values set on the topic).
    Describe {
        /// Topic.
        topic: String,
        /// Show every config, not only the ones set on the topic.
        #[arg(long)]
        all_configs: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create a topic: `create my_topic "partitions=5,replication-factor=3"`, `create t "cleanup.policy=compact"`.
    Create {
        /// Topic.
        topic: String,
        /// `key=value[,key=value...]`: partitions, replication-factor, or any topic config.
        options: Vec<String>,
        /// Partitions (overrides the options; default KAFKA_DEFAULT_PARTITIONS).
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Replication factor (default: the profile's, capped by the broker count).
        #[arg(long, short = 'r')]
        replication_factor: Option<i16>,
    },
    /// Delete a topic (asks for confirmation unless --yes; never internal topics).
    Delete {
        /// Topic.
        topic: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Set topic configs: `update tda_jobs retention.ms=1209600000`; `key=` resets a key to its default.
    Update {
        /// Topic.
        topic: String,
        /// `key=value` pairs.
        #[arg(required = true)]
        settings: Vec<String>,
    },
    /// Grow a topic to N partitions.
    AddPartitions {
        /// Topic.
        topic: String,
        /// New total partition count.
        count: usize,
    },
    /// Show what apply would change.
    Plan {
        #[command(flatten)]
        arch: ArchArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Apply the architecture: create topics, add partitions, change configs; re-read to verify.
    Apply {
        #[command(flatten)]
        arch: ArchArgs,
        /// Print the plan only.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Exit 3 when the cluster differs from the architecture (for CI).
    Check {
        #[command(flatten)]
        arch: ArchArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create all TDA topics: `apply` of the configuration's architecture.
    CreateAll {
        /// Print the plan only.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Per-partition offsets, message counts, leader, ISR, replication state and size on disk.
    Metrics {
        /// Topic (default: all non-internal topics).
        topic: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Send a message: from the argument, --file, or stdin.
    Produce {
        /// Topic.
        topic: String,
        /// Message value (default: read stdin).
        message: Option<String>,
        /// Read the value from a file.
        #[arg(long, conflicts_with = "message")]
        file: Option<PathBuf>,
        /// Message key.
        #[arg(long, short = 'k')]
        key: Option<String>,
        /// Header `name=value` (repeatable).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// Send the message this many times (at least 1; 0 is a usage error).
        #[arg(long, short = 'c', default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// Send to this partition.
        #[arg(long)]
        partition: Option<i32>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Read messages: `consume tda_jobs 10`.
    Consume {
        /// Topic.
        topic: String,
        /// Stop after this many messages.
        count: Option<usize>,
        /// Start at the log end (new messages only).
        #[arg(long, conflicts_with_all = ["offset", "timestamp"])]
        from_end: bool,
        /// Start at this offset in every partition.
        #[arg(long, conflicts_with = "timestamp")]
        offset: Option<i64>,
        /// Start at the first message with a timestamp >= this (ms since the epoch).
        #[arg(long)]
        timestamp: Option<i64>,
        /// Consume as this group and commit (default: no group, nothing committed).
        /// Starts at the group's committed offsets (else the beginning, or the
        /// end with --from-end); use `groups reset` to move them first.
        #[arg(long, short = 'g', conflicts_with_all = ["offset", "timestamp"])]
        group: Option<String>,
        /// Keep waiting for new messages until Ctrl-C.
        #[arg(long, short = 'F')]
        follow: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Runs a `topics` subcommand.
pub async fn run(cmd: TopicsCommand, conn: ConnArgs) -> anyhow::Result<()> {
    let (admin, cfg) = conn.connect().await?;
    match cmd {
        TopicsCommand::List { all, output } => {
            let topics = admin.list_topics(all).await?;
            output.print(&topics, |ts| {
                let rows: Vec<Vec<String>> = ts
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.partitions.to_string(),
                            t.replication_factor.to_string(),
                            if t.internal {
                                "yes".into()
                            } else {
                                String::new()
                            },
                        ]
                    })
                    .collect();
                print_table(&["TOPIC", "PARTITIONS", "RF", "INTERNAL"], &rows);
            })
        }
        TopicsCommand::Describe {
            topic,
            all_configs,
            output,
        } => {
            let d = admin.describe_topic(&topic).await?;
            output.print(&d, |d| {
                println!(
                    "Topic: {}  Partitions: {}  ReplicationFactor: {}{}",
                    d.name,
                    d.partitions.len(),
                    d.replication_factor,
                    if d.internal { "  (internal)" } else { "" }
                );
                let rows: Vec<Vec<String>> = d
                    .partitions
                    .iter()
                    .map(|p| {
                        vec![
                            p.partition.to_string(),
                            p.leader.map_or("none".into(), |l| l.to_string()),
                            join(&p.replicas),
                            join(&p.isr),
                        ]
                    })
                    .collect();
                print_table(&["PARTITION", "LEADER", "REPLICAS", "ISR"], &rows);
                println!();
                let rows: Vec<Vec<String>> = d
                    .configs
                    .iter()
                    .filter(|c| all_configs || !c.is_default)
                    .map(|c| {
                        vec![
                            if c.is_default { " ".into() } else { "*".into() },
                            c.name.clone(),
                            c.value.clone().unwrap_or_else(|| "(sensitive)".into()),
                            c.source.clone(),
                        ]
                    })
                    .collect();
                print_table(&["SET", "CONFIG", "VALUE", "SOURCE"], &rows);
            })
        }
        TopicsCommand::Create {
            topic,
            options,
            partitions,
            replication_factor,
        } => {
            let mut t = CreateTopic::parse(&topic, &options)?;
            if let Some(p) = partitions {
                t.partitions = Some(p);
            }
            if let Some(r) = replication_factor {
                t.replication_factor = Some(r);
            }
            let brokers = u16::try_from(admin.metadata().await?.brokers.len()).unwrap_or(u16::MAX);
            t.partitions.get_or_insert(cfg.default_partitions);
            t.replication_factor
                .get_or_insert(cfg.replication_for(brokers).factor);
            admin.create_topic(&t).await?;
            println!(
                "created topic {} (partitions={}, replication-factor={})",
                t.name,
                t.partitions.unwrap_or_default(),
                t.replication_factor.unwrap_or_default()
            );
            Ok(())
        }
        TopicsCommand::Delete { topic, yes } => {
            if !yes {
                confirm(&format!("Delete topic {topic} and all its messages?"))?;
            }
            admin.delete_topic(&topic, cfg.delete_topic_enable).await?;
            println!("deleted topic {topic}");
            Ok(())
        }
        TopicsCommand::Update { topic, settings } => {
            let mut changes = Vec::new();
            for s in &settings {
                let (k, v) = s
                    .split_once('=')
                    .with_context(|| format!("setting {s:?}: expected key=value"))?;
                let v = v.trim();
                changes.push((k.trim().to_owned(), (!v.is_empty()).then(|| v.to_owned())));
            }
            let after = admin.update_topic_configs(&topic, &changes).await?;
            println!("updated topic {topic}; configs set on it now:");
            for (k, v) in after {
                println!("  {k}={v}");
            }
            Ok(())
        }
        TopicsCommand::AddPartitions { topic, count } => {
            admin.add_partitions(&topic, count).await?;
            println!("topic {topic} now has {count} partitions");
            Ok(())
        }
        TopicsCommand::Plan { arch, output } => {
            let specs = arch.specs(&cfg)?;
            let plan = admin.plan(&specs, arch.prune).await?;
            output.print(&plan, print_plan)
        }
        TopicsCommand::Check { arch, output } => {
            let specs = arch.specs(&cfg)?;
            let plan = admin.plan(&specs, arch.prune).await?;
            output.print(&plan, print_plan)?;
            if plan.has_drift() {
                let n = plan.changes().count() + plan.not_applicable().count();
                return Err(
                    CheckFailed(format!("drift: {n} difference(s) from the architecture")).into(),
                );
            }
            if output.format == Format::Table {
                println!("no drift");
            }
            Ok(())
        }
        TopicsCommand::Apply {
            arch,
            dry_run,
            output,
        } => {
            let specs = arch.specs(&cfg)?;
            apply(&admin, &cfg, &specs, arch.prune, dry_run, &output).await
        }
        TopicsCommand::CreateAll { dry_run, output } => {
            let specs = cfg.effective_topics();
            apply(&admin, &cfg, &specs, false, dry_run, &output).await
        }
        TopicsCommand::Metrics { topic, output } => {
            let m = admin.metrics(topic.as_deref()).await?;
            output.print(&m, |m| {
                let mut rows = Vec::new();
                for t in &m.topics {
                    for p in &t.partitions {
                        rows.push(vec![
                            t.topic.clone(),
                            p.partition.to_string(),
                            p.earliest.to_string(),
                            p.latest.to_string(),
                            p.messages.to_string(),
                            p.leader.map_or("none".into(), |l| l.to_string()),
                            join(&p.isr),
                            if p.offline {
                                "OFFLINE".into()
                            } else if p.under_replicated {
                                "UNDER-REPLICATED".into()
                            } else {
                                "ok".into()
                            },
                            p.size_bytes.map_or("-".into(), |s| s.to_string()),
                        ]);
                    }
                }
                print_table(
                    &[
                        "TOPIC",
                        "PARTITION",
                        "EARLIEST",
                        "LATEST",
                        "MESSAGES",
                        "LEADER",
                        "ISR",
                        "STATE",
                        "SIZE_BYTES",
                    ],
                    &rows,
                );
                for t in &m.topics {
                    println!(
                        "{}: {} messages, {} bytes",
                        t.topic,
                        t.messages,
                        t.size_bytes.map_or("?".into(), |s| s.to_string())
                    );
                }
                if let Some(n) = &m.size_note {
                    println!("note: sizes unavailable: {n}");
                }
            })
        }
        TopicsCommand::Produce {
            topic,
            message,
            file,
            key,
            headers,
            count,
            partition,
            output,
        } => {
            let value = match (message, file) {
                (Some(m), _) => m.into_bytes(),
                (None, Some(f)) => {
                    std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?
                }
                (None, None) => {
                    let mut buf = Vec::new();
                    std::io::stdin().read_to_end(&mut buf)?;
                    if buf.ends_with(b"\n") {
                        buf.pop();
                    }
                    buf
                }
            };
            let mut hs = Vec::new();
            for h in headers {
                let (k, v) = h
                    .split_once('=')
                    .with_context(|| format!("header {h:?}: expected name=value"))?;
                hs.push((k.to_owned(), v.to_owned()));
            }
            let req = ProduceRequest {
                topic: topic.clone(),
                key: key.map(String::into_bytes),
                headers: hs,
                value,
                count: count as usize,
                partition,
            };
            let delivered = admin.produce(&req).await?;
            output.print(&delivered, |d| {
                for x in d {
                    println!(
                        "sent to {topic} partition {} offset {}",
                        x.partition, x.offset
                    );
                }
            })
        }
        TopicsCommand::Consume {
            topic,
            count,
            from_end,
            offset,
            timestamp,
            group,
            follow,
            output,
        } => {
            let start = match (from_end, offset, timestamp) {
                (true, _, _) => StartAt::End,
                (_, Some(o), _) => StartAt::Offset(o),
                (_, _, Some(t)) => StartAt::Timestamp(t),
                _ => StartAt::Beginning,
            };
            let opts = ConsumeOptions {
                topic,
                start,
                max: count,
                group,
                follow,
            };
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = Arc::clone(&stop);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    s2.store(true, Ordering::SeqCst);
                }
            });
            let format = output.format;
            let result = admin
                .consume(&opts, stop, move |m| {
                    // A message counts as handed on (and, with --group, is
                    // committed) only once it was written and flushed.
                    let mut out = std::io::stdout().lock();
                    match format {
                        Format::Table => writeln!(
                            out,
                            "partition={} offset={} timestamp={} key={} headers={} value={}",
                            m.partition,
                            m.offset,
                            m.timestamp.map_or("-".into(), |t| t.to_string()),
                            m.key.as_deref().unwrap_or("-"),
                            if m.headers.is_empty() {
                                "-".to_owned()
                            } else {
                                m.headers
                                    .iter()
                                    .map(|(k, v)| format!("{k}={v}"))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            },
                            m.value.as_deref().unwrap_or("")
                        )?,
                        Format::Json => writeln!(
                            out,
                            "{}",
                            serde_json::to_string(m).map_err(std::io::Error::other)?
                        )?,
                        Format::Yaml => write!(
                            out,
                            "---\n{}",
                            serde_norway::to_string(m).map_err(std::io::Error::other)?
                        )?,
                    }
                    out.flush()
                })
                .await;
            let n = match result {
                Ok(n) => n,
                Err(e) if e.is_output_closed() => {
                    // The reader went away (`| head`): what it did not read
                    // stays uncommitted. Exit like a process ended by SIGPIPE.
                    if let tda_kafka_admin::AdminError::Output { committed, .. } = &e {
                        eprintln!("{committed} message(s) consumed; output closed");
                    }
                    std::process::exit(crate::exit::BROKEN_PIPE);
                }
                Err(e) => return Err(e.into()),
            };
            eprintln!("{n} message(s) consumed");
            Ok(())
        }
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Asks on the terminal; refuses without one.
pub fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} Refusing without a terminal; pass --yes to confirm");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("aborted")
    }
}

/// `tda-kafka topics ...` with the connection flags.
#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    cmd: TopicsCommand,
    #[command(flatten)]
    conn: ConnArgs,
}

/// Runs `topics`.
pub async fn run_args(a: TopicsArgs) -> anyhow::Result<()> {
    run(a.cmd, a.conn).await
}
