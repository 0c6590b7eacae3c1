//! Stack operations over any [`ClusterProvider`]: start with the seed's
//! recovery (`RECOVERY_MODE=true`), stop with a backup first, health of the
//! brokers, partitions, topics and every service. The CLI parses flags,
//! calls these and prints the typed results.

mod backup;
mod health;

use std::path::PathBuf;

use serde::Serialize;
use tda_kafka_admin::{Admin, RestoreReport};
use tda_kafka_config::{ClientProperties, ClusterConfig};
use tokio_util::sync::CancellationToken;

pub use backup::{backup, newest_backup, BackupWritten};
pub use health::{health, ServiceHealth, StackHealth};

use crate::{
    ClusterError, ClusterProvider, ClusterStatus, Progress, ProgressEvent, Result, StartOptions,
    StartReport, Step, StopOptions, StopReport,
};

/// Bound on the admin connections these operations open.
const ADMIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// What [`start`] did: the provider's report and, with `RECOVERY_MODE=true`,
/// what was restored from which backup.
#[derive(Debug, Clone, Serialize)]
pub struct StartOutcome {
    /// The provider's start report.
    #[serde(flatten)]
    pub report: StartReport,
    /// The recovery, when `config.recovery_mode` was set.
    pub recovery: Option<Recovery>,
}

/// A recovery from the stack's newest backup.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The backup file restored.
    pub file: PathBuf,
    /// What the restore did per topic and group.
    pub restore: RestoreReport,
}

impl StartOutcome {
    /// Whether the start and (if asked for) the recovery fully succeeded.
    pub fn success(&self) -> bool {
        self.recovery.as_ref().is_none_or(|r| r.restore.success())
    }
}

/// Client properties of `config` aimed at the running stack's bootstrap servers.
pub(crate) fn client_properties(
    config: &ClusterConfig,
    status: &ClusterStatus,
) -> ClientProperties {
    let mut props = config.client_properties();
    if !status.endpoints.bootstrap_servers.is_empty() {
        props.set("bootstrap.servers", &status.endpoints.bootstrap_servers);
    }
    props
}

/// Starts the stack and, with `config.recovery_mode`, restores the stack's
/// newest backup (missing topics with their configs, group offsets).
pub async fn start<P: ClusterProvider>(
    provider: &P,
    config: &ClusterConfig,
    options: &StartOptions,
    progress: &dyn Progress,
    cancel: CancellationToken,
) -> Result<StartOutcome> {
    // Without a backup, recovery cannot succeed: say so before starting.
    let recover_from = if config.recovery_mode {
        let dir = provider.backups_dir();
        Some(newest_backup(&dir)?.ok_or(ClusterError::NoBackup { dir })?)
    } else {
        None
    };
    let report = provider.start(config, options, progress, cancel).await?;
    let recovery = match recover_from {
        None => None,
        Some(file) => Some(recover(config, &report.status, file, progress).await?),
    };
    Ok(StartOutcome { report, recovery })
}

async fn recover(
    config: &ClusterConfig,
    status: &ClusterStatus,
    file: PathBuf,
    progress: &dyn Progress,
) -> Result<Recovery> {
    let step = Step::Other {
        name: format!("recovering from {}", file.display()),
    };
    progress.report(ProgressEvent::Started { step: step.clone() });
    let backup = tda_kafka_admin::Backup::read(&file).map_err(|source| ClusterError::Admin {
        operation: "read the backup",
        source,
    })?;
    let admin = Admin::connect(&client_properties(config, status), ADMIN_TIMEOUT)
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "connect to recover",
            source,
        })?;
    let mut restore = admin
        .restore(&backup)
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "restore the backup",
            source,
        })?;
    // Schemas and connectors go to the stack's own registry and worker; a
    // part whose service is not running stays in the file, reported.
    let (registry, connect) = backup::service_clients(status)?;
    let subjects = backup.schemas.as_ref().map_or(0, |s| s.subjects.len());
    let connectors = backup.connectors.as_ref().map_or(0, Vec::len);
    for (left_out, count, what) in [
        (
            registry.is_none(),
            subjects,
            "subject(s): no schema registry runs",
        ),
        (
            connect.is_none(),
            connectors,
            "connector(s): no Connect worker runs",
        ),
    ] {
        if left_out && count > 0 {
            progress.report(ProgressEvent::Note {
                message: format!(
                    "not restored: {count} {what} (restore later with `tda-kafka restore {}`)",
                    file.display()
                ),
            });
        }
    }
    backup
        .restore_services(registry.as_ref(), connect.as_ref(), &mut restore)
        .await;
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!(
            "{} topics, {} groups, {} subjects, {} connectors",
            restore.topics.len(),
            restore.groups.len(),
            restore.schemas.len(),
            restore.connectors.len()
        ),
    });
    Ok(Recovery { file, restore })
}

/// What [`stop`] does besides stopping.
#[derive(Debug, Clone, Default)]
pub struct StopRequest {
    /// How to stop.
    pub options: StopOptions,
    /// Back up topics and group offsets first (`Some(None)`: into the
    /// stack's backups folder; `Some(Some(path))`: into that file).
    pub backup: Option<Option<PathBuf>>,
}

/// What [`stop`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StopOutcome {
    /// The backup written before stopping, if asked for.
    pub backup: Option<BackupWritten>,
    /// The provider's stop report.
    #[serde(flatten)]
    pub report: StopReport,
}

/// Backs the stack up if asked, stops it, and checks that nothing of it
/// still runs ([`ClusterError::StillRunning`] otherwise).
pub async fn stop<P: ClusterProvider>(
    provider: &P,
    config: &ClusterConfig,
    request: &StopRequest,
    progress: &dyn Progress,
) -> Result<StopOutcome> {
    let backup = match &request.backup {
        None => None,
        Some(file) => Some(backup(provider, config, file.clone(), progress).await?),
    };
    let report = provider.stop(&request.options, progress).await?;
    let after = provider.status().await?;
    let members: Vec<String> = after
        .nodes
        .iter()
        .filter(|n| n.state.is_alive())
        .map(|n| format!("kafka-{}", n.node_id))
        .chain(
            after
                .services
                .iter()
                .filter(|s| s.state.is_alive())
                .map(|s| s.kind.key()),
        )
        .collect();
    if !members.is_empty() {
        return Err(ClusterError::StillRunning { members });
    }
    Ok(StopOutcome { backup, report })
}
