//! ZooKeeper mode on the local provider through the real `tda-kafka` binary,
//! on its own ports (brokers 20092-20094, ZooKeeper clients 20181-20183 with
//! quorum 20281-20283 and election 20381-20383, registry 20081 with Apicurio
//! on 20082, Connect 20083, console 20080), checked with independent clients: the
//! four-letter words on raw TCP (`ruok` -> `imok`, `srvr`: one leader, two
//! followers), ZooKeeper's own CLI (the brokers registered under the
//! chroot), kcat (3 brokers); then the TDA topics, `topics list -o json`, a
//! typed JSON and an Avro round trip through tda-kafka-client counted by
//! sequence number, Kafka Connect (4.4 worker) on the 3.9 brokers, the
//! console's overview showing the ensemble, `status`/`health`/`logs`, and
//! `stop` leaving no process and no listening port.
//!
//! One stack for this test binary; the steps run in order in one test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tda_kafka_client::model::{samples, JobEvent, JobLifecycle, JobStarted};
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, HandlerError, Jobs, Received, TdaConsumer, TdaProducer,
    TdaTopic, Topic, Uploads,
};
use tokio_util::sync::CancellationToken;

const BROKERS: [u16; 3] = [20092, 20093, 20094];
const ZK_CLIENT: [u16; 3] = [20181, 20182, 20183];
const ZK_QUORUM: [u16; 3] = [20281, 20282, 20283];
const ZK_ELECTION: [u16; 3] = [20381, 20382, 20383];
const OTHER: [u16; 4] = [20081, 20082, 20080, 20083];
const BOOTSTRAP: &str = "127.0.0.1:20092,127.0.0.1:20093,127.0.0.1:20094";
const REGISTRY: &str = "http://127.0.0.1:20081";
const CONNECT: &str = "http://127.0.0.1:20083";
const CONSOLE: &str = "http://127.0.0.1:20080";

fn env_text() -> &'static str {
    "KAFKA_BROKER_COUNT=3
KAFKA_DEFAULT_REPLICATION_FACTOR=3
KAFKA_MIN_INSYNC_REPLICAS=2
KAFKA_HEAP_OPTS=\"-Xmx384m -Xms128m\"
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_PORT_BASE=20092
TDA_KAFKA_CONTROLLER_PORT_BASE=20192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_ZOOKEEPER_PORT_BASE=20181
TDA_ZOOKEEPER_QUORUM_PORT_BASE=20281
TDA_ZOOKEEPER_ELECTION_PORT_BASE=20381
TDA_SCHEMA_REGISTRY_PORT=20081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=20082
TDA_KAFKA_UI_PORT=20080
TDA_CONNECT_PORT=20083
TDA_CONNECT_GROUP_ID=tda-zk-test-connect
TDA_REDIS_PORT=20379
"
}

fn all_ports() -> Vec<u16> {
    [&BROKERS[..], &ZK_CLIENT, &ZK_QUORUM, &ZK_ELECTION, &OTHER].concat()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    env: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = match std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT") {
            Some(r) => {
                std::fs::create_dir_all(&r).unwrap();
                tempfile::tempdir_in(r).unwrap()
            }
            None => tempfile::tempdir().unwrap(),
        };
        let env = tmp.path().join("zookeeper.env");
        std::fs::write(&env, env_text()).unwrap();
        Self {
            data: tmp.path().join("cluster"),
            env,
            _tmp: tmp,
        }
    }

    /// Runs the binary with the env file (and, for stack commands, the data dir).
    fn run(&self, args: &[&str], stack: bool) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--env-file".into(), self.env.display().to_string()]);
        if stack {
            all.extend(["--data-dir".into(), self.data.display().to_string()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run tda-kafka");
        eprintln!(
            "$ tda-kafka {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
            all.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ok(&self, args: &[&str], stack: bool) -> String {
        let out = self.run(args, stack);
        assert!(
            out.status.success(),
            "tda-kafka {args:?} failed (output above)"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str], stack: bool) -> serde_json::Value {
        serde_json::from_str(&self.ok(args, stack)).expect("-o json prints JSON")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Never leave processes behind, whatever failed.
        let _ = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(["stop", "--force", "--data-dir"])
            .arg(&self.data)
            .stdin(Stdio::null())
            .output();
    }
}

fn open_ports() -> Vec<u16> {
    all_ports()
        .into_iter()
        .filter(|p| {
            TcpStream::connect_timeout(&(([127, 0, 0, 1], *p).into()), Duration::from_millis(300))
                .is_ok()
        })
        .collect()
}

/// Live (non-zombie) processes whose command line mentions `marker`.
fn processes_with(marker: &Path) -> Vec<String> {
    let marker = marker.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| {
            let cmd = String::from_utf8_lossy(&std::fs::read(e.path().join("cmdline")).ok()?)
                .replace('\0', " ");
            let zombie = std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            });
            (cmd.contains(&marker) && !zombie).then_some(cmd)
        })
        .collect()
}

