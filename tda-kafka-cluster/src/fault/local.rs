//! Faults on the local provider: signals to a node's JVM, restarts through
//! the provider's start, isolation through [`super::net`].

use std::time::Duration;

use nix::sys::signal::Signal;
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use super::{net, Fault, FaultOptions, FaultReport};
use crate::local::{process, LocalProvider};
use crate::{ClusterError, ClusterProvider, Progress, Result, Services, StartOptions};

fn error(fault: &Fault, reason: impl Into<String>) -> ClusterError {
    ClusterError::Fault {
        fault: fault.name().into(),
        reason: reason.into(),
    }
}

/// Whether `pid` is stopped (state `T` in `/proc/PID/stat`).
fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
    })
}

pub(super) async fn inject(
    p: &LocalProvider,
    config: &ClusterConfig,
    fault: &Fault,
    options: &FaultOptions,
    progress: &dyn Progress,
    cancel: CancellationToken,
) -> Result<FaultReport> {
    let node = match fault {
        Fault::Kill { node }
        | Fault::Stop { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::Restart { node }
        | Fault::Isolate { node }
        | Fault::Heal { node } => *node,
        Fault::HealAll => return heal_all(p),
        Fault::KillLeader { .. } => unreachable!("resolved to a kill by inject"),
    };
    let handle = p.node_handle(node)?;
    let mut report = FaultReport {
        node: Some(node),
        pid: handle.pid,
        ..FaultReport::default()
    };
    let running = |what: &str| {
        handle.pid.ok_or_else(|| {
            error(
                fault,
                format!("node {node} is not running, so it cannot be {what} (`tda-kafka fault restart {node}` starts it)"),
            )
        })
    };
    let signal = |pid: u32, sig: Signal| {
        process::send(pid, sig).map_err(|e| error(fault, format!("{sig} to pid {pid}: {e}")))
    };
    match fault {
        Fault::Kill { .. } => {
            let pid = running("killed")?;
            signal(pid, Signal::SIGKILL)?;
            if !process::wait_exit(pid, options.timeout).await {
                return Err(error(fault, format!("pid {pid} still runs after SIGKILL")));
            }
            process::wait_released(pid, Duration::from_secs(15)).await;
            report.detail = format!("node {node} (pid {pid}) killed with SIGKILL");
        }
        Fault::Stop { .. } => {
            let pid = running("stopped")?;
            if stopped(pid) {
                signal(pid, Signal::SIGCONT)?;
            }
            signal(pid, Signal::SIGTERM)?;
            let t0 = std::time::Instant::now();
            if !process::wait_exit(pid, options.timeout).await {
                return Err(error(
                    fault,
                    format!("pid {pid} did not exit within {} s of SIGTERM (`fault kill {node}` ends it)", options.timeout.as_secs()),
                ));
            }
            process::wait_released(pid, Duration::from_secs(15)).await;
            report.detail = format!(
                "node {node} (pid {pid}) stopped with SIGTERM in {:.1} s",
                t0.elapsed().as_secs_f64()
            );
        }
        Fault::Pause { .. } => {
            let pid = running("paused")?;
            signal(pid, Signal::SIGSTOP)?;
            report.detail = format!("node {node} (pid {pid}) paused with SIGSTOP");
        }
        Fault::Resume { .. } => {
            let pid = running("resumed")?;
            let was = stopped(pid);
            signal(pid, Signal::SIGCONT)?;
            report.detail = if was {
                format!("node {node} (pid {pid}) resumed with SIGCONT")
            } else {
                format!("node {node} (pid {pid}) was not paused; SIGCONT sent anyway")
            };
        }
        Fault::Restart { .. } => {
            if let Some(pid) = handle.pid {
                return Err(error(
                    fault,
                    format!(
                        "node {node} runs (pid {pid}{}); kill it first",
                        if stopped(pid) {
                            ", paused: resume it instead"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            let start = StartOptions {
                clean: false,
                create_topics: false,
                services: Services::brokers_only(),
                refetch: false,
                ready_timeout: options.timeout,
                console: None,
                registry_proxy: None,
            };
            let started = p.start(config, &start, progress, cancel).await?;
            report.pid = p.node_handle(node)?.pid;
            report.started_nodes = started.started_nodes.clone();
            report.detail = format!(
                "nodes {:?} started and the cluster is ready after {:.1} s",
                started.started_nodes,
                started.ready_after.as_secs_f64()
            );
        }
        Fault::Isolate { .. } => {
            let pid = running("isolated")?;
            report.added = net::isolate(handle.ports, pid)?;
            report.detail = format!(
                "node {node} (pid {pid}) isolated: its ports {} and {} and its own connections are dropped on loopback",
                handle.ports.kafka, handle.ports.controller
            );
        }
        Fault::Heal { .. } => {
            report.removed = net::heal(handle.ports.kafka)?;
            report.detail = format!(
                "node {node}: {} isolation rules removed",
                report.removed.len()
            );
        }
        Fault::HealAll | Fault::KillLeader { .. } => unreachable!(),
    }
    Ok(report)
}

fn heal_all(p: &LocalProvider) -> Result<FaultReport> {
    let mut report = FaultReport::default();
    for id in p.node_ids()? {
        let handle = p.node_handle(id)?;
        report.removed.extend(net::heal(handle.ports.kafka)?);
    }
    report.detail = format!(
        "{} isolation rules of this cluster removed",
        report.removed.len()
    );
    Ok(report)
}

/// Before a stop: heals every isolated node and resumes every paused one;
/// returns notes on what it undid (nothing when there was nothing).
pub(crate) fn release(p: &LocalProvider) -> Vec<String> {
    let mut notes = Vec::new();
    for id in p.node_ids().unwrap_or_default() {
        let Ok(handle) = p.node_handle(id) else {
            continue;
        };
        if net::is_isolated(handle.ports.kafka) {
            match net::heal(handle.ports.kafka) {
                Ok(r) => notes.push(format!("node {id}: {} isolation rules removed", r.len())),
                Err(e) => notes.push(format!("node {id}: {e}")),
            }
        }
        if let Some(pid) = handle.pid.filter(|&pid| stopped(pid)) {
            let _ = process::send(pid, Signal::SIGCONT);
            notes.push(format!(
                "node {id} (pid {pid}) was paused: resumed to stop it"
            ));
        }
    }
    notes
}
