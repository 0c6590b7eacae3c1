//! The suite runner both fault binaries share: scenarios run one after
//! another on one cluster (faults must not overlap), each followed by a
//! recovery; `NAME` arguments pick the scenarios whose name contains one.

use std::time::{Duration, Instant};

use futures::FutureExt as _;
use tda_kafka_client::workload::{self, CheckReport, Load};

use super::{typed, Cluster, SharedHistory, StackSpec};

/// A named scenario: it injects its faults into the cluster and returns
/// the checker's report (it panics when a check fails).
pub type Scenario = fn(&Cluster) -> futures::future::BoxFuture<'_, CheckReport>;

/// Runs the chosen `scenarios` on one cluster started from `spec`, prints
/// `test NAME ... ok|FAILED` and each report, and exits 1 when one failed.
/// `--list` lists them (as libtest does).
pub fn run_suite(spec: StackSpec, scenarios: &[(&str, Scenario)]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in scenarios {
            println!("{name}: test");
        }
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<&(&str, Scenario)> = scenarios
        .iter()
        .filter(|(n, _)| filters.is_empty() || filters.iter().any(|f| n.contains(f.as_str())))
        .collect();
    if chosen.is_empty() {
        println!("no fault scenario matches {filters:?}");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let failed = runtime.block_on(async {
        let t = Instant::now();
        let cluster = Cluster::start(spec);
        phase("cluster start", t);
        let mut failed = Vec::new();
        for (name, scenario) in chosen {
            eprintln!("\n=== scenario {name}");
            let t0 = Instant::now();
            let passed = match std::panic::AssertUnwindSafe(scenario(&cluster))
                .catch_unwind()
                .await
            {
                Ok(report) => {
                    println!("{report}");
                    println!("test {name} ... ok ({:.0} s)", t0.elapsed().as_secs_f64());
                    true
                }
                Err(_) => {
                    println!("test {name} ... FAILED");
                    failed.push(*name);
                    false
                }
            };
            let t = Instant::now();
            cluster.recover(passed).await;
            phase(&format!("{name}: recover"), t);
        }
        let t = Instant::now();
        cluster.stop();
        phase("cluster stop", t);
        failed
    });
    if !failed.is_empty() {
        println!("failed scenarios: {failed:?}");
        std::process::exit(1);
    }
}

/// A load of JSON records with the typed producer while `faults` runs;
/// then everything is consumed back and checked.
pub async fn under_load<F, Fut>(c: &Cluster, name: &str, faults: F) -> CheckReport
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t = Instant::now();
    let topic = c.create_topic(name, 3, 2, false).await;
    let t = phase(&format!("{name}: create topic"), t);
    let history = SharedHistory::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let producer = c.producer();
    let load = tokio::spawn({
        let (history, stop, topic) = (history.clone(), stop.clone(), topic.clone());
        async move {
            let load = Load {
                first: 0,
                count: 200_000,
                window: 20,
                pace: Duration::from_millis(3),
            };
            workload::produce(&producer, &typed(&topic), &load, &history, &stop).await
        }
    });
    // Some load before the first fault, so it hits a busy partition.
    wait_until(
        "the first acknowledgements",
        Duration::from_secs(60),
        || history.lock().unwrap().check(name).acknowledged >= 200,
    )
    .await;
    let t = phase(&format!("{name}: load before the faults"), t);
    faults(topic.clone()).await;
    let t = phase(&format!("{name}: faults"), t);
    // Some load after the last fault too.
    let before = history.lock().unwrap().check(name).acknowledged;
    wait_until(
        "acknowledgements after the faults",
        Duration::from_secs(120),
        || history.lock().unwrap().check(name).acknowledged >= before + 200,
    )
    .await;
    stop.cancel();
    load.await.unwrap();
    let t = phase(&format!("{name}: load after the faults"), t);
    let report = c.consume_and_check(name, &topic, &history).await;
    phase(&format!("{name}: consume-back"), t);
    report
}

/// `fault NODE` on partition 0's leader of `topic`; `while_faulted` sees
/// its report; once another broker leads the partition (and `hold` more),
/// `undo NODE`, then every replica is back in sync. Returns both reports.
pub async fn on_leader_until_replaced(
    c: &Cluster,
    topic: &str,
    (fault, undo): (&str, &str),
    hold: Duration,
    while_faulted: impl FnOnce(&serde_json::Value),
) -> (serde_json::Value, serde_json::Value) {
    let leader = c.leader(topic, 0).await;
    let node = leader.to_string();
    let done = c.fault(&[fault, &node]);
    while_faulted(&done);
    wait_until(
        &format!("a new leader of partition 0 after {fault} of {node}"),
        Duration::from_secs(60),
        || c.leader_now(topic, 0).is_some_and(|l| l != leader),
    )
    .await;
    tokio::time::sleep(hold).await;
    let undone = c.fault(&[undo, &node]);
    c.wait_fully_replicated(topic).await;
    (done, undone)
}

/// Nothing acknowledged was lost or duplicated, order held, and something
/// was acknowledged at all.
pub fn assert_clean(report: &CheckReport) {
    assert!(report.is_clean(), "{report}");
    assert!(report.acknowledged > 0, "{report}");
}

/// Prints `PHASE what: N.N s` (the time since `since`) to stderr and
/// returns now: where the suite's time goes, phase by phase.
pub fn phase(what: &str, since: Instant) -> Instant {
    eprintln!("PHASE {what}: {:.1} s", since.elapsed().as_secs_f64());
    Instant::now()
}

/// Polls `done` every 200 ms until it holds; panics after `bound`.
pub async fn wait_until(what: &str, bound: Duration, done: impl FnMut() -> bool) {
    assert!(
        poll_until(bound, done).await,
        "timed out after {bound:?} waiting for {what}"
    );
}

/// Polls `done` every 200 ms until it holds (true) or `bound` passed (false).
pub async fn poll_until(bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !done() {
        if t0.elapsed() >= bound {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    true
}
