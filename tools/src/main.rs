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
    /// Show or validate the effective configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Config(c) => cmd::config::run(c).await,
        }
    });
    exit::report(result)
}
