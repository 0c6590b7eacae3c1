//! `tda-kafka ui`: the web console (`tda-kafka-console`) against any cluster.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tda_kafka_config::SecretString;
use tda_kafka_console::{Auth, ConsoleOptions};

use crate::cmd::config::ConfigArgs;

/// `ui` flags.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Bootstrap servers `host:port[,...]` (default: from the configuration).
    #[arg(long, short = 'b', env = "TDA_KAFKA_BOOTSTRAP")]
    pub bootstrap: Option<String>,
    /// Schema registry URL (default: the configuration's registry,
    /// `http://HOST:TDA_SCHEMA_REGISTRY_PORT/apis/ccompat/v7`).
    #[arg(long)]
    pub registry: Option<String>,
    /// Do not use a schema registry (Avro values are shown as hex).
    #[arg(long, conflicts_with = "registry")]
    pub no_registry: bool,
    /// Kafka Connect REST URL (default: `http://HOST:TDA_CONNECT_PORT`).
    #[arg(long)]
    pub connect: Option<String>,
    /// The stack's Redis `host:port`, pinged on the overview (default
    /// `HOST:TDA_REDIS_PORT`, with the configuration's `TDA_REDIS_PASSWORD`).
    #[arg(long, value_name = "HOST:PORT")]
    pub redis: Option<String>,
    /// Do not show Redis on the overview.
    #[arg(long, conflicts_with = "redis")]
    pub no_redis: bool,
    /// ZooKeeper client addresses `host:port[,...]` (node 1 first) whose
    /// ensemble the overview shows (default: the configuration's ensemble in
    /// ZooKeeper mode, none in KRaft mode).
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',')]
    pub zookeeper: Vec<String>,
    /// Listen address (default `127.0.0.1:TDA_KAFKA_UI_PORT`, i.e. 8080). A
    /// non-loopback address requires --auth-token or --auth-user/--auth-password.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The address the console's port is published on when it differs from
    /// --listen (set by the Docker provider: a container listening on
    /// 0.0.0.0 published on 127.0.0.1); the authentication rule applies to it.
    #[arg(long, value_name = "ADDR", hide = true)]
    pub published: Option<SocketAddr>,
    /// Disable every change (POST answers 403).
    #[arg(long)]
    pub read_only: bool,
    /// Require this bearer token (or basic auth with it as password).
    #[arg(long, env = "TDA_KAFKA_UI_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Require basic auth with this user (with --auth-password).
    #[arg(long, requires = "auth_password")]
    pub auth_user: Option<String>,
    /// Basic auth password.
    #[arg(
        long,
        env = "TDA_KAFKA_UI_PASSWORD",
        hide_env_values = true,
        requires = "auth_user"
    )]
    pub auth_password: Option<String>,
    /// Seconds between lag samples for the lag charts.
    #[arg(long, default_value_t = 15)]
    pub lag_interval: u64,
    /// The data directory of the stack that runs this console (set by
    /// `tda-kafka start`, which finds its console by it; otherwise unused).
    #[arg(long, value_name = "DIR", hide = true)]
    pub managed_by: Option<std::path::PathBuf>,
    /// Bound on every Kafka and HTTP call, in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs the console until Ctrl-C.
pub async fn run(a: UiArgs) -> anyhow::Result<()> {
    let cfg = a.config.load()?.config;
    let mut props = cfg.client_properties();
    if let Some(b) = &a.bootstrap {
        props.set("bootstrap.servers", b);
    }
    let mut opts = ConsoleOptions::new(props)
        .with_listen(
            a.listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], cfg.network.ui_port))),
        )
        .with_read_only(a.read_only)
        .with_timeout(Duration::from_secs(a.timeout.max(1)))
        .with_lag_sample_interval(Duration::from_secs(a.lag_interval.max(1)))
        .with_connect(
            a.connect
                .clone()
                .unwrap_or_else(|| crate::cmd::services::default_connect_url(&cfg)),
        );
    let zookeeper = match (a.zookeeper.is_empty(), cfg.uses_zookeeper()) {
        (false, _) => a.zookeeper.clone(),
        (true, true) => cfg.zookeeper_addresses(),
        (true, false) => Vec::new(),
    };
    opts = opts.with_zookeeper(zookeeper);
    if !a.no_redis {
        let (host, port) = match &a.redis {
            Some(addr) => addr
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                .with_context(|| {
                    format!("--redis {addr:?}: give HOST:PORT, e.g. 127.0.0.1:6379")
                })?,
            None => (cfg.network.host.clone(), cfg.network.redis_port),
        };
        opts = opts.with_redis(host, port, cfg.services.redis_password.clone());
    }
    if let Some(published) = a.published {
        opts = opts.with_published(published);
    }
    if !a.no_registry {
        opts = opts.with_registry(
            a.registry
                .clone()
                .unwrap_or_else(|| crate::cmd::services::default_registry_url(&cfg)),
        );
    }
    match (&a.auth_token, &a.auth_user, &a.auth_password) {
        (Some(t), None, _) => opts = opts.with_auth(Auth::Token(SecretString::new(t.clone()))),
        (None, Some(u), Some(p)) => {
            opts = opts.with_auth(Auth::Basic {
                user: u.clone(),
                password: SecretString::new(p.clone()),
            })
        }
        (Some(_), Some(_), _) => anyhow::bail!("use either --auth-token or --auth-user, not both"),
        _ => {}
    }
    let console = tda_kafka_console::Console::bind(opts)
        .await
        .context("cannot start the web console")?;
    eprintln!(
        "tda-kafka console on http://{}{} (Ctrl-C stops it)",
        console.local_addr(),
        if a.read_only { ", read-only" } else { "" }
    );
    console
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
