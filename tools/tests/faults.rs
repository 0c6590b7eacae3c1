//! Fault tests against a real 3-broker KRaft cluster (RF 3, min ISR 2,
//! unclean leader election off) with the schema registry, started by the
//! real `tda-kafka` binary on ports 23092-23094 (controllers 23192-23194,
//! registry 23081 with Apicurio on 23082). Faults go through `tda-kafka
//! fault`; the load is `tda_kafka_client::workload` (typed producer and
//! consumer, unique sequence numbers) and every scenario prints one
//! `FAULT-RESULT ...` line, the numbers RELIABILITY.md quotes.
//!
//! A custom harness (`harness = false`, faults_support/harness.rs): the
//! scenarios share one cluster and run one after another (faults must not
//! overlap); `cargo test --test faults NAME` runs the scenarios whose name
//! contains NAME. A watchdog
//! process stops the cluster when this binary exits, however it exits. The
//! same binary is the consumer process the consumer-kill scenario kills
//! (`TDA_FAULT_CHILD=consumer`).

mod faults_support;

use std::time::Duration;

use faults_support::*;
use futures::FutureExt as _;
use tda_kafka_client::workload::{self, CheckReport, Load, SendOutcome};
use tda_kafka_client::{ClientSettings, ConsumerOptions, RetryPolicy};

const SCENARIOS: &[(&str, Scenario)] = &[
    ("leader_sigkill_5x", |c| leader_sigkill_5x(c).boxed()),
    ("clean_bounce_each_broker", |c| clean_bounce(c).boxed()),
    ("leader_sigstop_past_session_timeout", |c| {
        leader_sigstop(c).boxed()
    }),
    ("isolate_leader_and_heal", |c| isolate_and_heal(c).boxed()),
    ("consumer_sigkill_mid_batch", |c| {
        consumer_sigkill(c).boxed()
    }),
    ("registry_down_30s_avro", |c| registry_outage(c).boxed()),
    ("negative_acks1_unclean_leader_killed", |c| {
        negative_control(c).boxed()
    }),
];

fn main() {
    if std::env::var("TDA_FAULT_CHILD").as_deref() == Ok("consumer") {
        child_consumer();
        return;
    }
    run_suite(StackSpec::Local { port_base: 23092 }, SCENARIOS);
}

/// SIGKILL of partition 0's leader, five times, restarting it in between.
async fn leader_sigkill_5x(c: &Cluster) -> CheckReport {
    let report = under_load(c, "fault_leader_kill", |topic| async move {
        for round in 1..=5 {
            let killed = c.fault(&["kill-leader", &topic, "0"]);
            let node = killed["node"].as_u64().unwrap();
            eprintln!("round {round}: killed leader {node}");
            c.fault(&["restart", &node.to_string()]);
            c.wait_fully_replicated(&topic).await;
        }
    })
    .await;
    assert_clean(&report);
    report
}

/// A clean stop (SIGTERM) and restart of every broker in turn.
async fn clean_bounce(c: &Cluster) -> CheckReport {
    let report = under_load(c, "fault_bounce", |topic| async move {
        for node in 1..=3 {
            c.fault(&["stop", &node.to_string()]);
            c.fault(&["restart", &node.to_string()]);
            c.wait_fully_replicated(&topic).await;
        }
    })
    .await;
    assert_clean(&report);
    report
}

/// SIGSTOP of partition 0's leader for longer than the broker session
/// timeout (9 s), so it is fenced and replaced, then SIGCONT.
async fn leader_sigstop(c: &Cluster) -> CheckReport {
    let report = under_load(c, "fault_pause", |topic| async move {
        let undo = ("pause", "resume");
        on_leader_until_replaced(c, &topic, undo, Duration::from_secs(3), |_| {}).await;
    })
    .await;
    assert_clean(&report);
    report
}

/// Network isolation of partition 0's leader until it is replaced, then heal.
async fn isolate_and_heal(c: &Cluster) -> CheckReport {
    let report = under_load(c, "fault_isolate", |topic| async move {
        let (done, healed) =
            on_leader_until_replaced(c, &topic, ("isolate", "heal"), Duration::ZERO, |done| {
                assert!(done["added"].as_array().unwrap().len() >= 5, "{done}");
            })
            .await;
        assert_eq!(
            healed["removed"], done["added"],
            "heal removes exactly what isolate added"
        );
    })
    .await;
    assert_clean(&report);
    report
}

