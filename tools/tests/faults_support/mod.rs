//! The shared cluster of `tests/faults.rs` and the helpers its scenarios use.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tda_kafka_admin::{Admin, CreateTopic, PartitionInfo};
use tda_kafka_client::workload::{CheckReport, ConsumedRecord, History, SendOutcome};
use tda_kafka_client::{workload, ClientSettings, Codec, ConsumerOptions, Jobs, Topic};
use tda_kafka_config::ClientProperties;

pub use tda_kafka_client::workload::SharedHistory;

pub const BOOTSTRAP: &str = "127.0.0.1:23092,127.0.0.1:23093,127.0.0.1:23094";
pub const REGISTRY_URL: &str = "http://127.0.0.1:23081/apis/ccompat/v7";
const REGISTRY_PORT: u16 = 23081;

/// The durable profile on a 2-core machine: RF 3, min ISR 2, small heaps.
const ENV: &str = "\
ENVIRONMENT=development
KAFKA_BROKER_COUNT=3
KAFKA_DEFAULT_REPLICATION_FACTOR=3
KAFKA_MIN_INSYNC_REPLICAS=2
KAFKA_HEAP_OPTS=\"-Xmx384m -Xms128m\"
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_HOST=127.0.0.1
TDA_KAFKA_PORT_BASE=23092
TDA_KAFKA_CONTROLLER_PORT_BASE=23192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT=23081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=23082
TDA_CONNECT_PORT=23083
TDA_REDIS_PORT=23379
TDA_KAFKA_UI_PORT=23080
";

/// The cluster every scenario of this binary shares.
pub struct Cluster {
    tmp: tempfile::TempDir,
    data: PathBuf,
    env: PathBuf,
}

impl Cluster {
    /// Starts it clean (brokers and the registry) and a watchdog that stops
    /// it when this process exits.
    pub fn start() -> Self {
        let root = std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT").map(PathBuf::from);
        let tmp = match root {
            Some(r) => {
                std::fs::create_dir_all(&r).unwrap();
                tempfile::tempdir_in(r).unwrap()
            }
            None => tempfile::tempdir().unwrap(),
        };
        let env = tmp.path().join("faults.env");
        std::fs::write(&env, ENV).unwrap();
        let c = Self {
            data: tmp.path().join("cluster"),
            env,
            tmp,
        };
        c.watchdog();
        let out = c.cli(&[
            "start",
            "--clean",
            "--no-topics",
            "--without",
            "kafka-connect,redis,kafka-ui",
            "--timeout",
            "400",
        ]);
        assert!(out.status.success(), "the fault cluster did not start");
        c
    }

