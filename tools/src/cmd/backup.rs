//! `tda-kafka backup FILE` and `tda-kafka restore FILE`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};
use tda_kafka_admin::Backup;

use crate::cmd::services::{ConnectUrl, RegistryUrl};
use crate::cmd::topics::ConnArgs;
use crate::output::OutputArgs;

/// A part of a backup besides Kafka's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// The schema registry's subjects, versions and compatibility levels.
    Schemas,
    /// Kafka Connect's connector configs.
    Connectors,
}

/// The services of a backup or restore and the parts left out.
#[derive(Debug, Args)]
pub struct ServiceParts {
    #[command(flatten)]
    registry: RegistryUrl,
    #[command(flatten)]
    connect: ConnectUrl,
    /// Leave parts out: `--without schemas,connectors` (a cluster without a
    /// registry or Connect).
    #[arg(long, value_delimiter = ',', value_name = "PART")]
    without: Vec<Part>,
}

/// `backup`: topics with non-default configs, partitions, replication factor,
/// every group's committed offsets, the ACLs, every schema version with the
/// compatibility levels and every connector config, into one versioned
/// YAML/JSON file (0600: connector configs can hold secrets).
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Output file (`.json` for JSON, YAML otherwise); `-` prints YAML to stdout.
    pub file: PathBuf,
    #[command(flatten)]
    parts: ServiceParts,
    #[command(flatten)]
    conn: ConnArgs,
}

/// `restore`: recreate missing topics, set every group's offsets, create
/// missing ACLs, register missing schema versions in order and set the
/// compatibility levels, create or update connectors; everything read back.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup file written by `backup`.
    pub file: PathBuf,
    #[command(flatten)]
    parts: ServiceParts,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    conn: ConnArgs,
}

/// Runs `backup`.
pub async fn run_backup(a: BackupArgs) -> anyhow::Result<()> {
    let (admin, cfg) = a.conn.connect().await?;
    let timeout = Duration::from_secs(a.conn.timeout.max(1));
    let mut b = admin.backup().await?;
    if !a.parts.without.contains(&Part::Schemas) {
        b.add_schemas(&a.parts.registry.client(&cfg, timeout)?)
            .await?;
    }
    if !a.parts.without.contains(&Part::Connectors) {
        b.add_connectors(&a.parts.connect.client(&cfg, timeout)?)
            .await?;
    }
    let subjects = b.schemas.as_ref().map_or(0, |s| s.subjects.len());
    let connectors = b.connectors.as_ref().map_or(0, Vec::len);
    if a.file.as_os_str() == "-" {
        print!("{}", b.to_text(std::path::Path::new("-.yaml")));
    } else {
        b.write(&a.file)?;
        eprintln!(
            "backed up {} topic(s), {} group(s), {} ACL(s), {subjects} subject(s) and {connectors} connector(s) to {} (mode 0600)",
            b.topics.len(),
            b.groups.len(),
            b.acls.len(),
            a.file.display()
        );
    }
    Ok(())
}

/// Runs `restore`.
pub async fn run_restore(a: RestoreArgs) -> anyhow::Result<()> {
    let b = Backup::read(&a.file)?;
    let (admin, cfg) = a.conn.connect().await?;
    let timeout = Duration::from_secs(a.conn.timeout.max(1));
    let mut r = admin.restore(&b).await?;
    let registry = match (&b.schemas, a.parts.without.contains(&Part::Schemas)) {
        (Some(_), false) => Some(a.parts.registry.client(&cfg, timeout)?),
        _ => None,
    };
    let connect = match (&b.connectors, a.parts.without.contains(&Part::Connectors)) {
        (Some(_), false) => Some(a.parts.connect.client(&cfg, timeout)?),
        _ => None,
    };
    b.restore_services(registry.as_ref(), connect.as_ref(), &mut r)
        .await;
    a.output.print(&r, |r| {
        for (t, s) in &r.topics {
            println!("topic {t}: {s}");
        }
        for (g, s) in &r.groups {
            println!("group {g}: offsets {s}");
        }
        for (acl, s) in &r.acls {
            println!("acl {acl}: {s}");
        }
        for (subject, s) in &r.schemas {
            println!("subject {subject}: {s}");
        }
        for (c, s) in &r.connectors {
            println!("connector {c}: {s}");
        }
    })?;
    if registry.is_none() {
        if let Some(s) = b.schemas.as_ref().filter(|s| !s.subjects.is_empty()) {
            eprintln!(
                "left out: {} subject(s) (--without schemas)",
                s.subjects.len()
            );
        }
    }
    if connect.is_none() {
        if let Some(c) = b.connectors.as_ref().filter(|c| !c.is_empty()) {
            eprintln!("left out: {} connector(s) (--without connectors)", c.len());
        }
    }
    if !r.success() {
        bail!("restore incomplete: see the lines above");
    }
    Ok(())
}