/// A ZooKeeper four-letter word on raw TCP; the node closes after answering.
fn four_letter(port: u16, word: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(word.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The Kafka 3.9 jars `start --metadata zookeeper` fetched (ZooKeeper's CLI is among them).
fn zookeeper_libs() -> PathBuf {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"),
    };
    cache
        .join("tda-kafka")
        .join("kafka-zookeeper-3.9.1")
        .join("libs")
}

/// Consumes `topic` in a fresh group until `n` records arrived (bounded).
async fn consume<T: TdaTopic>(
    settings: &ClientSettings,
    topic: Topic<T>,
    n: usize,
) -> Vec<Received<T>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let group = format!("zk-mode-test-{}-{}", topic.name(), std::process::id());
    let consumer = TdaConsumer::new(settings, topic, ConsumerOptions::new(group)).unwrap();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(
        move |r: Received<T>| {
            let tx = tx.clone();
            async move {
                tx.send(r)
                    .map_err(|e| HandlerError::Permanent(e.to_string()))
            }
        },
        token.clone(),
    ));
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(r)) => got.push(r),
            _ => break,
        }
    }
    token.cancel();
    run.await.unwrap().unwrap();
    got
}

/// Counts per sequence number: (acknowledged, consumed, lost, duplicated).
fn tally(sent: usize, seen: impl IntoIterator<Item = usize>) -> (usize, usize, usize, usize) {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    let mut consumed = 0;
    for s in seen {
        *counts.entry(s).or_default() += 1;
        consumed += 1;
    }
    let lost = (0..sent).filter(|s| !counts.contains_key(s)).count();
    let duplicated = counts.values().filter(|&&c| c > 1).count();
    (sent, consumed, lost, duplicated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_mode_on_the_local_provider() {
    assert!(
        open_ports().is_empty(),
        "ports {:?} are taken; this test needs {:?}",
        open_ports(),
        all_ports()
    );
    let f = Fixture::new();

    // 1. Start ZooKeeper mode: 3 ZooKeeper nodes, then 3 Kafka 3.9 brokers.
    let out = f.ok(
        &[
            "start",
            "--provider",
            "local",
            "--metadata",
            "zookeeper",
            "--without",
            "redis",
        ],
        true,
    );
    assert!(out.contains(BOOTSTRAP), "{out}");
    for n in 1..=3 {
        let cfg = std::fs::read_to_string(f.data.join(format!("zookeeper-{n}/zoo.cfg"))).unwrap();
        assert!(
            cfg.contains("4lw.commands.whitelist=ruok,srvr,mntr"),
            "{cfg}"
        );
        let myid =
            std::fs::read_to_string(f.data.join(format!("zookeeper-{n}/data/myid"))).unwrap();
        assert_eq!(myid.trim(), n.to_string());
        let props =
            std::fs::read_to_string(f.data.join(format!("node-{n}/server.properties"))).unwrap();
        assert!(props.contains(&format!("broker.id={n}\n")), "{props}");
        assert!(
            props.contains(
                "zookeeper.connect=127.0.0.1:20181,127.0.0.1:20182,127.0.0.1:20183/tda-kafka\n"
            ),
            "{props}"
        );
        assert!(!props.contains("process.roles"), "{props}");
    }

    // 2. Every node answers ruok with imok; srvr: one leader, two followers.
    let mut modes = Vec::new();
    for port in ZK_CLIENT {
        assert_eq!(four_letter(port, "ruok"), "imok", "ruok on {port}");
        let srvr = four_letter(port, "srvr");
        assert!(srvr.contains("Zookeeper version: 3.8."), "{srvr}");
        let mode = srvr
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .unwrap_or_else(|| panic!("no Mode in srvr on {port}: {srvr}"))
            .trim()
            .to_string();
        modes.push(mode);
    }
    modes.sort();
    assert_eq!(modes, ["follower", "follower", "leader"]);

    // 3. ZooKeeper's own CLI sees the three brokers registered under the chroot.
    let zk_cli = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", zookeeper_libs().display()))
        .arg("org.apache.zookeeper.ZooKeeperMain")
        .args(["-server", "127.0.0.1:20181", "ls", "/tda-kafka/brokers/ids"])
        .stdin(Stdio::null())
        .output()
        .expect("java runs ZooKeeper's CLI");
    let text = String::from_utf8_lossy(&zk_cli.stdout);
    assert!(
        text.contains("[1, 2, 3]"),
        "zkCli ls: {text}\n{}",
        String::from_utf8_lossy(&zk_cli.stderr)
    );

    // 4. An independent Kafka client (kcat) sees 3 brokers.
    let kcat = Command::new("kcat")
        .args(["-L", "-b", "127.0.0.1:20093", "-m", "15"])
        .stdin(Stdio::null())
        .output()
        .expect("kcat is required: apt-get install kcat");
    let meta = String::from_utf8_lossy(&kcat.stdout);
    assert!(
        kcat.status.success(),
        "kcat: {meta}{}",
        String::from_utf8_lossy(&kcat.stderr)
    );
    assert!(meta.contains(" 3 brokers:"), "{meta}");
    for (id, port) in (1..=3).zip(BROKERS) {
        assert!(
            meta.contains(&format!("broker {id} at 127.0.0.1:{port}")),
            "{meta}"
        );
    }

    // 5. The TDA topics exist (created by start) and `topics list -o json` works.
    let topics = f.json(&["topics", "list", "-o", "json"], false);
    let names: Vec<&str> = topics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in tda_kafka_config::TDA_TOPICS {
        assert!(names.contains(&t), "{t} missing: {names:?}");
    }
    let jobs = topics
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "tda_jobs")
        .unwrap();
    assert_eq!(jobs["replication_factor"], 3, "{jobs}");

    // 6. Typed round trips through tda-kafka-client, counted by sequence
    //    number: JSON job events, and Avro uploads through the registry.
    const N: usize = 200;
    let json = ClientSettings::new(BOOTSTRAP);
    let producer = TdaProducer::new(&json).unwrap();
    let jobs = Topic::<Jobs>::new();
    let mut acked = 0;
    for i in 0..N {
        let id = format!("zk-job-{i}");
        let event = JobEvent::now(
            &id,
            JobLifecycle::Started(JobStarted {
                worker_id: "zk".into(),
            }),
        );
        producer.send(&jobs, &id, &event).await.unwrap();
        acked += 1;
    }
    let got = consume(&json, jobs, N).await;
    let seqs = got
        .iter()
        .filter_map(|r| r.value.job_id.strip_prefix("zk-job-")?.parse().ok());
    assert_eq!(tally(acked, seqs), (N, N, 0, 0));

    const M: usize = 20;
    let avro = ClientSettings::new(BOOTSTRAP).with_avro(REGISTRY).unwrap();
    let producer = TdaProducer::new(&avro).unwrap();
    let uploads = Topic::<Uploads>::new();
    for i in 0..M {
        let u = samples::upload(&format!("zk-upload-{i}"));
        let key = u.upload_id.clone();
        producer.send(&uploads, &key, &u).await.unwrap();
    }
    let got = consume(&avro, uploads, M).await;
    let seqs = got
        .iter()
        .filter_map(|r| r.value.upload_id.strip_prefix("zk-upload-")?.parse().ok());
    assert_eq!(tally(M, seqs), (M, M, 0, 0));

    // 7. status lists 3 ZooKeeper nodes and 3 brokers; health has the ensemble.
    let v = f.json(&["status", "-o", "json"], true);
    assert_eq!(v["state"], "running", "{v}");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3, "{v}");
    let zk: Vec<&serde_json::Value> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"]["kind"] == "zookeeper")
        .collect();
    assert_eq!(zk.len(), 3, "{v}");
    for (s, (n, port)) in zk.iter().zip((1..=3).zip(ZK_CLIENT)) {
        assert_eq!(s["kind"]["id"], n, "{s}");
        assert_eq!(s["state"]["state"], "running", "{s}");
        assert_eq!(s["url"], format!("127.0.0.1:{port}"), "{s}");
    }
    let text = f.ok(&["status"], true);
    assert!(text.contains("zookeeper-3"), "{text}");
    let h = f.json(&["health", "-o", "json"], true);
    assert_eq!(h["healthy"], true, "{h}");
    let roles: Vec<&str> = h["zookeeper"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles.iter().filter(|r| **r == "leader").count(), 1, "{h}");
    assert_eq!(roles.iter().filter(|r| **r == "follower").count(), 2, "{h}");
    let logs = f.ok(&["logs", "zookeeper-2", "--tail", "400"], true);
    assert!(logs.contains("org.apache.zookeeper"), "{logs}");

    // 8. Kafka Connect (a 4.4 worker) runs on the 3.9 brokers; the console's
    //    overview shows the ensemble: every node imok, one leader, two followers.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let root: serde_json::Value = http
        .get(CONNECT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root["version"], "4.4.0", "{root}");
    let connectors = http
        .get(format!("{CONNECT}/connectors"))
        .send()
        .await
        .unwrap();
    assert_eq!(connectors.status(), 200);
    let page = http.get(CONSOLE).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("ZooKeeper ensemble"), "{html}");
    let table = &html[html.find("id=\"zookeeper\"").expect("the ensemble table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches(">imok<").count(), 3, "{table}");
    assert_eq!(table.matches(">leader<").count(), 1, "{table}");
    assert_eq!(table.matches(">follower<").count(), 2, "{table}");
    for port in ZK_CLIENT {
        assert!(table.contains(&format!("127.0.0.1:{port}")), "{table}");
    }

    // 9. stop: the services, the brokers, then the ensemble; no process and no port left.
    f.ok(&["stop"], true);
    let left = processes_with(&f.data);
    assert!(left.is_empty(), "processes left: {left:#?}");
    assert_eq!(open_ports(), Vec::<u16>::new(), "ports still listening");
    // `status` exits 3 when the cluster does not run, and still reports it.
    let out = f.run(&["status", "-o", "json"], true);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "stopped", "{v}");
    for s in v["services"].as_array().unwrap() {
        assert_eq!(s["state"]["state"], "stopped", "{s}");
    }
}
