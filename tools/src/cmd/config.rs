//! `tda-kafka config show|validate`.

use clap::Subcommand;
use tda_kafka_config::{ClusterConfig, Environment};

use crate::output::{print_table, OutputArgs};

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective value of every setting.
    Show {
        /// Profile.
        #[arg(long, short = 'e', default_value = "development")]
        environment: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Runs a `config` subcommand.
pub async fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Show {
            environment,
            output,
        } => {
            let env: Environment = environment.parse()?;
            let cfg = ClusterConfig::for_environment(env);
            output.print(&cfg, |c| {
                let rows = vec![
                    vec!["ENVIRONMENT".into(), c.environment.to_string()],
                    vec!["KAFKA_BROKER_COUNT".into(), c.broker_count.to_string()],
                ];
                print_table(&["KEY", "VALUE"], &rows);
            })
        }
    }
}
