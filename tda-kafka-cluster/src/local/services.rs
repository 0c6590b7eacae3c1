//! Waiting for the services a start launched: each one's real check
//! ([`crate::ready::probe_service`]; Redis with its password) through the one
//! bounded wait loop, all at once, failing early when a process dies.

use tda_kafka_config::ClusterConfig;

use super::start::check_launched;
use super::Launched;
use crate::poll::{Attempt, Wait};
use crate::ready::probe_service;
use crate::{ClusterError, ProgressEvent, Result, ServiceAddress, ServiceKind, Step};

/// A service process this start launched, not yet known to be ready.
#[derive(Debug, Clone)]
pub(super) struct Spawned {
    pub(super) kind: ServiceKind,
    /// Where its check runs.
    pub(super) at: ServiceAddress,
    pub(super) launched: Launched,
}

/// The progress step of starting `kind`.
pub(super) fn start_step(kind: ServiceKind) -> Step {
    match kind {
        ServiceKind::SchemaRegistry => Step::StartRegistry,
        other => Step::Other {
            name: format!("starting {other}"),
        },
    }
}

/// One check of `s`: `Ok` with what was seen, `Err` with what is missing.
async fn check(config: &ClusterConfig, s: &Spawned) -> Result<String, String> {
    match s.kind {
        ServiceKind::Redis => {
            let password = config.services.redis_password.as_ref();
            tda_kafka_admin::redis::ping(&s.at.host, s.at.port, password).await
        }
        kind => probe_service(kind, &s.at).await,
    }
}

/// Waits until `s` passes its check.
async fn wait_one(config: &ClusterConfig, s: &Spawned, wait: &Wait<'_>) -> Result<()> {
    let step = start_step(s.kind);
    let this = [s.launched.clone()];
    let url = s.at.url(s.kind);
    let seen = Wait {
        step: step.clone(),
        ..*wait
    }
    .until(
        || async {
            if let Err(e) = check_launched(&this) {
                return Attempt::Failed(e);
            }
            match check(config, s).await {
                Ok(seen) => Attempt::Ready(seen),
                Err(p) => Attempt::Pending(p),
            }
        },
        |waited, last_problem| match s.kind {
            ServiceKind::SchemaRegistry => ClusterError::RegistryNotReady {
                url: url.clone(),
                waited,
                last_problem,
            },
            kind => ClusterError::ServiceNotReady {
                service: kind.key(),
                url: url.clone(),
                waited,
                last_problem,
            },
        },
    )
    .await?;
    wait.progress.report(ProgressEvent::Finished {
        step,
        detail: format!("pid {}, {url} ({seen})", s.launched.pid),
    });
    Ok(())
}

/// Waits for every service in `spawned` at once; the first failure wins.
pub(super) async fn wait_all(
    config: &ClusterConfig,
    spawned: &[Spawned],
    wait: &Wait<'_>,
) -> Result<()> {
    futures::future::try_join_all(spawned.iter().map(|s| wait_one(config, s, wait)))
        .await
        .map(|_| ())
}
