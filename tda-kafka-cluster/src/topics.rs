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
