//! `tda-kafka registry-proxy` (hidden): the schema registry of a local stack
//! behind its root-path proxy. `tda-kafka start` runs it; it runs the
//! registry command after `--` as its child and ends with it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// `registry-proxy` flags.
#[derive(Debug, Args)]
pub struct RegistryProxyArgs {
    /// Where the proxy listens (the stack's registry port).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Where the registry listens (its internal port).
    #[arg(long, value_name = "ADDR")]
    pub upstream: SocketAddr,
    /// The registry's command line.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Proxies until the registry exits; fails with its exit code when not 0.
pub async fn run(a: RegistryProxyArgs) -> anyhow::Result<()> {
    let (program, args) = a
        .command
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no registry command after `--`"))?;
    let code = tda_kafka_cluster::registry_proxy::supervise(
        a.listen,
        a.upstream,
        &PathBuf::from(program),
        args,
    )
    .await?;
    anyhow::ensure!(code == 0, "the schema registry exited with code {code}");
    Ok(())
}