    /// `tda-kafka stop --force` on this cluster once this process is gone.
    // The watchdog must outlive this process, so it is never waited for
    // (init reaps it).
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; '{bin}' stop --force --provider local --env-file '{env}' --data-dir '{data}' >/dev/null 2>&1; rm -rf '{tmp}'",
            pid = std::process::id(),
            bin = env!("CARGO_BIN_EXE_tda-kafka"),
            env = self.env.display(),
            data = self.data.display(),
            tmp = self.tmp.path().display(),
        );
        use std::os::unix::process::CommandExt as _;
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start the watchdog");
    }

    /// A directory for files of the scenarios.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs `tda-kafka ARGS` against this cluster.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--provider".into(),
            "local".into(),
            "--env-file".into(),
            self.env.display().to_string(),
            "--data-dir".into(),
            self.data.display().to_string(),
        ]);
        let t0 = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run tda-kafka");
        eprintln!(
            "$ tda-kafka {}\nexit: {:?} after {:.1} s\n{}{}",
            args.join(" "),
            out.status.code(),
            t0.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `tda-kafka fault ARGS -o json`, which must succeed; its report.
    pub fn fault(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["fault"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let out = self.cli(&all);
        assert!(out.status.success(), "fault {args:?} failed");
        serde_json::from_slice(&out.stdout).expect("fault -o json prints JSON")
    }

    /// Stops the cluster (and removes every fault first, as `stop` does).
    pub fn stop(&self) {
        let out = self.cli(&["stop", "--force"]);
        assert!(out.status.success(), "stop failed");
    }

    /// Waits until the cluster is healthy again: 3 brokers, every partition
    /// fully replicated, the registry up. A scenario that passed undid its
    /// own faults, so that is a short wait; after one that failed (or if the
    /// cluster is not healthy within a minute) whatever it left is undone
    /// first: isolation, pauses, dead nodes, a stopped registry.
    pub async fn recover(&self, passed: bool) {
        let healthy = || all_replicated() && port_open(REGISTRY_PORT);
        if passed && poll_until(Duration::from_secs(60), healthy).await {
            return;
        }
        eprintln!("recover: undoing every fault");
        self.cli(&["fault", "heal", "--all"]);
        for node in ["1", "2", "3"] {
            if !self.cli(&["fault", "resume", node]).status.success() {
                self.cli(&["fault", "restart", node]);
            }
        }
        if !port_open(REGISTRY_PORT) {
            self.start_registry();
        }
        wait_until(
            "3 brokers and every partition fully replicated",
            Duration::from_secs(240),
            all_replicated,
        )
        .await;
    }

    /// Client settings: JSON values, a delivery timeout past a failover.
    pub fn settings(&self) -> ClientSettings {
        ClientSettings::new(BOOTSTRAP)
            .with_delivery_timeout(Duration::from_secs(60))
            .with_service_name("fault-tests")
    }

    /// The typed (idempotent, acks=all) producer.
    pub fn producer(&self) -> tda_kafka_client::TdaProducer {
        tda_kafka_client::TdaProducer::new(&self.settings()).unwrap()
    }

    /// A raw librdkafka producer with acks=1 and no idempotence: what the
    /// typed producer refuses, for the negative control.
    pub fn raw_acks1_producer(&self) -> FutureProducer {
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", BOOTSTRAP)
            .set("acks", "1")
            .set("enable.idempotence", "false")
            .set("message.timeout.ms", "10000")
            .set("linger.ms", "0")
            .create()
            .unwrap()
    }

    async fn admin(&self) -> Admin {
        let mut props = ClientProperties::default();
        props.set("bootstrap.servers", BOOTSTRAP);
        Admin::connect(&props, Duration::from_secs(15))
            .await
            .unwrap()
    }

    /// Creates `name` with RF 3, its min ISR and unclean election setting,
    /// and waits until every replica is in sync.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        min_isr: u8,
        unclean: bool,
    ) -> String {
        let configs = BTreeMap::from([
            ("min.insync.replicas".to_string(), min_isr.to_string()),
            (
                "unclean.leader.election.enable".to_string(),
                unclean.to_string(),
            ),
        ]);
        self.admin()
            .await
            .create_topic(&CreateTopic {
                name: name.into(),
                partitions: Some(partitions),
                replication_factor: Some(3),
                configs,
            })
            .await
            .unwrap();
        self.wait_fully_replicated(name).await;
        name.to_owned()
    }

    /// Partition `p` of `topic` as the metadata reports it.
    pub async fn partition(&self, topic: &str, p: i32) -> PartitionInfo {
        let info = self.admin().await.topic_metadata(topic).await.unwrap();
        info.partitions
            .into_iter()
            .find(|x| x.partition == p)
            .unwrap()
    }

    /// The leader of partition `p` (waits for one).
    pub async fn leader(&self, topic: &str, p: i32) -> u16 {
        let mut leader = None;
        wait_until("a leader", Duration::from_secs(60), || {
            leader = self.leader_now(topic, p);
            leader.is_some()
        })
        .await;
        leader.unwrap()
    }

    /// The leader of partition `p` now, from any broker's metadata.
    pub fn leader_now(&self, topic: &str, p: i32) -> Option<u16> {
        metadata(topic)?
            .into_iter()
            .find(|(id, ..)| *id == p)
            .and_then(|(_, leader, ..)| u16::try_from(leader).ok())
            .filter(|&l| l > 0)
    }

    /// Waits until every partition of `topic` has a leader and all replicas in sync.
    pub async fn wait_fully_replicated(&self, topic: &str) {
        wait_until(
            &format!("{topic} fully replicated"),
            Duration::from_secs(180),
            || {
                metadata(topic).is_some_and(|ps| {
                    !ps.is_empty()
                        && ps
                            .iter()
                            .all(|(_, leader, replicas, isr)| *leader > 0 && replicas == isr)
                })
            },
        )
        .await;
    }

    /// SIGKILL of the registry (and its root-path proxy: the process group).
    pub fn kill_registry(&self) {
        let pid_file = self.data.join("registry").join("registry.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let ok = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill of the registry's process group {pid}");
        let t0 = Instant::now();
        while port_open(REGISTRY_PORT) && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!port_open(REGISTRY_PORT), "the registry still answers");
    }

    /// Starts the registry again through `tda-kafka start` (the nodes run,
    /// so only the registry starts).
    pub fn start_registry(&self) {
        let out = self.cli(&[
            "start",
            "--no-topics",
            "--without",
            "kafka-connect,redis,kafka-ui",
        ]);
        assert!(out.status.success(), "the registry did not start again");
    }

    /// The consumer process of `consumer_sigkill` (this binary as a child).
    pub fn spawn_consumer(&self, topic: &str, group: &str, out: &Path) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .env("TDA_FAULT_CHILD", "consumer")
            .env("TDA_FAULT_BOOTSTRAP", BOOTSTRAP)
            .env("TDA_FAULT_TOPIC", topic)
            .env("TDA_FAULT_GROUP", group)
            .env("TDA_FAULT_OUT", out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Consumes `topic` to its end in a fresh group and checks the history.
    pub async fn consume_and_check(
        &self,
        name: &str,
        topic: &str,
        history: &SharedHistory,
    ) -> CheckReport {
        let (stats, reached) = workload::consume_to_end(
            &self.settings(),
            &typed(topic),
            ConsumerOptions::new(format!("{name}-check")),
            history,
            Duration::from_secs(180),
        )
        .await
        .unwrap();
        eprintln!("check consumer: {stats:?}");
        assert!(
            reached,
            "the checking consumer did not reach the end of {topic}"
        );
        history.lock().unwrap().check(name)
    }
}

