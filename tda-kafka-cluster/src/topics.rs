//! The architecture's topics, created by every provider once the cluster is ready.

use std::time::Duration;

use tda_kafka_admin::{Admin, EnsureOutcome};
use tda_kafka_config::ClusterConfig;

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

/// The architecture's topics when `create` is set, else a skipped step.
pub(crate) async fn ensure_requested(
    create: bool,
    config: &ClusterConfig,
    progress: &dyn Progress,
) -> Result<Vec<(String, EnsureOutcome)>> {
    if create {
        return ensure_architecture(config, progress).await;
    }
    progress.report(ProgressEvent::Skipped {
        step: Step::CreateTopics,
        reason: "not requested".into(),
    });
    Ok(Vec::new())
}

/// Creates the topics of `config`'s architecture that do not exist yet;
/// [`Admin::ensure_topics`] returns only once every broker shows them with
/// leaders, so clients started right after `start` find them.
async fn ensure_architecture(
    config: &ClusterConfig,
    progress: &dyn Progress,
) -> Result<Vec<(String, EnsureOutcome)>> {
    progress.report(ProgressEvent::Started {
        step: Step::CreateTopics,
    });
    let admin = Admin::connect(&config.client_properties(), Duration::from_secs(30))
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "connect to create the topics",
            source,
        })?;
    let outcomes = admin
        .ensure_topics(&config.effective_topics())
        .await
        .map_err(|source| ClusterError::Admin {
            operation: "create the TDA topics",
            source,
        })?;
    grant_declared_access(config, &admin, progress).await?;
    let created = outcomes
        .iter()
        .filter(|(_, o)| *o == EnsureOutcome::Created)
        .count();
    progress.report(ProgressEvent::Finished {
        step: Step::CreateTopics,
        detail: format!(
            "{created} created, {} already existed",
            outcomes.len() - created
        ),
    });
    Ok(outcomes)
}

/// On a generated cluster with an authorizer, creates the ACLs of the
/// architecture's access grants that are missing (never deletes any).
async fn grant_declared_access(
    config: &ClusterConfig,
    admin: &Admin,
    progress: &dyn Progress,
) -> Result<()> {
    let sec = &config.security;
    if !(sec.generated() && sec.protocol.uses_sasl()) {
        return Ok(());
    }
    let step = Step::Other {
        name: "granting the declared ACLs".into(),
    };
    progress.report(ProgressEvent::Started { step: step.clone() });
    let declared = tda_kafka_admin::declared_acls(&config.effective_topics());
    let acl_err = |source| ClusterError::Admin {
        operation: "grant the declared ACLs",
        source,
    };
    let plan = admin.plan_acls(&declared).await.map_err(acl_err)?;
    let outcomes = admin.apply_acls(&plan, false).await.map_err(acl_err)?;
    if let Some(failed) = outcomes.iter().find(|o| o.error.is_some()) {
        return Err(ClusterError::Admin {
            operation: "grant the declared ACLs",
            source: tda_kafka_admin::AdminError::Protocol {
                broker: config.bootstrap_servers(),
                reason: format!(
                    "{}: {}",
                    failed.binding,
                    failed.error.as_deref().unwrap_or_default()
                ),
            },
        });
    }
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!(
            "{} created, {} already present",
            plan.create.len(),
            plan.unchanged.len()
        ),
    });
    Ok(())
}
