//! `tda-kafka groups list|describe|reset|delete`.

use clap::{Args, Subcommand};
use tda_kafka_admin::ResetSpec;

use crate::cmd::topics::{confirm, ConnArgs};
use crate::output::{print_table, OutputArgs};

/// `groups` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List consumer groups.
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Members, assignment, committed offset, log-end offset and lag per partition.
    Describe {
        /// Group id.
        group: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Move committed offsets (dry run unless --execute; refused while the group has members).
    Reset {
        /// Group id.
        group: String,
        /// Target: earliest, latest, offset:N, timestamp:MS, shift:N.
        #[arg(long = "to", value_name = "TARGET")]
        to: String,
        /// Limit to these topics (repeatable; default: topics the group has commits on).
        #[arg(long = "topic", short = 't')]
        topics: Vec<String>,
        /// Commit the new offsets (without it nothing changes).
        #[arg(long)]
        execute: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a group and its committed offsets.
    Delete {
        /// Group id.
        group: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `tda-kafka groups ...` with the connection flags.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    #[command(subcommand)]
    cmd: GroupsCommand,
    #[command(flatten)]
    conn: ConnArgs,
}

fn opt(v: Option<i64>) -> String {
    v.map_or("-".into(), |x| x.to_string())
}

/// Runs `groups`.
pub async fn run(a: GroupsArgs) -> anyhow::Result<()> {
    let (admin, _) = a.conn.connect().await?;
    match a.cmd {
        GroupsCommand::List { output } => {
            let gs = admin.list_groups().await?;
            output.print(&gs, |gs| {
                let rows: Vec<Vec<String>> = gs
                    .iter()
                    .map(|g| {
                        vec![
                            g.group.clone(),
                            g.state.clone(),
                            g.protocol_type.clone(),
                            g.members.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["GROUP", "STATE", "TYPE", "MEMBERS"], &rows);
            })
        }
        GroupsCommand::Describe { group, output } => {
            let d = admin.describe_group(&group).await?;
            output.print(&d, |d| {
                println!(
                    "Group: {}  State: {}  Members: {}  Total lag: {}",
                    d.group,
                    d.state,
                    d.members.len(),
                    d.total_lag
                );
                if !d.members.is_empty() {
                    let rows: Vec<Vec<String>> = d
                        .members
                        .iter()
                        .map(|m| {
                            vec![
                                m.client_id.clone(),
                                m.host.clone(),
                                m.assignment
                                    .iter()
                                    .map(|t| {
                                        format!(
                                            "{}:{}",
                                            t.topic,
                                            t.partitions
                                                .iter()
                                                .map(i32::to_string)
                                                .collect::<Vec<_>>()
                                                .join(",")
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" "),
                                m.member_id.clone(),
                            ]
                        })
                        .collect();
                    print_table(&["CLIENT", "HOST", "ASSIGNMENT", "MEMBER"], &rows);
                    println!();
                }
                let rows: Vec<Vec<String>> = d
                    .partitions
                    .iter()
                    .map(|p| {
                        vec![
                            p.topic.clone(),
                            p.partition.to_string(),
                            opt(p.committed),
                            p.log_end.to_string(),
                            opt(p.lag),
                            p.member.clone().unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "TOPIC",
                        "PARTITION",
                        "COMMITTED",
                        "LOG-END",
                        "LAG",
                        "MEMBER",
                    ],
                    &rows,
                );
            })
        }
        GroupsCommand::Reset {
            group,
            to,
            topics,
            execute,
            output,
        } => {
            let spec: ResetSpec = to.parse()?;
            let r = admin.reset_offsets(&group, &topics, spec, execute).await?;
            output.print(&r, |r| {
                let rows: Vec<Vec<String>> = r
                    .partitions
                    .iter()
                    .map(|p| {
                        vec![
                            p.topic.clone(),
                            p.partition.to_string(),
                            opt(p.current),
                            p.target.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["TOPIC", "PARTITION", "CURRENT", "NEW"], &rows);
                if r.executed {
                    println!("offsets of {} committed", r.group);
                } else {
                    println!("dry run: nothing changed; add --execute to commit these offsets");
                }
            })
        }
        GroupsCommand::Delete { group, yes } => {
            if !yes {
                confirm(&format!("Delete consumer group {group} and its offsets?"))?;
            }
            admin.delete_group(&group).await?;
            println!("deleted group {group}");
            Ok(())
        }
    }
}
