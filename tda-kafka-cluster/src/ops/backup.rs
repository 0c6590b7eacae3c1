//! `stop --backup` and the files recovery reads: one backups folder per
//! stack ([`ClusterProvider::backups_dir`]), files named
//! `tda-kafka-<ms since the epoch>.yaml` in the format `restore` reads:
//! topics, group offsets and ACLs, plus the schemas and connector configs
//! of the stack's running registry and Connect worker.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tda_kafka_admin::{Admin, ConnectClient, RegistryClient};
use tda_kafka_config::ClusterConfig;

use super::{client_properties, ADMIN_TIMEOUT};
use crate::status::ClusterStatus;
use crate::{ClusterError, ClusterProvider, Progress, ProgressEvent, Result, ServiceKind, Step};

const PREFIX: &str = "tda-kafka-";
const SUFFIX: &str = ".yaml";

/// A backup that was written.
#[derive(Debug, Clone, Serialize)]
pub struct BackupWritten {
    /// The file.
    pub file: PathBuf,
    /// Topics in it.
    pub topics: usize,
    /// Groups in it.
    pub groups: usize,
    /// Registry subjects in it (none without a running registry).
    pub subjects: usize,
    /// Connector configs in it (none without a running Connect worker).
    pub connectors: usize,
}

/// Clients of the stack's running schema registry and Connect worker.
pub(crate) fn service_clients(
    status: &ClusterStatus,
) -> Result<(Option<RegistryClient>, Option<ConnectClient>)> {
    let running = |kind| {
        status
            .services
            .iter()
            .find(|s| s.kind == kind && s.state.is_alive())
    };
    let admin_err = |source| ClusterError::Admin {
        operation: "reach the stack's services",
        source,
    };
    let registry = running(ServiceKind::SchemaRegistry)
        .map(|s| RegistryClient::new(&s.url, None, ADMIN_TIMEOUT))
        .transpose()
        .map_err(admin_err)?;
    let connect = running(ServiceKind::Connect)
        .map(|s| ConnectClient::new(&s.url, None, ADMIN_TIMEOUT))
        .transpose()
        .map_err(admin_err)?;
    Ok((registry, connect))
}

/// Writes the running stack's topics (configs, partitions, replication),
/// group offsets, ACLs, schemas (every version, compatibility levels) and
/// connector configs to `file` (0600), or to a new file in the stack's
/// backups folder.
pub async fn backup<P: ClusterProvider>(
    provider: &P,
    config: &ClusterConfig,
    file: Option<PathBuf>,
    progress: &dyn Progress,
) -> Result<BackupWritten> {
    let status = provider.status().await?;
    if !status.is_running() {
        return Err(ClusterError::NotRunning {
            operation: "backup",
            state: status.state,
        });
    }
    let step = Step::Other {
        name: "backing up topics, group offsets, schemas and connectors".into(),
    };
    progress.report(ProgressEvent::Started { step: step.clone() });
    let admin_err = |operation| move |source| ClusterError::Admin { operation, source };
    let admin = Admin::connect(&client_properties(config, &status), ADMIN_TIMEOUT)
        .await
        .map_err(admin_err("connect for the backup"))?;
    let mut backup = admin.backup().await.map_err(admin_err("back up"))?;
    let (registry, connect) = service_clients(&status)?;
    if let Some(reg) = &registry {
        backup
            .add_schemas(reg)
            .await
            .map_err(admin_err("back up the schemas"))?;
    }
    if let Some(c) = &connect {
        backup
            .add_connectors(c)
            .await
            .map_err(admin_err("back up the connectors"))?;
    }
    let file = match file {
        Some(f) => f,
        None => new_backup_path(&provider.backups_dir()),
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ClusterError::io("cannot create", dir))?;
    }
    backup.write(&file).map_err(admin_err("write the backup"))?;
    let written = BackupWritten {
        file,
        topics: backup.topics.len(),
        groups: backup.groups.len(),
        subjects: backup.schemas.as_ref().map_or(0, |s| s.subjects.len()),
        connectors: backup.connectors.as_ref().map_or(0, Vec::len),
    };
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!(
            "{} topics, {} groups, {} subjects and {} connectors in {}",
            written.topics,
            written.groups,
            written.subjects,
            written.connectors,
            written.file.display()
        ),
    });
    Ok(written)
}

/// A new file name in `dir`, later than every earlier one.
fn new_backup_path(dir: &Path) -> PathBuf {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let newest = newest_backup(dir)
        .ok()
        .flatten()
        .and_then(|p| stamp(&p))
        .unwrap_or(0);
    dir.join(format!("{PREFIX}{}{SUFFIX}", ms.max(newest + 1)))
}

fn stamp(path: &Path) -> Option<u128> {
    path.file_name()?
        .to_str()?
        .strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .parse()
        .ok()
}

/// The newest backup in `dir` (by the time in its name), if any.
pub fn newest_backup(dir: &Path) -> Result<Option<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ClusterError::io("cannot read", dir)(e)),
    };
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| stamp(&p).map(|s| (s, p)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, p)| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_backup_is_found_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_backup(&dir.path().join("none")).unwrap(), None);
        let first = new_backup_path(dir.path());
        std::fs::write(&first, "version: 1\n").unwrap();
        let second = new_backup_path(dir.path());
        assert!(stamp(&second) > stamp(&first), "{second:?} after {first:?}");
        std::fs::write(&second, "version: 1\n").unwrap();
        std::fs::write(dir.path().join("notes.yaml"), "").unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), Some(second));
    }
}