/// A consumer process killed (SIGKILL) mid-batch, then started again: no
/// gaps, nothing acknowledged lost, committed offsets never move backwards
/// (redelivery of the uncommitted tail is allowed: at-least-once).
async fn consumer_sigkill(c: &Cluster) -> CheckReport {
    let name = "fault_consumer_kill";
    let t = std::time::Instant::now();
    let topic = c.create_topic(name, 3, 2, false).await;
    let history = SharedHistory::default();
    let load = Load {
        first: 0,
        count: 3000,
        window: 100,
        pace: Duration::ZERO,
    };
    let never = tokio_util::sync::CancellationToken::new();
    workload::produce(&c.producer(), &typed(&topic), &load, &history, &never).await;
    let t = phase(&format!("{name}: create topic and load"), t);
    let out = c.dir().join("consumer.out");
    let group = "fault-consumer-kill";
    let watch = CommitWatch::start(c.settings(), group, &topic, 3);
    let mut child = c.spawn_consumer(&topic, group, &out);
    wait_until(
        "a third consumed by the first consumer process",
        Duration::from_secs(120),
        || consumed_lines(&out).len() >= 1000,
    )
    .await;
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let at_kill = consumed_lines(&out).len();
    eprintln!("consumer killed ({status}) after {at_kill} records");
    let t = phase(&format!("{name}: first consumer until killed"), t);
    assert!(at_kill < 3000, "killed mid-run, not after the end");
    let mut child = c.spawn_consumer(&topic, group, &out);
    let acked = acknowledged_seqs(&history);
    wait_until(
        "the restarted consumer to finish",
        Duration::from_secs(180),
        || {
            let seen: std::collections::BTreeSet<u64> =
                consumed_lines(&out).iter().map(|r| r.seq).collect();
            acked.is_subset(&seen)
        },
    )
    .await;
    let t = phase(&format!("{name}: restarted consumer until all consumed"), t);
    let ends = workload::end_offsets(&c.settings(), &topic, Duration::from_secs(10)).unwrap();
    wait_until("the final commit", Duration::from_secs(60), || {
        watch.latest().iter().all(|(p, o)| ends.get(p) == Some(o)) && watch.latest().len() == 3
    })
    .await;
    terminate(&mut child);
    let commits = watch.stop();
    phase(&format!("{name}: final commit and stop"), t);
    assert_eq!(
        commits.backwards, 0,
        "committed offsets moved backwards: {commits:?}"
    );
    assert!(commits.samples > 0);
    let mut h = history.lock().unwrap().clone();
    for r in consumed_lines(&out) {
        h.consumed(r);
    }
    let gaps = offset_gaps(&h, &ends);
    assert_eq!(gaps, 0, "offsets consumed with gaps");
    let report = h.check(name);
    assert_eq!(report.lost, 0, "{report}");
    assert_eq!(report.reordered, 0, "{report}");
    assert_eq!(report.unexpected, 0, "{report}");
    report
}

/// The registry killed for 30 s while a fresh consumer (no cached schema)
/// reads Avro records: it waits and retries, nothing is dead-lettered, nothing lost.
async fn registry_outage(c: &Cluster) -> CheckReport {
    let name = "fault_registry_down";
    let t = std::time::Instant::now();
    let topic = c.create_topic(name, 3, 2, false).await;
    let history = SharedHistory::default();
    let avro = || c.settings().with_avro(c.registry_url()).unwrap();
    let producer = tda_kafka_client::TdaProducer::new(&avro()).unwrap();
    let load = Load {
        first: 0,
        count: 1000,
        window: 100,
        pace: Duration::ZERO,
    };
    let never = tokio_util::sync::CancellationToken::new();
    workload::produce(&producer, &typed(&topic), &load, &history, &never).await;
    let t = phase(&format!("{name}: create topic and load"), t);
    c.kill_registry();
    let consumer = tokio::spawn({
        let (history, topic, settings) = (history.clone(), topic.clone(), avro());
        async move {
            let options = ConsumerOptions::new("fault-registry-down").with_decode_retry(
                RetryPolicy::new(200, Duration::from_millis(200), Duration::from_secs(2)),
            );
            workload::consume_to_end(
                &settings,
                &typed(&topic),
                options,
                &history,
                Duration::from_secs(300),
            )
            .await
        }
    });
    tokio::time::sleep(REGISTRY_OUTAGE).await;
    assert!(
        history.lock().unwrap().consumed_records().is_empty(),
        "nothing can be decoded while the registry is down"
    );
    let t = phase(&format!("{name}: kill and outage"), t);
    c.start_registry();
    let t = phase(&format!("{name}: registry start"), t);
    let (stats, reached) = consumer.await.unwrap().unwrap();
    phase(&format!("{name}: consume-back"), t);
    eprintln!("consumer: {stats:?}");
    assert!(reached, "the consumer read to the end");
    assert_eq!(
        stats.dead_lettered, 0,
        "a registry outage dead-lettered records"
    );
    assert!(
        stats.decode_retries > 0,
        "the outage was seen and waited out"
    );
    let report = history.lock().unwrap().check(name);
    assert_clean(&report);
    report
}

