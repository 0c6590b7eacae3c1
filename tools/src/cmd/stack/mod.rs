//! The stack commands `start`, `stop`, `status`, `health` (and the seed's
//! `start-kafka` / `stop-kafka`): one code path whatever the provider. The
//! flags are resolved once into a provider ([`tda_kafka_cluster::select`])
//! and a configuration; the library does the work; this prints it.

pub mod start;
pub mod status;
pub mod stop;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Args, ValueEnum};
use tda_kafka_cluster::docker::{ImageSet, StackOptions};
use tda_kafka_cluster::{
    select, Progress, ProgressEvent, Purpose, Selected, Selection, Services, StackTarget,
};
use tda_kafka_config::ClusterConfig;

use crate::cmd::config::ConfigArgs;

/// `--provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderFlag {
    /// JVM processes on this machine (no Docker).
    Local,
    /// Containers on the local Docker engine.
    Docker,
    /// `docker` when an engine has the image set's images (for a running
    /// stack: when its containers exist), else `local`; `local` with `--data-dir`.
    Auto,
}

impl From<ProviderFlag> for Selection {
    fn from(f: ProviderFlag) -> Self {
        match f {
            ProviderFlag::Local => Selection::Local,
            ProviderFlag::Docker => Selection::Docker,
            ProviderFlag::Auto => Selection::Auto,
        }
    }
}

/// Which stack, and how it runs: flattened into every stack command.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Provider: local, docker or auto (the choice and its reason are printed).
    #[arg(long, value_enum, env = "TDA_KAFKA_PROVIDER", default_value = "auto")]
    pub provider: ProviderFlag,
    /// Data directory of a local stack
    /// [default: $XDG_DATA_HOME/tda-kafka/clusters/default or ~/.local/share/...].
    #[arg(long, value_name = "DIR", env = "TDA_KAFKA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Docker image set: local (`tda-kafka images build`), confluent or apache.
    #[arg(long = "images", value_name = "SET", default_value = "local")]
    pub images: ImageSet,
    /// Docker stack name (containers `<stack>_kafka_1`, network `<stack>-kafka-network`).
    #[arg(long, value_name = "NAME", default_value = "tda")]
    pub stack: String,
    /// JVM heap of every Docker container.
    #[arg(long, value_name = "SIZE", default_value = "512m")]
    pub heap: String,
}

impl StackArgs {
    /// The Docker stack placement these flags give.
    pub fn stack_options(&self) -> StackOptions {
        StackOptions {
            name: self.stack.clone(),
            image_set: self.images,
            heap: self.heap.clone(),
            ..StackOptions::default()
        }
    }

    /// Chooses the provider once for `config` and says which and why (stderr).
    pub async fn select(
        &self,
        config: &ClusterConfig,
        purpose: Purpose,
    ) -> anyhow::Result<Selected> {
        let target = StackTarget {
            data_dir: self.data_dir.clone(),
            stack: self.stack_options(),
        };
        let selected = select(self.provider.into(), &target, config, purpose).await?;
        eprintln!("provider: {} ({})", selected.kind(), selected.reason);
        Ok(selected)
    }
}

/// Which services run besides the brokers.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// Services: full (every service), core (brokers and the schema registry), brokers.
    #[arg(long, value_name = "PROFILE", default_value = "full")]
    pub profile: String,
    /// Leave a service out (schema-registry, kafka-connect, kafka-ui, ksqldb,
    /// redis); repeatable or comma separated.
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub without: Vec<String>,
    /// Do not start the schema registry (same as `--without schema-registry`).
    #[arg(long)]
    pub no_registry: bool,
}

impl ServiceArgs {
    /// The services these flags select.
    pub fn services(&self) -> anyhow::Result<Services> {
        let mut services = Services::profile(&self.profile).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown --profile `{}` (expected full, core or brokers)",
                self.profile
            )
        })?;
        for w in &self.without {
            anyhow::ensure!(
                services.disable(w),
                "unknown service `{w}` in --without (expected schema-registry, kafka-connect, kafka-ui, ksqldb or redis)"
            );
        }
        if self.no_registry {
            services.disable("schema-registry");
        }
        Ok(services)
    }
}

/// Prints progress events as lines on stderr (the library never prints):
/// every event, and a waiting line at most every 5 s (every one with `--verbose`).
#[derive(Debug, Default)]
pub struct Lines {
    verbose: bool,
    last_wait_ms: AtomicU64,
}

impl Lines {
    /// A printer; `verbose` shows every readiness probe.
    pub fn new(verbose: bool) -> Self {
        Self {
            verbose,
            last_wait_ms: AtomicU64::new(0),
        }
    }
}

impl Progress for Lines {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Started { step } => eprintln!("==> {step}"),
            ProgressEvent::Finished { step, detail } => eprintln!("    ok: {step}: {detail}"),
            ProgressEvent::Skipped { step, reason } => eprintln!("    skipped: {step} ({reason})"),
            ProgressEvent::Note { message } => eprintln!("    note: {message}"),
            ProgressEvent::Waiting {
                step,
                elapsed,
                detail,
            } => {
                let ms = elapsed.as_millis() as u64;
                let last = self.last_wait_ms.load(Ordering::Relaxed);
                if self.verbose || ms < last || ms >= last + 5000 {
                    self.last_wait_ms.store(ms, Ordering::Relaxed);
                    eprintln!("    {step} ({:.0} s): {detail}", elapsed.as_secs_f64());
                }
            }
            _ => {}
        }
    }
}

/// A token cancelled by Ctrl-C: a running start stops what it started.
pub fn cancel_on_ctrl_c() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping what was started ...");
            t.cancel();
        }
    });
    token
}
