//! ACLs like topics: the bindings the architecture's access grants mean,
//! planned against the cluster's, applied, re-read and checked.

use serde::Serialize;
use tda_kafka_config::{AclBinding, TopicSpec};

use crate::{Admin, AdminError, Result};

/// What `apply` would change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AclPlan {
    /// Declared, not on the cluster.
    pub create: Vec<AclBinding>,
    /// On the cluster, not declared (deleted only with `prune`).
    pub unmanaged: Vec<AclBinding>,
    /// Declared and present.
    pub unchanged: Vec<AclBinding>,
}

impl AclPlan {
    /// Whether the cluster differs from the declaration.
    pub fn has_drift(&self) -> bool {
        !self.create.is_empty() || !self.unmanaged.is_empty()
    }
}

/// The outcome of one ACL change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclOutcome {
    /// The binding.
    pub binding: AclBinding,
    /// `true` created, `false` deleted.
    pub created: bool,
    /// The broker's error, if it refused.
    pub error: Option<String>,
}

/// The bindings of every topic's access grants, sorted.
pub fn declared_acls(topics: &[TopicSpec]) -> Vec<AclBinding> {
    let mut out: Vec<AclBinding> = topics.iter().flat_map(TopicSpec::acl_bindings).collect();
    out.sort();
    out.dedup();
    out
}

impl Admin {
    /// The literal ALLOW bindings of the cluster (as the first answering
    /// bootstrap broker sees them).
    pub async fn describe_acls(&self) -> Result<Vec<AclBinding>> {
        let mut last = None;
        for addr in self.bootstrap_addrs() {
            match crate::wire::acl::describe(&addr, &self.wire).await {
                Ok(b) => return Ok(b),
                Err(e @ (AdminError::Refused { .. } | AdminError::Authentication { .. })) => {
                    return Err(e)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| AdminError::Protocol {
            broker: self.bootstrap.clone(),
            reason: "no bootstrap servers".into(),
        }))
    }

    /// The plan from the cluster's bindings to `declared`.
    pub async fn plan_acls(&self, declared: &[AclBinding]) -> Result<AclPlan> {
        let current = self.describe_acls().await?;
        let mut plan = AclPlan::default();
        for b in declared {
            if current.contains(b) {
                plan.unchanged.push(b.clone());
            } else {
                plan.create.push(b.clone());
            }
        }
        plan.unmanaged = current
            .into_iter()
            .filter(|b| !declared.contains(b))
            .collect();
        Ok(plan)
    }

    /// Executes `plan` (unmanaged bindings are deleted only with `prune`),
    /// then re-reads until every change is visible, within the timeout.
    pub async fn apply_acls(&self, plan: &AclPlan, prune: bool) -> Result<Vec<AclOutcome>> {
        let addrs = self.bootstrap_addrs();
        let addr = addrs.first().cloned().unwrap_or_default();
        let mut outcomes = Vec::new();
        if !plan.create.is_empty() {
            let results = crate::wire::acl::create(&addr, &plan.create, &self.wire).await?;
            for (b, r) in plan.create.iter().zip(results) {
                outcomes.push(AclOutcome {
                    binding: b.clone(),
                    created: true,
                    error: r.err(),
                });
            }
        }
        if prune && !plan.unmanaged.is_empty() {
            let results = crate::wire::acl::delete(&addr, &plan.unmanaged, &self.wire).await?;
            for (b, r) in plan.unmanaged.iter().zip(results) {
                outcomes.push(AclOutcome {
                    binding: b.clone(),
                    created: false,
                    error: r.err(),
                });
            }
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(20);
        loop {
            let now = self.describe_acls().await?;
            let pending: Vec<&AclOutcome> = outcomes
                .iter()
                .filter(|o| o.error.is_none() && now.contains(&o.binding) != o.created)
                .collect();
            if pending.is_empty() {
                return Ok(outcomes);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AdminError::NotPropagated {
                    what: format!("ACL change {}", pending[0].binding),
                    timeout_ms: self.timeout.as_millis() as u64,
                    pending: pending.iter().map(|o| o.binding.to_string()).collect(),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
    }
}
