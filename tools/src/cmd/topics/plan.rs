//! `topics plan|apply|check` output: the plan table and applying it with
//! per-action outcomes and the re-read that proves it.

use anyhow::bail;
use tda_kafka_admin::{Admin, Plan, PlanAction};
use tda_kafka_config::{ClusterConfig, TopicSpec};

use crate::output::{Format, OutputArgs};

pub(super) async fn apply(
    admin: &Admin,
    cfg: &ClusterConfig,
    specs: &[TopicSpec],
    prune: bool,
    dry_run: bool,
    output: &OutputArgs,
) -> anyhow::Result<()> {
    let plan = admin.plan(specs, prune).await?;
    if dry_run || plan.changes().next().is_none() {
        output.print(&plan, print_plan)?;
        if output.format == Format::Table {
            println!(
                "{}",
                if dry_run {
                    "dry run: nothing changed"
                } else {
                    "nothing to apply"
                }
            );
        }
        return Ok(());
    }
    let report = admin
        .apply(specs, &plan, prune, cfg.delete_topic_enable)
        .await?;
    output.print(&report, |r| {
        for o in &r.outcomes {
            println!(
                "{} {}{}",
                if o.ok { "ok    " } else { "FAILED" },
                o.action.describe(),
                o.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        let left: Vec<&PlanAction> = r.after.changes().collect();
        if left.is_empty() {
            println!("verified: the cluster matches the architecture");
        } else {
            println!("still different after apply:");
            for a in left {
                println!("  {}", a.describe());
            }
        }
        for a in r.after.not_applicable() {
            println!("{}", a.describe());
        }
    })?;
    if !report.success() {
        let failed = report.outcomes.iter().filter(|o| !o.ok).count();
        bail!(
            "apply incomplete: {failed} of {} action(s) failed, {} change(s) still pending",
            report.outcomes.len(),
            report.after.changes().count()
        );
    }
    Ok(())
}

pub(super) fn print_plan(plan: &Plan) {
    if plan.actions.is_empty() {
        println!("no changes: the cluster matches the architecture");
        return;
    }
    for a in &plan.actions {
        println!("{}", a.describe());
    }
    println!(
        "{} change(s), {} not applicable, {} unmanaged",
        plan.changes().count(),
        plan.not_applicable().count(),
        plan.actions
            .iter()
            .filter(|a| matches!(a, PlanAction::Unmanaged { .. }))
            .count()
    );
}
