//! Readiness waits of the Docker provider, over the probes every provider
//! shares ([`crate::ready`]): all brokers in the metadata plus a
//! produce/consume round trip through the host listeners, and the schema
//! registry answering `GET .../subjects`.

use std::time::{Duration, Instant};

use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

async fn pause(cancel: &CancellationToken) -> Result<()> {
    tokio::select! {
        _ = cancel.cancelled() => Err(ClusterError::Interrupted { cleanup: String::new() }),
        _ = tokio::time::sleep(Duration::from_millis(500)) => Ok(()),
    }
}

/// Waits until [`crate::ready::probe`] succeeds or the deadline passes.
pub(crate) async fn wait_ready(
    config: &ClusterConfig,
    deadline: Instant,
    started: Instant,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<String> {
    loop {
        let attempt = tokio::select! {
            r = crate::ready::probe(config) => r,
            _ = cancel.cancelled() => return Err(ClusterError::Interrupted { cleanup: String::new() }),
        };
        match attempt {
            Ok(()) => {
                return Ok(format!(
                    "{} brokers registered, round trip ok, after {:.1} s",
                    config.broker_count,
                    started.elapsed().as_secs_f64()
                ))
            }
            Err(problem) => {
                if Instant::now() >= deadline {
                    return Err(ClusterError::NotReady {
                        waited: started.elapsed(),
                        last_problem: problem,
                    });
                }
                progress.report(ProgressEvent::Waiting {
                    step: Step::WaitReady,
                    elapsed: started.elapsed(),
                    detail: problem,
                });
                pause(cancel).await?;
            }
        }
    }
}

/// Splits `http://host:port/prefix` into its parts.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = hostport.rsplit_once(':')?;
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    Some((host.to_string(), port.parse().ok()?, prefix))
}

/// Waits until the registry at `url` answers `GET <url>/subjects` with 200.
pub(crate) async fn wait_registry(
    url: &str,
    deadline: Instant,
    started: Instant,
    cancel: &CancellationToken,
) -> Result<()> {
    let (host, port, prefix) = split_url(url).ok_or_else(|| ClusterError::RegistryNotReady {
        url: url.into(),
        waited: Duration::ZERO,
        last_problem: "not an http://host:port URL".into(),
    })?;
    loop {
        match crate::ready::probe_registry(&host, port, &prefix).await {
            Ok(()) => return Ok(()),
            Err(problem) if Instant::now() >= deadline => {
                return Err(ClusterError::RegistryNotReady {
                    url: url.into(),
                    waited: started.elapsed(),
                    last_problem: problem,
                })
            }
            Err(_) => pause(cancel).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn registry_urls_split_into_host_port_prefix() {
        assert_eq!(
            split_url("http://127.0.0.1:58081/apis/ccompat/v7"),
            Some(("127.0.0.1".into(), 58081, "/apis/ccompat/v7".into()))
        );
        assert_eq!(
            split_url("http://localhost:8081"),
            Some(("localhost".into(), 8081, String::new()))
        );
        assert_eq!(split_url("https://x:1"), None);
    }
}
