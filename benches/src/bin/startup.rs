//! Startup benchmark of the local cluster (not a timed test).
//!
//! Measures, on this machine, the time from `start` of a stopped cluster
//! whose data is present (storage formatted, no topics or registry) until it
//! is ready (all brokers registered, produce/consume round trip), for 3
//! brokers and for 1 broker: median of 5 runs each, and their ratio. Also the
//! peak resident memory (VmHWM) of every broker JVM.
//!
//! Run: `cargo run --release -p tda-kafka-benches --bin startup [-- RUNS]`.
//! Uses ports 24092-24094 / 24192-24194 and heaps of `-Xmx512m`.

use std::time::{Duration, Instant};

use tda_kafka_cluster::local::LocalProvider;
use tda_kafka_cluster::{ClusterProvider, NoProgress, StartOptions, StopOptions};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

fn config(brokers: u16) -> ClusterConfig {
    let mut c = ClusterConfig {
        heap_opts: Some("-Xmx512m -Xms256m".into()),
        num_network_threads: 2,
        num_io_threads: 2,
        group_initial_rebalance_delay_ms: 0,
        ..ClusterConfig::default()
    }
    .fit_to_brokers(brokers);
    c.network.kafka_base_port = 24092;
    c.network.controller_base_port = 24192;
    c.network.jmx_base_port = 0;
    c
}

/// CPU time (user + system) `pid` has used, in seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the comm.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident set (VmHWM) of `pid` in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Result {
    brokers: u16,
    runs: Vec<Duration>,
    peak_rss: Vec<f64>,
    /// CPU seconds all broker JVMs used until ready, per run.
    cpu: Vec<f64>,
}

async fn measure(brokers: u16, runs: usize) -> Result {
    let dir = tempfile::tempdir().expect("temp dir");
    let provider = LocalProvider::new(dir.path().join("cluster"));
    let cfg = config(brokers);
    let options = StartOptions {
        create_topics: false,
        services: tda_kafka_cluster::Services::brokers_only(),
        ..StartOptions::default()
    };
    let stop = StopOptions::default();
    // First start formats the storage; not measured.
    provider
        .start(&cfg, &options, &NoProgress, CancellationToken::new())
        .await
        .expect("first start");
    provider.stop(&stop, &NoProgress).await.expect("stop");
    let mut times = Vec::new();
    let mut peak = vec![0.0_f64; usize::from(brokers)];
    let mut cpu = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let report = provider
            .start(&cfg, &options, &NoProgress, CancellationToken::new())
            .await
            .expect("start");
        let elapsed = t.elapsed();
        assert!(!report.formatted && !report.already_running);
        let mut run_cpu = 0.0;
        for n in &report.status.nodes {
            if let Some(pid) = n.state.pid() {
                run_cpu += cpu_secs(pid).unwrap_or(0.0);
                let rss = peak_rss_mib(pid).unwrap_or(0.0);
                let slot = &mut peak[usize::from(n.node_id) - 1];
                *slot = slot.max(rss);
            }
        }
        eprintln!(
            "{brokers} broker(s), run {}: ready after {:.2} s",
            i + 1,
            elapsed.as_secs_f64()
        );
        times.push(elapsed);
        cpu.push(run_cpu);
        provider.stop(&stop, &NoProgress).await.expect("stop");
    }
    provider
        .stop(
            &StopOptions {
                remove_data: true,
                ..StopOptions::default()
            },
            &NoProgress,
        )
        .await
        .expect("cleanup");
    Result {
        brokers,
        runs: times,
        peak_rss: peak,
        cpu,
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let three = measure(3, runs).await;
    let one = measure(1, runs).await;
    println!("startup to ready (stopped cluster, data present), median of {runs}:");
    for r in [&three, &one] {
        let secs: Vec<String> = r
            .runs
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect();
        let rss: Vec<String> = r.peak_rss.iter().map(|m| format!("{m:.0}")).collect();
        let mut cpu = r.cpu.clone();
        cpu.sort_by(f64::total_cmp);
        println!(
            "  {} broker(s): median {:.2} s  (runs: {} s)  peak RSS per broker JVM: {} MiB  CPU of all JVMs until ready (median): {:.1} s",
            r.brokers,
            median(r.runs.clone()).as_secs_f64(),
            secs.join(", "),
            rss.join(", "),
            cpu[cpu.len() / 2]
        );
    }
    let ratio = median(three.runs.clone()).as_secs_f64() / median(one.runs.clone()).as_secs_f64();
    println!("  ratio 3 brokers / 1 broker: {ratio:.2} (goal: <= 1.5)");
    println!(
        "  machine: {} CPU(s), load average at the end: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
