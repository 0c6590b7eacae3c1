//! `acls list|plan|apply|check`: the ACLs of the architecture's access
//! grants, like `topics plan|apply|check`.

use clap::{Args, Subcommand};
use tda_kafka_admin::{declared_acls, AclOutcome, AclPlan};
use tda_kafka_config::AclBinding;

use crate::cmd::topics::{ArchArgs, ConnArgs};
use crate::exit::CheckFailed;
use crate::output::{print_table, Format, OutputArgs};

/// `tda-kafka acls ...`.
#[derive(Debug, Args)]
pub struct AclsArgs {
    #[command(subcommand)]
    cmd: AclsCommand,
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Debug, Subcommand)]
enum AclsCommand {
    /// The cluster's literal ALLOW ACLs.
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show what apply would change (+ create, ? unmanaged).
    Plan {
        #[command(flatten)]
        arch: ArchArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create the declared ACLs (and delete unmanaged ones with --prune); re-read to verify.
    Apply {
        #[command(flatten)]
        arch: ArchArgs,
        /// Print the plan only.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Exit 3 when the cluster's ACLs differ from the declaration (for CI).
    Check {
        #[command(flatten)]
        arch: ArchArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn print_bindings(bindings: &[AclBinding]) {
    let rows: Vec<Vec<String>> = bindings.iter().map(row).collect();
    print_table(&["PRINCIPAL", "OPERATION", "RESOURCE", "NAME"], &rows);
}

fn row(b: &AclBinding) -> Vec<String> {
    let shown = b.to_string();
    let mut parts = shown.splitn(4, ' ').map(String::from);
    (0..4).map(|_| parts.next().unwrap_or_default()).collect()
}

fn print_plan(plan: &AclPlan, prune: bool) {
    for b in &plan.create {
        println!("+ {b}");
    }
    for b in &plan.unmanaged {
        let what = if prune { "- " } else { "? " };
        println!(
            "{what}{b}{}",
            if prune {
                ""
            } else {
                " (unmanaged; --prune deletes it)"
            }
        );
    }
    println!(
        "{} to create, {} unmanaged, {} unchanged",
        plan.create.len(),
        plan.unmanaged.len(),
        plan.unchanged.len()
    );
}

/// Runs `acls`.
pub async fn run(a: AclsArgs) -> anyhow::Result<()> {
    let (admin, cfg) = a.conn.connect().await?;
    match a.cmd {
        AclsCommand::List { output } => {
            let bindings = admin.describe_acls().await?;
            output.print(&bindings, |b| print_bindings(b))
        }
        AclsCommand::Plan { arch, output } => {
            let plan = admin.plan_acls(&declared_acls(&arch.specs(&cfg)?)).await?;
            output.print(&plan, |p| print_plan(p, arch.prune))
        }
        AclsCommand::Check { arch, output } => {
            let plan = admin.plan_acls(&declared_acls(&arch.specs(&cfg)?)).await?;
            output.print(&plan, |p| print_plan(p, arch.prune))?;
            if plan.has_drift() {
                let n = plan.create.len() + plan.unmanaged.len();
                return Err(CheckFailed(format!(
                    "drift: {n} ACL difference(s) from the architecture"
                ))
                .into());
            }
            Ok(())
        }
        AclsCommand::Apply {
            arch,
            dry_run,
            output,
        } => {
            let plan = admin.plan_acls(&declared_acls(&arch.specs(&cfg)?)).await?;
            if dry_run {
                return output.print(&plan, |p| print_plan(p, arch.prune));
            }
            let outcomes = admin.apply_acls(&plan, arch.prune).await?;
            output.print(&outcomes, |o: &Vec<AclOutcome>| {
                for x in o {
                    let sign = if x.created { '+' } else { '-' };
                    match &x.error {
                        None => println!("{sign} {} ok", x.binding),
                        Some(e) => println!("{sign} {} FAILED: {e}", x.binding),
                    }
                }
                println!("{} change(s)", o.len());
            })?;
            if let Some(f) = outcomes.iter().find(|o| o.error.is_some()) {
                anyhow::bail!("ACL change {} failed", f.binding);
            }
            if output.format == Format::Table && outcomes.is_empty() {
                println!("nothing to change");
            }
            Ok(())
        }
    }
}
