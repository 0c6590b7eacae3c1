//! `tda-kafka connect list|status|create|update|delete|pause|resume|restart|validate|plugins`
//! over the Kafka Connect REST API; connector configs as JSON or YAML files.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use tda_kafka_admin::{ConnectorFile, ConnectorState, ConnectorStatus};

use crate::cmd::services::{ConnectUrl, RestConfig};
use crate::output::{print_table, OutputArgs};

/// `tda-kafka connect ...`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(subcommand)]
    cmd: ConnectCommand,
    #[command(flatten)]
    connect: ConnectUrl,
    #[command(flatten)]
    rest: RestConfig,
}

#[derive(Debug, Subcommand)]
enum ConnectCommand {
    /// Connectors with their type, state and task states.
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// State of a connector and each task (with the failure trace).
    Status {
        /// Connector name.
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create a connector from a JSON/YAML file (`{name, config}` or a flat config with `name`).
    Create {
        /// Connector file.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace an existing connector's config from a file.
    Update {
        /// Connector name.
        name: String,
        /// Connector file (its `name`, if any, must match).
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a connector.
    Delete {
        /// Connector name.
        name: String,
    },
    /// Pause a connector and its tasks.
    Pause {
        /// Connector name.
        name: String,
    },
    /// Resume a paused connector.
    Resume {
        /// Connector name.
        name: String,
    },
    /// Restart a connector (and with --include-tasks its tasks).
    Restart {
        /// Connector name.
        name: String,
        /// Restart the tasks too.
        #[arg(long)]
        include_tasks: bool,
        /// Only what has failed.
        #[arg(long)]
        only_failed: bool,
    },
    /// Ask the worker to validate a connector file (exit 1 with the worker's errors per key).
    Validate {
        /// Connector file.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Installed connector plugins (--all: transforms, converters, predicates too).
    Plugins {
        /// Every plugin type.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn task_states(s: &ConnectorStatus) -> String {
    let tasks: Vec<String> = s
        .tasks
        .iter()
        .map(|t| format!("{}:{}", t.id.unwrap_or_default(), t.state))
        .collect();
    if tasks.is_empty() {
        "-".into()
    } else {
        tasks.join(" ")
    }
}

fn print_status(s: &ConnectorStatus) {
    println!(
        "Connector: {}  type {}  state {}  worker {}",
        s.name,
        s.kind.as_deref().unwrap_or("?"),
        s.connector.state,
        s.connector.worker_id
    );
    if let Some(t) = &s.connector.trace {
        println!("  trace: {}", t.lines().next().unwrap_or_default());
    }
    let rows: Vec<Vec<String>> = s
        .tasks
        .iter()
        .map(|t| {
            vec![
                t.id.unwrap_or_default().to_string(),
                t.state.to_string(),
                t.worker_id.clone(),
                t.trace
                    .as_deref()
                    .and_then(|x| x.lines().next())
                    .unwrap_or("")
                    .to_owned(),
            ]
        })
        .collect();
    print_table(&["TASK", "STATE", "WORKER", "ERROR"], &rows);
}

/// Runs `connect`.
pub async fn run(a: ConnectArgs) -> anyhow::Result<()> {
    let cfg = a.rest.config()?;
    let c = a.connect.client(&cfg, a.rest.timeout())?;
    match a.cmd {
        ConnectCommand::List { output } => {
            let all = c.list_expanded().await?;
            output.print(&all, |all| {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|(n, o)| {
                        vec![
                            n.clone(),
                            o.info.kind.clone().unwrap_or_default(),
                            o.status.connector.state.to_string(),
                            task_states(&o.status),
                        ]
                    })
                    .collect();
                print_table(&["CONNECTOR", "TYPE", "STATE", "TASKS"], &rows);
            })
        }
        ConnectCommand::Status { name, output } => {
            let s = c.status(&name).await?;
            output.print(&s, print_status)?;
            if s.connector.state == ConnectorState::Failed
                || s.tasks.iter().any(|t| t.state == ConnectorState::Failed)
            {
                eprintln!("{name} has failed parts: see the traces (`-o json` shows them whole)");
            }
            Ok(())
        }
        ConnectCommand::Create { file, output } => {
            let f = ConnectorFile::read(&file)?;
            let Some(name) = f.name.clone() else {
                bail!(
                    "{}: no `name`: a connector file for `create` names its connector",
                    file.display()
                );
            };
            let info = c.create(&name, &f.config).await?;
            output.print(&info.name, |n| println!("created connector {n}"))
        }
        ConnectCommand::Update { name, file, output } => {
            let f = ConnectorFile::read(&file)?;
            if let Some(n) = f.name.as_deref().filter(|n| *n != name) {
                bail!("{}: names connector {n:?}, not {name:?}", file.display());
            }
            // Only an existing connector: `create` makes new ones.
            c.config(&name).await?;
            let info = c.put_config(&name, &f.config).await?;
            output.print(&info.name, |n| println!("updated connector {n}"))
        }
        ConnectCommand::Delete { name } => {
            c.delete(&name).await?;
            println!("deleted connector {name}");
            Ok(())
        }
        ConnectCommand::Pause { name } => {
            c.pause(&name).await?;
            println!("pause sent to {name} (the state turns PAUSED once the worker applies it)");
            Ok(())
        }
        ConnectCommand::Resume { name } => {
            c.resume(&name).await?;
            println!("resume sent to {name}");
            Ok(())
        }
        ConnectCommand::Restart {
            name,
            include_tasks,
            only_failed,
        } => {
            c.restart(&name, include_tasks, only_failed).await?;
            println!(
                "restart sent to {name}{}{}",
                if include_tasks { " with its tasks" } else { "" },
                if only_failed {
                    " (failed parts only)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        ConnectCommand::Validate { file, output } => {
            let f = ConnectorFile::read(&file)?;
            let mut config = f.config.clone();
            if let Some(n) = &f.name {
                config.insert("name".into(), n.clone());
            }
            let v = c.validate(&config).await?;
            output.print(&v, |v| {
                for (key, errs) in &v.errors {
                    for e in errs {
                        println!("{key}: {e}");
                    }
                }
                println!("{} error(s) for {}", v.error_count, v.class);
            })?;
            if v.error_count > 0 {
                bail!(
                    "{}: the worker found {} error(s) (listed above)",
                    file.display(),
                    v.error_count
                );
            }
            Ok(())
        }
        ConnectCommand::Plugins { all, output } => {
            let plugins = c.plugins(all).await?;
            output.print(&plugins, |p| {
                let rows: Vec<Vec<String>> = p
                    .iter()
                    .map(|x| {
                        vec![
                            x.class.clone(),
                            x.kind.clone(),
                            x.version.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                print_table(&["CLASS", "TYPE", "VERSION"], &rows);
            })
        }
    }
}
