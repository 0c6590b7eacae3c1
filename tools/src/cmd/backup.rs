//! `tda-kafka backup FILE` and `tda-kafka restore FILE`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use tda_kafka_admin::Backup;

use crate::cmd::topics::ConnArgs;
use crate::output::OutputArgs;

/// `backup`: topics with non-default configs, partitions, replication factor,
/// and every group's committed offsets, into one versioned YAML/JSON file.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Output file (`.json` for JSON, YAML otherwise); `-` prints YAML to stdout.
    pub file: PathBuf,
    #[command(flatten)]
    conn: ConnArgs,
}

/// `restore`: recreate missing topics and set every group's offsets.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup file written by `backup`.
    pub file: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    conn: ConnArgs,
}

/// Runs `backup`.
pub async fn run_backup(a: BackupArgs) -> anyhow::Result<()> {
    let (admin, _) = a.conn.connect().await?;
    let b = admin.backup().await?;
    if a.file.as_os_str() == "-" {
        print!("{}", b.to_text(std::path::Path::new("-.yaml")));
    } else {
        b.write(&a.file)?;
        eprintln!(
            "backed up {} topic(s), {} group(s) and {} ACL(s) to {}",
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
    let (admin, _) = a.conn.connect().await?;
    let r = admin.restore(&b).await?;
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
    })?;
    if !r.success() {
        bail!("restore incomplete: see the lines above");
    }
    Ok(())
}
