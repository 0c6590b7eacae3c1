//! The shared cluster of the fault test binaries (`tests/faults.rs` on the
//! local provider, `tests/docker_faults.rs` on Docker) and the helpers
//! their scenarios use. Each binary uses a part of it.
#![allow(dead_code)]

mod checks;
mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use tda_kafka_admin::{Admin, CreateTopic, PartitionInfo};
use tda_kafka_client::workload::CheckReport;
use tda_kafka_client::{workload, ClientSettings, ConsumerOptions, Jobs, Topic};
use tda_kafka_config::ClientProperties;

// `tests/docker_faults.rs` uses none of these.
#[allow(unused_imports)]
pub use checks::*;
pub use harness::*;
pub use tda_kafka_client::workload::SharedHistory;

/// Which provider runs the shared cluster, and its ports.
#[derive(Debug, Clone, Copy)]
pub enum StackSpec {
    /// Local JVMs, brokers on `port_base`.. with the registry.
    Local {
        /// First broker port; the other ports share its thousands
        /// (23092: controllers 23192.., registry 23081).
        port_base: u16,
    },
    /// Containers of stack `stack` (the local image set), brokers only.
    Docker {
        /// The stack's name (container and volume prefix).
        stack: &'static str,
        /// First broker port, as for `Local`.
        port_base: u16,
    },
}

impl StackSpec {
    fn port_base(self) -> u16 {
        match self {
            Self::Local { port_base } | Self::Docker { port_base, .. } => port_base,
        }
    }

    /// The registry's port (local provider only: the Docker stack runs brokers only).
    fn registry_port(self) -> Option<u16> {
        match self {
            Self::Local { port_base } => Some(port_base / 1000 * 1000 + 81),
            Self::Docker { .. } => None,
        }
    }

    /// The durable profile on a 2-core machine: RF 3, min ISR 2, small heaps.
    fn env_text(self) -> String {
        let k = self.port_base() / 1000;
        format!(
            "ENVIRONMENT=development
KAFKA_BROKER_COUNT=3
KAFKA_DEFAULT_REPLICATION_FACTOR=3
KAFKA_MIN_INSYNC_REPLICAS=2
KAFKA_HEAP_OPTS=\"-Xmx384m -Xms128m\"
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_HOST=127.0.0.1
TDA_KAFKA_PORT_BASE={base}
TDA_KAFKA_CONTROLLER_PORT_BASE={k}192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT={k}081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT={k}082
TDA_CONNECT_PORT={k}083
TDA_REDIS_PORT={k}379
TDA_KAFKA_UI_PORT={k}080
",
            base = self.port_base()
        )
    }
}

/// The cluster every scenario of a fault binary shares.
pub struct Cluster {
    spec: StackSpec,
    tmp: tempfile::TempDir,
    /// `--provider ...` and the rest of what selects this stack, after
    /// every command's own arguments.
    stack_args: Vec<String>,
    bootstrap: String,
    registry_url: Option<String>,
}

impl Cluster {
    /// Starts it clean and a watchdog that stops it when this process exits.
    pub fn start(spec: StackSpec) -> Self {
        let root = std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT").map(PathBuf::from);
        let tmp = match root {
            Some(r) => {
                std::fs::create_dir_all(&r).unwrap();
                tempfile::tempdir_in(r).unwrap()
            }
            None => tempfile::tempdir().unwrap(),
        };
        let env = tmp.path().join("faults.env");
        std::fs::write(&env, spec.env_text()).unwrap();
        let env = env.display().to_string();
        let data = tmp.path().join("cluster").display().to_string();
        let stack_args: Vec<String> = match spec {
            StackSpec::Local { .. } => {
                vec![
                    "--provider",
                    "local",
                    "--env-file",
                    &env,
                    "--data-dir",
                    &data,
                ]
            }
            StackSpec::Docker { stack, .. } => vec![
                "--provider",
                "docker",
                "--stack",
                stack,
                "--heap",
                "384m",
                "--env-file",
                &env,
            ],
        }
        .into_iter()
        .map(String::from)
        .collect();
        let base = spec.port_base();
        let c = Self {
            spec,
            bootstrap: (base..base + 3)
                .map(|p| format!("127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(","),
            registry_url: spec
                .registry_port()
                .map(|p| format!("http://127.0.0.1:{p}/apis/ccompat/v7")),
            stack_args,
            tmp,
        };
        c.watchdog();
        let mut start = vec!["start", "--clean", "--no-topics", "--timeout", "400"];
        start.extend(match spec {
            StackSpec::Local { .. } => ["--without", "kafka-connect,redis,kafka-ui"],
            StackSpec::Docker { .. } => ["--profile", "brokers"],
        });
        let out = c.cli(&start);
        assert!(out.status.success(), "the fault cluster did not start");
        c
    }

    /// `tda-kafka stop --force` on this cluster once this process is gone
    /// (on Docker also removing its volumes).
    // The watchdog must outlive this process, so it is never waited for
    // (init reaps it).
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let quoted: Vec<String> = self.stop_args().iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; '{bin}' {args} >/dev/null 2>&1; rm -rf '{tmp}'",
            pid = std::process::id(),
            bin = env!("CARGO_BIN_EXE_tda-kafka"),
            args = quoted.join(" "),
            tmp = self.tmp.path().display(),
        );
        use std::os::unix::process::CommandExt as _;
        self.command()
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start the watchdog");
    }

