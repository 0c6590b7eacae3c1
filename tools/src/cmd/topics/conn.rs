//! How `topics` reaches the cluster (`ConnArgs`) and which architecture it
//! compares against (`ArchArgs`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tda_kafka_admin::{Admin, Backup};
use tda_kafka_config::{ClusterConfig, Environment, TopicSpec};

use crate::cmd::config::ConfigArgs;

/// How to reach the cluster: `--bootstrap-server` wins over the configuration
/// (profile, env file, process environment); the configuration's security
/// settings are always used.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Bootstrap servers, `host:port[,host:port...]` (default: from the configuration).
    #[arg(
        long = "bootstrap-server",
        short = 'b',
        global = true,
        env = "TDA_KAFKA_BOOTSTRAP"
    )]
    pub bootstrap_server: Option<String>,
    /// Profile: development, staging or production.
    #[arg(long, short = 'e', global = true)]
    pub environment: Option<Environment>,
    /// A kafka.env file to load [default: ./kafka.env when it exists].
    #[arg(long = "env-file", global = true)]
    pub env_file: Option<PathBuf>,
    /// A YAML or JSON file that adds or overrides topics.
    #[arg(long = "topics-file", global = true)]
    pub topics_file: Option<PathBuf>,
    /// Bound on every cluster call, in seconds.
    #[arg(long, default_value_t = 10, global = true)]
    pub timeout: u64,
}

impl ConnArgs {
    /// The effective cluster configuration, loaded like every other command's.
    pub fn config(&self) -> anyhow::Result<ClusterConfig> {
        let args = ConfigArgs {
            environment: self.environment,
            env_file: self.env_file.clone(),
            topics_file: self.topics_file.clone(),
        };
        Ok(args.load()?.config)
    }

    /// Connects an admin client.
    pub async fn connect(&self) -> anyhow::Result<(Admin, ClusterConfig)> {
        let cfg = self.config()?;
        let mut props = cfg.client_properties();
        if let Some(b) = &self.bootstrap_server {
            props.set("bootstrap.servers", b);
        }
        let admin = Admin::connect(&props, Duration::from_secs(self.timeout.max(1))).await?;
        Ok((admin, cfg))
    }
}

/// Where the declarative commands take the architecture from.
#[derive(Debug, Clone, Args)]
pub struct ArchArgs {
    /// A topics file or backup file (YAML/JSON); default: the configuration's
    /// architecture (the five TDA topics plus TDA_TOPICS_FILE).
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Plan deletion of topics that are not in the architecture.
    #[arg(long)]
    pub prune: bool,
}

impl ArchArgs {
    pub(crate) fn specs(&self, cfg: &ClusterConfig) -> anyhow::Result<Vec<TopicSpec>> {
        match &self.file {
            Some(path) => {
                let b = Backup::read(path)?;
                Ok(b.topics.iter().map(|t| cfg.effective_topic(t)).collect())
            }
            None => Ok(cfg.effective_topics()),
        }
    }
}
