//! Fault tests on the Docker provider: `tda-kafka fault` through the real
//! engine (kill, pause/unpause, network disconnect and reconnect) against a
//! 3-broker KRaft stack of the local image set (stack `tda-fdk`, brokers on
//! host ports 30092-30094; RF 3, min ISR 2, unclean leader election off),
//! under the same typed workload and checker as `tests/faults.rs`; each
//! scenario prints its `FAULT-RESULT ...` line (RELIABILITY.md).
//!
//! Needs a Docker engine and the local images (`scripts/docker-engine.sh
//! ensure`, `tda-kafka images build`, as scripts/test.sh does); FAILS
//! without them. A custom harness (faults_support/harness.rs):
//! `cargo test --test docker_faults NAME` runs the scenarios whose name
//! contains NAME; a watchdog removes the stack when this binary exits.

mod engine_support;
mod faults_support;

use std::time::Duration;

use engine_support::docker;
use faults_support::*;
use futures::FutureExt as _;
use tda_kafka_client::workload::CheckReport;

const STACK: &str = "tda-fdk";

const SCENARIOS: &[(&str, Scenario)] = &[
    ("docker_leader_kill_2x", |c| leader_kill(c).boxed()),
    ("docker_leader_pause_past_session_timeout", |c| {
        leader_pause(c).boxed()
    }),
    ("docker_isolate_leader_and_heal", |c| {
        isolate_and_heal(c).boxed()
    }),
];

fn main() {
    let spec = StackSpec::Docker {
        stack: STACK,
        port_base: 30092,
    };
    run_suite(spec, SCENARIOS);
}

/// The engine's SIGKILL of partition 0's leader container, twice: another
/// broker takes over, then the container is started again (`fault restart`
/// returns when the cluster is ready).
async fn leader_kill(c: &Cluster) -> CheckReport {
    let report = under_load(c, "docker_fault_leader_kill", |topic| async move {
        for round in 1..=2 {
            let killed = c.fault(&["kill-leader", &topic, "0"]);
            let node = killed["node"].as_u64().unwrap();
            let container = killed["container"].as_str().unwrap().to_owned();
            eprintln!("round {round}: killed leader {node} ({container})");
            assert_eq!(
                docker(&["inspect", "-f", "{{.State.Running}}", &container]).trim(),
                "false",
                "the engine reports the killed container stopped"
            );
            wait_until(
                "a new leader of the killed one's partition",
                Duration::from_secs(60),
                || {
                    c.leader_now(&topic, 0)
                        .is_some_and(|l| u64::from(l) != node)
                },
            )
            .await;
            let restarted = c.fault(&["restart", &node.to_string()]);
            assert!(
                restarted["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("the cluster is ready")),
                "{restarted}"
            );
            c.wait_fully_replicated(&topic).await;
        }
    })
    .await;
    assert_clean(&report);
    report
}

/// The engine's pause of partition 0's leader past the broker session
/// timeout (it is fenced and replaced), then unpause.
async fn leader_pause(c: &Cluster) -> CheckReport {
    let report = under_load(c, "docker_fault_pause", |topic| async move {
        let undo = ("pause", "resume");
        on_leader_until_replaced(c, &topic, undo, Duration::from_secs(3), |paused| {
            let container = paused["container"].as_str().unwrap();
            assert_eq!(
                docker(&["inspect", "-f", "{{.State.Paused}}", container]).trim(),
                "true"
            );
        })
        .await;
    })
    .await;
    assert_clean(&report);
    report
}

/// Partition 0's leader disconnected from the stack network until it is
/// replaced, then reconnected (with its alias) by heal.
async fn isolate_and_heal(c: &Cluster) -> CheckReport {
    let network = &format!("{STACK}-kafka-network");
    let report = under_load(c, "docker_fault_isolate", |topic| async move {
        let undo = ("isolate", "heal");
        let (done, healed) = on_leader_until_replaced(c, &topic, undo, Duration::ZERO, |done| {
            assert_eq!(done["added"].as_array().unwrap().len(), 1, "{done}");
            let container = done["container"].as_str().unwrap();
            assert!(
                !networks_of(container).contains(network),
                "the engine shows {container} still on {network}"
            );
        })
        .await;
        assert_eq!(healed["removed"].as_array().unwrap().len(), 1, "{healed}");
        let container = done["container"].as_str().unwrap();
        assert!(
            networks_of(container).contains(network),
            "heal did not reconnect {container} to {network}"
        );
    })
    .await;
    assert_clean(&report);
    report
}

/// The networks the engine shows `container` on (the `docker` CLI: an
/// independent view).
fn networks_of(container: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        container,
    ])
}