/// `(partition, leader, replicas, isr)` of `topic` (replicas and ISR sorted).
type PartitionMeta = (i32, i32, Vec<i32>, Vec<i32>);

fn metadata(topic: &str) -> Option<Vec<PartitionMeta>> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create()
        .ok()?;
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()?;
    let t = meta.topics().iter().find(|t| t.name() == topic)?;
    Some(
        t.partitions()
            .iter()
            .map(|p| {
                let mut r = p.replicas().to_vec();
                let mut i = p.isr().to_vec();
                r.sort_unstable();
                i.sort_unstable();
                (p.id(), p.leader(), r, i)
            })
            .collect(),
    )
}

/// Three brokers registered and every partition of every topic led, with
/// all replicas in sync.
fn all_replicated() -> bool {
    let Ok(consumer) = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create::<BaseConsumer>()
    else {
        return false;
    };
    let Ok(meta) = consumer.fetch_metadata(None, Duration::from_secs(5)) else {
        return false;
    };
    meta.brokers().len() == 3
        && meta.topics().iter().all(|t| {
            t.partitions().iter().all(|p| {
                let mut r = p.replicas().to_vec();
                let mut i = p.isr().to_vec();
                r.sort_unstable();
                i.sort_unstable();
                p.leader() > 0 && r == i
            })
        })
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// The topic as a typed `tda_jobs`-shaped topic.
pub fn typed(topic: &str) -> Topic<Jobs> {
    Topic::named(topic)
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

/// The records the child consumer wrote (`partition offset seq` lines).
pub fn consumed_lines(path: &Path) -> Vec<ConsumedRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| {
            let mut w = l.split(' ');
            Some(ConsumedRecord {
                partition: w.next()?.parse().ok()?,
                offset: w.next()?.parse().ok()?,
                seq: w.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// SIGTERM to `child`, then waits for it (bounded; killed after the bound).
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "the consumer process exited with {status}"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the consumer process did not stop on SIGTERM");
}

/// Offsets below each partition's end that were never consumed.
pub fn offset_gaps(h: &History, ends: &HashMap<i32, i64>) -> u64 {
    let mut seen: HashMap<i32, BTreeSet<i64>> = HashMap::new();
    for r in h.consumed_records() {
        seen.entry(r.partition).or_default().insert(r.offset);
    }
    ends.iter()
        .map(|(p, end)| {
            let s = seen.get(p);
            (0..*end)
                .filter(|o| !s.is_some_and(|s| s.contains(o)))
                .count() as u64
        })
        .sum()
}

/// Sends `seqs` through the raw producer, recording each outcome.
pub async fn raw_send(
    producer: &FutureProducer,
    topic: &str,
    seqs: std::ops::Range<u64>,
    history: &SharedHistory,
) {
    let mut pending = Vec::new();
    for seq in seqs {
        let (key, value) = workload::record(seq);
        let payload = Codec::Json.encode(topic, &value).await.unwrap();
        let fut = producer
            .send_result(FutureRecord::to(topic).key(&key).payload(&payload))
            .map_err(|(e, _)| e)
            .unwrap();
        pending.push((seq, fut));
    }
    for (seq, fut) in pending {
        let outcome = match fut.await {
            Ok(Ok(d)) => SendOutcome::Acknowledged {
                partition: d.partition,
                offset: d.offset,
            },
            _ => SendOutcome::Unknown,
        };
        history.lock().unwrap().sent(seq, outcome);
    }
}

/// Committed offsets of a group, sampled every 200 ms from outside it.
pub struct CommitWatch {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<CommitStats>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a [`CommitWatch`] saw.
#[derive(Debug, Clone, Default)]
pub struct CommitStats {
    /// Samples taken.
    pub samples: u64,
    /// Times a partition's committed offset was lower than before.
    pub backwards: u64,
    /// The latest committed offset per partition.
    pub latest: HashMap<i32, i64>,
}

impl CommitWatch {
    pub fn start(settings: ClientSettings, group: &str, topic: &str, partitions: i32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(CommitStats::default()));
        let (s, st, group, topic) = (
            stop.clone(),
            state.clone(),
            group.to_owned(),
            topic.to_owned(),
        );
        let ps: Vec<i32> = (0..partitions).collect();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(got) = tda_kafka_client::consumer::committed_offsets(
                    &settings,
                    &group,
                    &topic,
                    &ps,
                    Duration::from_secs(5),
                ) {
                    let mut st = st.lock().unwrap();
                    st.samples += 1;
                    for (p, o) in got {
                        if let Some(o) = o {
                            if st.latest.get(&p).is_some_and(|&last| o < last) {
                                st.backwards += 1;
                            }
                            st.latest.insert(p, o);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            stop,
            state,
            thread: Some(thread),
        }
    }

    /// The latest committed offsets.
    pub fn latest(&self) -> HashMap<i32, i64> {
        self.state.lock().unwrap().latest.clone()
    }

    /// Stops sampling and returns what was seen.
    pub fn stop(mut self) -> CommitStats {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.state.lock().unwrap().clone()
    }
}
