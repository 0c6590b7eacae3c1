//! How `schemas`, `connect`, `backup` and `restore` reach the schema
//! registry and Kafka Connect: a URL flag (or its environment variable)
//! wins over the configuration's ports.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tda_kafka_admin::{ConnectClient, RegistryClient};
use tda_kafka_config::{ClusterConfig, Environment};

use crate::cmd::config::ConfigArgs;

/// The configuration's registry URL: its Confluent-compatible API on
/// `TDA_SCHEMA_REGISTRY_PORT`.
pub fn default_registry_url(cfg: &ClusterConfig) -> String {
    format!(
        "http://{}:{}/apis/ccompat/v7",
        cfg.network.host, cfg.network.schema_registry_port
    )
}

/// The configuration's Kafka Connect URL (`TDA_CONNECT_PORT`).
pub fn default_connect_url(cfg: &ClusterConfig) -> String {
    format!("http://{}:{}", cfg.network.host, cfg.network.connect_port)
}

/// `--registry URL`.
#[derive(Debug, Clone, Args)]
pub struct RegistryUrl {
    /// Schema registry URL [default: the configuration's,
    /// http://HOST:TDA_SCHEMA_REGISTRY_PORT/apis/ccompat/v7]. `user:password@`
    /// in it is sent as basic auth and never shown (prefer the environment
    /// variable for a password).
    #[arg(
        long,
        value_name = "URL",
        env = "TDA_SCHEMA_REGISTRY_URL",
        hide_env_values = true,
        global = true
    )]
    pub registry: Option<String>,
}

impl RegistryUrl {
    /// The registry client.
    pub fn client(&self, cfg: &ClusterConfig, timeout: Duration) -> anyhow::Result<RegistryClient> {
        let url = self
            .registry
            .clone()
            .unwrap_or_else(|| default_registry_url(cfg));
        Ok(RegistryClient::new(&url, None, timeout)?)
    }
}

/// `--connect URL`.
#[derive(Debug, Clone, Args)]
pub struct ConnectUrl {
    /// Kafka Connect REST URL [default: the configuration's,
    /// http://HOST:TDA_CONNECT_PORT, i.e. http://127.0.0.1:8083].
    /// `user:password@` in it is sent as basic auth and never shown.
    #[arg(
        long,
        value_name = "URL",
        env = "TDA_CONNECT_URL",
        hide_env_values = true,
        global = true
    )]
    pub connect: Option<String>,
}

impl ConnectUrl {
    /// The Connect client.
    pub fn client(&self, cfg: &ClusterConfig, timeout: Duration) -> anyhow::Result<ConnectClient> {
        let url = self
            .connect
            .clone()
            .unwrap_or_else(|| default_connect_url(cfg));
        Ok(ConnectClient::new(&url, None, timeout)?)
    }
}

/// The configuration flags and the timeout of the REST commands (global:
/// they may follow the subcommand).
#[derive(Debug, Clone, Args)]
pub struct RestConfig {
    /// Profile: development, staging or production.
    #[arg(long, short = 'e', value_name = "ENV", global = true)]
    pub environment: Option<Environment>,
    /// A kafka.env file to load [default: ./kafka.env when it exists].
    #[arg(long = "env-file", value_name = "PATH", global = true)]
    pub env_file: Option<PathBuf>,
    /// Bound on every HTTP call, in seconds.
    #[arg(long, default_value_t = 10, global = true)]
    pub timeout: u64,
}

impl RestConfig {
    /// The effective configuration.
    pub fn config(&self) -> anyhow::Result<ClusterConfig> {
        let args = ConfigArgs {
            environment: self.environment,
            env_file: self.env_file.clone(),
            topics_file: None,
        };
        Ok(args.load()?.config)
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}
