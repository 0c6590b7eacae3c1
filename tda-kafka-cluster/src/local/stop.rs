//! Stopping local processes: every member signalled first (a KRaft node
//! waits for the quorum during controlled shutdown), then waited for; in
//! ZooKeeper mode the ensemble stops after the brokers.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::process::{self, PidCheck};
use super::state::Stored;
use super::{Launched, LocalProvider};
use crate::{
    ClusterError, Progress, ProgressEvent, Result, ServiceKind, StackMember, Step, StopMode,
    StopOptions, StopOutcome,
};

fn step_of(member: StackMember) -> Step {
    match member {
        StackMember::Node(node_id) => Step::StopNode { node_id },
        StackMember::Service(ServiceKind::SchemaRegistry) => Step::StopRegistry,
        StackMember::Service(kind) => Step::Other {
            name: format!("stopping {kind}"),
        },
    }
}

impl LocalProvider {
    /// Stops every member of the stack (the services first, then the nodes
    /// together, then the ZooKeeper nodes of ZooKeeper mode).
    pub(super) async fn stop_all(
        &self,
        stored: Option<&Stored>,
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<(StackMember, StopOutcome)>> {
        let services: Vec<StackMember> = [
            ServiceKind::Ui,
            ServiceKind::Connect,
            ServiceKind::SchemaRegistry,
            ServiceKind::Redis,
        ]
        .into_iter()
        .map(StackMember::Service)
        .collect();
        let nodes: Vec<StackMember> = self
            .known_nodes(stored)
            .into_iter()
            .map(StackMember::Node)
            .collect();
        let ensemble: Vec<StackMember> = self
            .known_zookeeper_nodes(stored)
            .into_iter()
            .map(|n| StackMember::Service(ServiceKind::Zookeeper(n)))
            .collect();
        // The services first (Connect commits its offsets to the brokers),
        // the ZooKeeper ensemble last (brokers deregister through it).
        let mut outcomes = self.stop_members(&services, options, progress).await?;
        outcomes.extend(self.stop_members(&nodes, options, progress).await?);
        outcomes.extend(self.stop_members(&ensemble, options, progress).await?);
        Ok(outcomes)
    }

    /// Signals every member of `members` at once, then waits for each.
    async fn stop_members(
        &self,
        members: &[StackMember],
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<(StackMember, StopOutcome)>> {
        let mut waits = Vec::new();
        let mut outcomes = Vec::new();
        for &member in members {
            match self.check(member) {
                PidCheck::Alive(pid) => {
                    progress.report(ProgressEvent::Started {
                        step: step_of(member),
                    });
                    let (mode, bound) = (options.mode, options.graceful_timeout);
                    let stop =
                        tokio::spawn(async move { stop_one(member, pid, mode, bound).await });
                    waits.push((member, pid, stop));
                }
                PidCheck::Stale(pid) => {
                    process::remove_file(&self.pid_file(member))?;
                    outcomes.push((member, StopOutcome::StalePidRemoved { pid }));
                }
                PidCheck::None => outcomes.push((member, StopOutcome::NotRunning)),
            }
        }
        let mut first_error = None;
        for (member, pid, handle) in waits {
            match handle.await {
                Ok(Ok(outcome)) => {
                    process::remove_file(&self.pid_file(member))?;
                    progress.report(ProgressEvent::Finished {
                        step: step_of(member),
                        detail: outcome.to_string(),
                    });
                    outcomes.push((member, outcome));
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    first_error.get_or_insert(ClusterError::StopFailed {
                        name: member.to_string(),
                        pid,
                        reason: join.to_string(),
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    /// Stops `launched` (a start failed or was interrupted); returns what was done.
    pub(super) async fn abort(&self, launched: &[Launched]) -> String {
        for l in launched {
            let _ = process::send(l.pid, Signal::SIGTERM);
        }
        let mut names = Vec::new();
        for l in launched {
            if !process::wait_exit(l.pid, Duration::from_secs(30)).await {
                let _ = process::send_group(l.pid, Signal::SIGKILL);
                process::wait_exit(l.pid, Duration::from_secs(10)).await;
            }
            names.push(l.member.to_string());
        }
        if names.is_empty() {
            "nothing had been started".into()
        } else {
            format!("stopped {}", names.join(", "))
        }
    }
}

/// Stops one process: SIGTERM and wait (graceful), or SIGKILL.
async fn stop_one(
    member: StackMember,
    pid: u32,
    mode: StopMode,
    bound: Duration,
) -> Result<StopOutcome> {
    let started = Instant::now();
    let fail = |reason: String| ClusterError::StopFailed {
        name: member.to_string(),
        pid,
        reason,
    };
    if mode == StopMode::Graceful {
        process::send(pid, Signal::SIGTERM).map_err(fail)?;
        if process::wait_exit(pid, bound).await {
            return Ok(StopOutcome::Stopped {
                after: started.elapsed(),
            });
        }
    }
    process::send_group(pid, Signal::SIGKILL).map_err(fail)?;
    if process::wait_exit(pid, Duration::from_secs(15)).await {
        // A killed JVM is a zombie while its threads still hold its ports.
        process::wait_released(pid, Duration::from_secs(15)).await;
        Ok(StopOutcome::Killed {
            after_timeout: mode == StopMode::Graceful,
        })
    } else {
        Err(fail("still alive 15 s after SIGKILL".into()))
    }
}
