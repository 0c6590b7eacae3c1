//! The one bounded wait loop under every readiness check: a deadline, a
//! cancellation token, progress reports, and polls that start fast (100 ms)
//! and back off to 500 ms.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

/// The result of one probe.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    /// Ready, with a value.
    Ready(T),
    /// Not yet, with what is missing.
    Pending(String),
    /// Failed for good (e.g. the process died): stop waiting.
    Failed(ClusterError),
}

/// One wait: which step it belongs to, its bound, who is told and who may cancel.
pub(crate) struct Wait<'a> {
    /// The step reported in `Waiting` events.
    pub step: Step,
    /// When the wait as a whole began (reported as `elapsed`).
    pub started: Instant,
    /// When to give up.
    pub deadline: Instant,
    /// Receives `Waiting` events.
    pub progress: &'a dyn Progress,
    /// Cancels the wait with [`ClusterError::Interrupted`].
    pub cancel: &'a CancellationToken,
}

impl Wait<'_> {
    /// Polls `probe` until it is ready, fails, the deadline passes (then
    /// `timeout(waited, last_problem)` is the error) or the wait is cancelled.
    pub(crate) async fn until<T, F, Fut>(
        &self,
        mut probe: F,
        timeout: impl FnOnce(Duration, String) -> ClusterError,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut interval = Duration::from_millis(100);
        loop {
            let attempt = tokio::select! {
                a = probe() => a,
                () = self.cancel.cancelled() => return Err(ClusterError::interrupted()),
            };
            let problem = match attempt {
                Attempt::Ready(value) => return Ok(value),
                Attempt::Failed(e) => return Err(e),
                Attempt::Pending(problem) => problem,
            };
            let now = Instant::now();
            if now >= self.deadline {
                return Err(timeout(self.started.elapsed(), problem));
            }
            self.progress.report(ProgressEvent::Waiting {
                step: self.step.clone(),
                elapsed: self.started.elapsed(),
                detail: problem,
            });
            tokio::select! {
                () = tokio::time::sleep(interval.min(self.deadline - now)) => {}
                () = self.cancel.cancelled() => return Err(ClusterError::interrupted()),
            }
            interval = (interval * 2).min(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn wait<'a>(cancel: &'a CancellationToken, bound: Duration) -> Wait<'a> {
        let now = Instant::now();
        Wait {
            step: Step::WaitReady,
            started: now,
            deadline: now + bound,
            progress: &crate::NoProgress,
            cancel,
        }
    }

    #[tokio::test]
    async fn returns_the_value_once_ready() {
        let cancel = CancellationToken::new();
        let calls = AtomicUsize::new(0);
        let v = wait(&cancel, Duration::from_secs(5))
            .until(
                || async {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0..=2 => Attempt::Pending("not yet".into()),
                        n => Attempt::Ready(n),
                    }
                },
                |_, p| ClusterError::NotReady {
                    waited: Duration::ZERO,
                    last_problem: p,
                },
            )
            .await
            .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_problem() {
        let cancel = CancellationToken::new();
        let e = wait(&cancel, Duration::from_millis(300))
            .until(
                || async { Attempt::<()>::Pending("2 of 3 brokers".into()) },
                |waited, p| ClusterError::NotReady {
                    waited,
                    last_problem: p,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClusterError::NotReady { last_problem, waited } if last_problem == "2 of 3 brokers" && *waited >= Duration::from_millis(300)),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_failed_probe_and_a_cancel_end_the_wait() {
        let cancel = CancellationToken::new();
        let e = wait(&cancel, Duration::from_secs(5))
            .until(
                || async {
                    Attempt::<()>::Failed(ClusterError::StillRunning {
                        members: vec!["died".into()],
                    })
                },
                |_, p| ClusterError::StillRunning { members: vec![p] },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ClusterError::StillRunning { .. }));
        cancel.cancel();
        let e = wait(&cancel, Duration::from_secs(5))
            .until(std::future::pending::<Attempt<()>>, |_, p| {
                ClusterError::StillRunning { members: vec![p] }
            })
            .await
            .unwrap_err();
        assert!(e.is_interrupted());
    }
}
