//! Exit codes scripts can rely on.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | error: the operation failed, input or configuration is invalid, the cluster is unreachable |
//! | 2 | usage error: unknown command or flag (from clap) |
//! | 3 | a check came out negative: cluster not running (`status`), unhealthy (`health`), drift (`topics check`) |
//! | 141 | stdout was closed by the reader (e.g. piped into `head`) |

use std::process::ExitCode;

/// A negative check result: printed by the command itself, exits with 3.
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// Exit code for success.
pub const OK: u8 = 0;
/// Exit code for errors.
pub const ERROR: u8 = 1;
/// Exit code for negative checks.
pub const CHECK_FAILED: u8 = 3;

/// Exit code when stdout was closed by the reader (`tda-kafka ... | head`),
/// as a shell reports a process ended by SIGPIPE.
pub const BROKEN_PIPE: i32 = 141;

/// Makes a closed stdout end the process quietly with [`BROKEN_PIPE`] instead
/// of a panic message: `println!` panics on EPIPE because Rust ignores SIGPIPE.
pub fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE);
        }
        default_hook(info);
    }));
}

/// Prints an error chain to stderr and maps it to an exit code.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        Err(e) if e.downcast_ref::<CheckFailed>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(CHECK_FAILED)
        }
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(hint) = e.chain().find_map(|c| c.downcast_ref().and_then(hint)) {
                eprintln!("hint: {hint}");
            }
            if let Some(hint) = e
                .chain()
                .find_map(|c| c.downcast_ref().and_then(service_hint))
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(ERROR)
        }
    }
}

/// What to do about a registry or Connect error in terms of this command's
/// flags (the library's message already carries the service's own hint).
fn service_hint(e: &tda_kafka_admin::AdminError) -> Option<&'static str> {
    use tda_kafka_admin::{AdminError, RestService};
    match e {
        AdminError::Service {
            status: None,
            service: RestService::Registry,
            ..
        } => Some("start the stack with `tda-kafka start`, or point at a registry with --registry URL (TDA_SCHEMA_REGISTRY_URL)"),
        AdminError::Service {
            status: None,
            service: RestService::Connect,
            ..
        } => Some("start the stack with `tda-kafka start`, or point at a worker with --connect URL (TDA_CONNECT_URL)"),
        _ => None,
    }
}

/// What to do about a cluster error, in terms of this command's flags (the
/// library's messages name no flags).
fn hint(e: &tda_kafka_cluster::ClusterError) -> Option<&'static str> {
    use tda_kafka_cluster::ClusterError as E;
    Some(match e {
        E::PortInUse { .. } => {
            "stop what uses it, or choose other ports in the env file (TDA_KAFKA_PORT_BASE, TDA_KAFKA_CONTROLLER_PORT_BASE, TDA_ZOOKEEPER_PORT_BASE, TDA_SCHEMA_REGISTRY_PORT, ...)"
        }
        E::TopologyChanged { .. } | E::State { .. } => {
            "start with --clean to recreate the cluster (deletes its data), or use another --data-dir"
        }
        E::DockerUnavailable { .. } => {
            "start an engine with `scripts/docker-engine.sh ensure` (Debian: apt-get install docker.io; dockerd as root), or use --provider local"
        }
        E::ImageMissing { .. } => {
            "build the local image set with `tda-kafka images build`, or pass --pull on a machine that reaches the images' registry"
        }
        E::ImagePull { .. } => "without a reachable registry, use --images local after `tda-kafka images build`",
        E::NoBackup { .. } => "make one with `tda-kafka stop --backup`",
        E::MetadataModeUnsupported { .. } => {
            "run ZooKeeper mode with --images local (after `tda-kafka images build`) or --provider local, or drop --metadata zookeeper for KRaft"
        }
        E::NotRunning { .. } => "start it with `tda-kafka start`",
        E::Interrupted { .. } => return None,
        other if other.is_missing_prerequisite() => "install what is named above, then run the command again",
        _ => return None,
    })
}
