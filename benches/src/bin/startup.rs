//! Startup benchmark of the local cluster (not a timed test).
//!
//! Measures, on this machine, the time from `start` of a stopped cluster
//! whose data is present (storage formatted, no topics or registry) until it
//! is ready (all brokers registered, produce/consume round trip), for 3
//! brokers and for 1 broker, each with plain JVMs (`JvmTuning::off()`: the
//! configured flags only) and tuned JVMs (class-data sharing archive plus
//! C1-only JIT, the development default), the two modes alternating run by
//! run so that both see the same machine load. Reported per size and mode:
//! median of N runs, the CPU seconds the broker JVMs used until ready (all
//! of them and per JVM), peak RSS (VmHWM) per JVM, the 1-minute load
//! average during the runs, and the ratios 3/1 and tuned/plain.
//!
//! Run: `cargo run --release -p tda-kafka-benches --bin startup [-- RUNS]`
//! (default 5). Uses ports 24092-24094 / 24192-24194, heaps of `-Xmx512m`,
//! and its own archive directory in a temporary directory (the first,
//! unmeasured start builds the archive, as a user's first start does).

use std::time::{Duration, Instant};

use tda_kafka_cluster::local::{JvmTuning, LocalProvider};
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

/// The 1-minute load average.
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The runs of one cluster size in one mode.
#[derive(Default)]
struct Series {
    secs: Vec<f64>,
    /// CPU seconds of all broker JVMs until ready, per run.
    cpu: Vec<f64>,
    peak_rss: Vec<f64>,
    load: Vec<f64>,
}

impl Series {
    fn line(&self, brokers: u16, mode: &str) -> String {
        let runs: Vec<String> = self.secs.iter().map(|s| format!("{s:.2}")).collect();
        let rss: Vec<String> = self.peak_rss.iter().map(|m| format!("{m:.0}")).collect();
        let cpu = median(&self.cpu);
        format!(
            "  {brokers} broker(s), {mode:5}: median {:.2} s (runs: {} s), CPU until ready {cpu:.2} s = {:.2} s per broker JVM, peak RSS {} MiB, load {:.1}-{:.1}",
            median(&self.secs),
            runs.join(", "),
            cpu / f64::from(brokers),
            rss.join("/"),
            self.load.iter().copied().fold(f64::INFINITY, f64::min),
            self.load.iter().copied().fold(0.0, f64::max),
        )
    }
}

/// Both modes of one cluster size: `[plain, tuned]`.
async fn measure(brokers: u16, runs: usize, archives: &std::path::Path) -> [Series; 2] {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("cluster");
    let providers = [
        LocalProvider::new(&data).with_jvm_tuning(JvmTuning::off()),
        LocalProvider::new(&data).with_jvm_tuning(JvmTuning::with_archive_dir(archives)),
    ];
    let cfg = config(brokers);
    let options = StartOptions {
        create_topics: false,
        services: tda_kafka_cluster::Services::brokers_only(),
        ..StartOptions::default()
    };
    let stop = StopOptions::default();
    let start = |p: &LocalProvider| {
        let (cfg, options) = (cfg.clone(), options.clone());
        let p = p.clone();
        async move {
            p.start(&cfg, &options, &NoProgress, CancellationToken::new())
                .await
                .expect("start")
        }
    };
    // Not measured: the first start formats the storage and, without an
    // archive, builds one at stop; the second promotes it.
    for _ in 0..2 {
        start(&providers[1]).await;
        providers[1].stop(&stop, &NoProgress).await.expect("stop");
    }
    let mut series = [Series::default(), Series::default()];
    for i in 0..runs {
        for (mode, provider) in providers.iter().enumerate() {
            let load = load1();
            let t = Instant::now();
            let report = start(provider).await;
            let elapsed: Duration = t.elapsed();
            assert!(!report.formatted && !report.already_running);
            let s = &mut series[mode];
            let mut cpu = 0.0;
            for n in &report.status.nodes {
                if let Some(pid) = n.state.pid() {
                    cpu += cpu_secs(pid).unwrap_or(0.0);
                    s.peak_rss.push(peak_rss_mib(pid).unwrap_or(0.0));
                }
            }
            eprintln!(
                "{brokers} broker(s), {}, run {}: ready after {:.2} s, CPU {cpu:.2} s, load {load:.1}",
                ["plain", "tuned"][mode],
                i + 1,
                elapsed.as_secs_f64()
            );
            s.secs.push(elapsed.as_secs_f64());
            s.cpu.push(cpu);
            s.load.push(load);
            provider.stop(&stop, &NoProgress).await.expect("stop");
        }
    }
    for s in &mut series {
        // Keep the highest peak per JVM slot over the runs.
        let n = usize::from(brokers);
        let mut peak = vec![0.0_f64; n];
        for (i, m) in s.peak_rss.iter().enumerate() {
            peak[i % n] = peak[i % n].max(*m);
        }
        s.peak_rss = peak;
    }
    providers[0]
        .stop(
            &StopOptions {
                remove_data: true,
                ..StopOptions::default()
            },
            &NoProgress,
        )
        .await
        .expect("cleanup");
    series
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let archives = tempfile::tempdir().expect("temp dir");
    let [plain3, tuned3] = measure(3, runs, archives.path()).await;
    let [plain1, tuned1] = measure(1, runs, archives.path()).await;
    println!(
        "startup to ready (stopped cluster, data present), median of {runs}, plain and tuned alternating:"
    );
    println!("{}", plain3.line(3, "plain"));
    println!("{}", tuned3.line(3, "tuned"));
    println!("{}", plain1.line(1, "plain"));
    println!("{}", tuned1.line(1, "tuned"));
    let ratio = |a: &Series, b: &Series| median(&a.secs) / median(&b.secs);
    println!(
        "  ratio 3 brokers / 1 broker: plain {:.2}, tuned {:.2} (goal: <= 1.5)",
        ratio(&plain3, &plain1),
        ratio(&tuned3, &tuned1)
    );
    println!(
        "  tuned / plain wall time: 3 brokers {:.2}, 1 broker {:.2}; CPU per broker JVM tuned: {:.2} s (3) / {:.2} s (1) (goal: <= 1.5 s)",
        ratio(&tuned3, &plain3),
        ratio(&tuned1, &plain1),
        median(&tuned3.cpu) / 3.0,
        median(&tuned1.cpu)
    );
    println!(
        "  machine: {} CPU(s), load average at the end: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