/// Negative control: acks=1 through a raw producer, unclean leader election
/// on; the followers are paused so only the leader has the records, the
/// leader is killed, the followers resume and one of them takes over. The
/// checker must report loss.
async fn negative_control(c: &Cluster) -> CheckReport {
    let name = "fault_negative_control";
    let t = std::time::Instant::now();
    let topic = c.create_topic(name, 1, 1, true).await;
    c.wait_fully_replicated(&topic).await;
    let meta = c.partition(&topic, 0).await;
    let leader = meta.leader.unwrap() as u16;
    let followers: Vec<String> = meta
        .replicas
        .iter()
        .filter(|&&r| r as u16 != leader)
        .map(|r| r.to_string())
        .collect();
    let raw = c.raw_acks1_producer();
    let history = SharedHistory::default();
    // Warm the connection to the leader before the followers stop.
    raw_send(&raw, &topic, 0..20, &history).await;
    for f in &followers {
        c.fault(&["pause", f]);
    }
    // Let the paused followers' outstanding fetches expire (fetch wait 500 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    raw_send(&raw, &topic, 20..520, &history).await;
    let t = phase(&format!("{name}: topic, pause followers, load"), t);
    c.fault(&["kill", &leader.to_string()]);
    for f in &followers {
        c.fault(&["resume", f]);
    }
    wait_until("a follower to take over", Duration::from_secs(90), || {
        c.leader_now(&topic, 0).is_some_and(|l| l != leader)
    })
    .await;
    let t = phase(&format!("{name}: kill, resume, takeover"), t);
    c.fault(&["restart", &leader.to_string()]);
    c.wait_fully_replicated(&topic).await;
    let t = phase(&format!("{name}: restart and replication"), t);
    let report = c.consume_and_check(name, &topic, &history).await;
    phase(&format!("{name}: consume-back"), t);
    assert!(report.acknowledged >= 500, "{report}");
    assert!(report.lost > 0, "the checker must see the loss: {report}");
    report
}

/// How long the registry stays down: a fresh consumer sees several failed
/// lookups and backs off (200 ms doubling to 2 s) in this time.
const REGISTRY_OUTAGE: Duration = Duration::from_secs(30);

fn acknowledged_seqs(history: &SharedHistory) -> std::collections::BTreeSet<u64> {
    history
        .lock()
        .unwrap()
        .sends()
        .filter(|(_, o)| matches!(o, SendOutcome::Acknowledged { .. }))
        .map(|(s, _)| s)
        .collect()
}

/// The consumer process of `consumer_sigkill`: consumes with the typed
/// consumer, appends `partition offset seq` per handled record to the
/// output file (before the handler returns, so before its commit), until SIGTERM.
fn child_consumer() {
    let var = |k: &str| std::env::var(k).unwrap();
    let (bootstrap, topic, group, out) = (
        var("TDA_FAULT_BOOTSTRAP"),
        var("TDA_FAULT_TOPIC"),
        var("TDA_FAULT_GROUP"),
        var("TDA_FAULT_OUT"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        use std::io::Write as _;
        // The group's minimum session (6 s): the killed process's partitions
        // move to its successor once the session expires, not after 45 s.
        let settings = ClientSettings::new(bootstrap)
            .with_property("session.timeout.ms", "6000")
            .with_property("heartbeat.interval.ms", "1500");
        let options = ConsumerOptions::new(group).with_commit_interval(Duration::from_millis(200));
        let consumer =
            tda_kafka_client::TdaConsumer::new(&settings, typed(&topic), options).unwrap();
        let file = std::sync::Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out)
                .unwrap(),
        ));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let on_term = shutdown.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
            term.recv().await;
            on_term.cancel();
        });
        let stats = consumer
            .run(
                move |r| {
                    let line = format!(
                        "{} {} {}\n",
                        r.partition,
                        r.offset,
                        r.key.as_deref().unwrap_or("-")
                    );
                    let file = file.clone();
                    async move {
                        file.lock().unwrap().write_all(line.as_bytes()).unwrap();
                        // Slow enough to be killed mid-run.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        Ok(())
                    }
                },
                shutdown,
            )
            .await
            .unwrap();
        eprintln!("child consumer done: {stats:?}");
    });
}