    /// `stop --force` (Docker: `--clean-all` too, removing its volumes).
    fn stop_words(&self) -> Vec<&'static str> {
        let mut words = vec!["stop", "--force"];
        if matches!(self.spec, StackSpec::Docker { .. }) {
            words.push("--clean-all");
        }
        words
    }

    /// [`Self::stop_words`] and the stack's arguments.
    fn stop_args(&self) -> Vec<String> {
        let words = self.stop_words().into_iter().map(String::from);
        words.chain(self.stack_args.iter().cloned()).collect()
    }

    /// `sh` with this cluster's environment: secrets and backups of a
    /// Docker stack go under its temporary directory.
    fn command(&self) -> Command {
        let mut cmd = Command::new("sh");
        cmd.env("XDG_DATA_HOME", self.tmp.path().join("data-home"))
            .env_remove("TDA_KAFKA_PROVIDER")
            .stdin(Stdio::null());
        cmd
    }

    /// The brokers' host listeners.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The registry's Confluent API (local provider only).
    pub fn registry_url(&self) -> &str {
        self.registry_url
            .as_deref()
            .expect("this fault cluster runs no registry")
    }

    /// A directory for files of the scenarios.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs `tda-kafka ARGS` against this cluster.
    pub fn cli(&self, args: &[&str]) -> Output {
        let t0 = Instant::now();
        let out = self
            .command()
            .args(["-c", "exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_tda-kafka")])
            .args(args)
            .args(&self.stack_args)
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
        let out = self.cli(&self.stop_words());
        assert!(out.status.success(), "stop failed");
    }

    /// Waits until the cluster is healthy again: 3 brokers, every partition
    /// fully replicated, the registry up (if the stack has one). A scenario that passed undid its
    /// own faults, so that is a short wait; after one that failed (or if the
    /// cluster is not healthy within a minute) whatever it left is undone
    /// first: isolation, pauses, dead nodes, a stopped registry.
    pub async fn recover(&self, passed: bool) {
        let registry_up = || self.spec.registry_port().is_none_or(port_open);
        let healthy = || self.all_replicated() && registry_up();
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
        if !registry_up() {
            self.start_registry();
        }
        wait_until(
            "3 brokers and every partition fully replicated",
            Duration::from_secs(240),
            || self.all_replicated(),
        )
        .await;
    }

    /// Client settings: JSON values, a delivery timeout past a failover.
    pub fn settings(&self) -> ClientSettings {
        ClientSettings::new(&self.bootstrap)
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
            .set("bootstrap.servers", &self.bootstrap)
            .set("acks", "1")
            .set("enable.idempotence", "false")
            .set("message.timeout.ms", "10000")
            .set("linger.ms", "0")
            .create()
            .unwrap()
    }

    async fn admin(&self) -> Admin {
        let mut props = ClientProperties::default();
        props.set("bootstrap.servers", &self.bootstrap);
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
        self.metadata(topic)?
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
                self.metadata(topic).is_some_and(|ps| {
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
        let pid_file = self.dir().join("cluster/registry/registry.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let ok = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill of the registry's process group {pid}");
        let t0 = Instant::now();
        let port = self
            .spec
            .registry_port()
            .expect("a local stack with a registry");
        while port_open(port) && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!port_open(port), "the registry still answers");
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
            .env("TDA_FAULT_BOOTSTRAP", &self.bootstrap)
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

    /// The partitions of `topic` as any broker's metadata reports them.
    fn metadata(&self, topic: &str) -> Option<Vec<PartitionMeta>> {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
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
    pub fn all_replicated(&self) -> bool {
        let Ok(consumer) = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
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
}

/// `(partition, leader, replicas, isr)` of `topic` (replicas and ISR sorted).
type PartitionMeta = (i32, i32, Vec<i32>, Vec<i32>);

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
