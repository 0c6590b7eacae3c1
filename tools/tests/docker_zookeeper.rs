//! ZooKeeper mode on the Docker provider's `local` image set through the
//! real `tda-kafka` binary and engine: `images build` (the ZooKeeper-mode
//! image among the set), `start --metadata zookeeper --profile brokers`
//! (three ZooKeeper nodes, three Kafka 3.9 brokers), checked with
//! independent clients: kcat sees 3 brokers; each node answers `ruok` with
//! `imok` on its published port over plain TCP and `srvr` shows one leader
//! and two followers; ZooKeeper's own CLI (in a node's container) lists the
//! brokers under the chroot; a topic is created, and kcat produces a message
//! and consumes it back. `status`/`health` without `--metadata` show the
//! ensemble (adopted from the containers), a second start finds it running,
//! and `stop --clean-all` leaves no labelled container, volume or network.
//!
//! Needs a Docker engine (`scripts/docker-engine.sh ensure`), debootstrap and
//! Maven for the first image build, and kcat; FAILS without them. One stack
//! (`tda-dzk`: brokers 31092-31094, ZooKeeper 31181-31183) for this test
//! binary; the steps run in order in one test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod engine_support;
use engine_support::docker;

const STACK: &str = "tda-dzk";
const BROKERS: [u16; 3] = [31092, 31093, 31094];
const ZOOKEEPER: [u16; 3] = [31181, 31182, 31183];
const BOOTSTRAP: &str = "127.0.0.1:31092";

fn env_text() -> &'static str {
    "KAFKA_BROKER_COUNT=3
KAFKA_DEFAULT_REPLICATION_FACTOR=3
KAFKA_MIN_INSYNC_REPLICAS=2
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_PORT_BASE=31092
TDA_KAFKA_CONTROLLER_PORT_BASE=31192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_ZOOKEEPER_PORT_BASE=31181
TDA_ZOOKEEPER_QUORUM_PORT_BASE=31281
TDA_ZOOKEEPER_ELECTION_PORT_BASE=31381
TDA_SCHEMA_REGISTRY_PORT=31081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=31082
TDA_KAFKA_UI_PORT=31080
TDA_CONNECT_PORT=31083
TDA_REDIS_PORT=31379
"
}

struct Fixture {
    _tmp: tempfile::TempDir,
    env: PathBuf,
    data_home: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let root = std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&root).unwrap();
        let tmp = tempfile::tempdir_in(root).unwrap();
        let env = tmp.path().join("zookeeper.env");
        std::fs::write(&env, env_text()).unwrap();
        Self {
            data_home: tmp.path().join("data-home"),
            env,
            _tmp: tmp,
        }
    }

    /// Runs the binary with the env file and, for stack commands, the test
    /// stack's provider flags.
    fn run(&self, args: &[&str], stack: bool) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if stack {
            all.extend(
                ["--provider", "docker", "--stack", STACK, "--heap", "384m"].map(String::from),
            );
        }
        all.extend(["--env-file".into(), self.env.display().to_string()]);
        self.exec(&all)
    }

    /// Runs the binary with exactly `all`.
    fn exec(&self, all: &[String]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(all)
            // Secrets and backups of the stack go under the test's data root.
            .env("XDG_DATA_HOME", &self.data_home)
            .env_remove("TDA_KAFKA_PROVIDER")
            .env_remove("TDA_METADATA_MODE")
            .stdin(Stdio::null())
            .output()
            .expect("run tda-kafka");
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
        assert!(out.status.success(), "tda-kafka {args:?} failed (above)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str], stack: bool) -> serde_json::Value {
        serde_json::from_str(&self.ok(args, stack)).expect("-o json prints JSON")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Never leave the stack behind, whatever failed.
        let _ = self.run(&["stop", "--force", "--clean-all"], true);
    }
}

/// Names of the stack's labelled objects of one kind (`ps -a`, `volume ls`,
/// `network ls`), sorted.
fn labelled(kind: &[&str]) -> Vec<String> {
    let label = format!("label=io.tda-kafka.stack={STACK}");
    let format = if kind[0] == "ps" {
        "{{.Names}}"
    } else {
        "{{.Name}}"
    };
    let mut args = kind.to_vec();
    args.extend(["--filter", label.as_str(), "--format", format]);
    let mut names: Vec<String> = docker(&args).lines().map(String::from).collect();
    names.sort();
    names
}

/// A ZooKeeper four-letter word on plain TCP; the node closes after answering.
fn four_letter(port: u16, word: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(word.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// kcat with `args`; stdout, asserting success.
fn kcat(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("kcat")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is required: apt-get install kcat");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kcat {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn zookeeper_mode_on_the_docker_local_image_set() {
    let ports: Vec<u16> = [&BROKERS[..], &ZOOKEEPER].concat();
    let open: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|p| {
            TcpStream::connect_timeout(&(([127, 0, 0, 1], *p).into()), Duration::from_millis(300))
                .is_ok()
        })
        .collect();
    assert!(
        open.is_empty(),
        "ports {open:?} are taken; this test needs {ports:?}"
    );
    let f = Fixture::new();

    // 0. The image set, the ZooKeeper-mode image among it (cached).
    let out = f.exec(&["images".into(), "build".into()]);
    assert!(out.status.success(), "images build failed (above)");
    let built = String::from_utf8_lossy(&out.stdout);
    assert!(
        built.contains("tda-kafka/kafka-zk:3.9.1"),
        "the ZooKeeper-mode image is not in the build report:\n{built}"
    );

    // 1. ZooKeeper mode from the configuration (--metadata), brokers only.
    let out = f.ok(
        &[
            "start",
            "--clean",
            "--metadata",
            "zookeeper",
            "--profile",
            "brokers",
            "--timeout",
            "400",
        ],
        true,
    );
    assert!(out.contains("ready on the docker provider"), "{out}");
    let mut expected: Vec<String> = (1..=3)
        .flat_map(|n| {
            [
                format!("{STACK}_kafka_{n}"),
                format!("{STACK}_zookeeper_{n}"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(labelled(&["ps", "-a"]), expected);
    for n in 1..=3 {
        let image = docker(&[
            "inspect",
            "--format",
            "{{.Config.Image}}",
            &format!("{STACK}_zookeeper_{n}"),
            &format!("{STACK}_kafka_{n}"),
        ]);
        assert_eq!(
            image.lines().collect::<Vec<_>>(),
            ["tda-kafka/kafka-zk:3.9.1"; 2]
        );
    }

    // 2. kcat sees 3 brokers at their published ports.
    let meta = kcat(&["-L", "-b", BOOTSTRAP, "-m", "15"], None);
    assert!(meta.contains(" 3 brokers:"), "{meta}");
    for (id, port) in (1..=3).zip(BROKERS) {
        assert!(
            meta.contains(&format!("broker {id} at 127.0.0.1:{port}")),
            "{meta}"
        );
    }

    // 3. The four-letter words on plain TCP: imok each, one leader, two followers.
    let mut modes = Vec::new();
    for port in ZOOKEEPER {
        assert_eq!(four_letter(port, "ruok"), "imok", "ruok on {port}");
        let srvr = four_letter(port, "srvr");
        assert!(srvr.contains("Zookeeper version: 3.8.4"), "{srvr}");
        let mode = srvr
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .unwrap_or_else(|| panic!("no Mode: in srvr on {port}: {srvr}"))
            .trim()
            .to_string();
        modes.push(mode);
    }
    modes.sort();
    assert_eq!(modes, ["follower", "follower", "leader"]);

    // 4. ZooKeeper's own CLI sees the brokers registered under the chroot.
    let ids = docker(&[
        "exec",
        &format!("{STACK}_zookeeper_1"),
        "java",
        "-cp",
        "/opt/kafka/libs/*",
        "org.apache.zookeeper.ZooKeeperMain",
        "-server",
        "127.0.0.1:2181",
        "ls",
        "/tda-kafka/brokers/ids",
    ]);
    assert!(ids.contains("[1, 2, 3]"), "zkCli ls: {ids}");

    // 5. status and health without --metadata: the ensemble is adopted from
    //    the containers.
    let status = f.json(&["status", "-o", "json"], true);
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["nodes"].as_array().unwrap().len(), 3, "{status}");
    let zk: Vec<&serde_json::Value> = status["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"]["kind"] == "zookeeper")
        .collect();
    assert_eq!(zk.len(), 3, "{status}");
    let health = f.json(&["health", "-o", "json"], true);
    assert_eq!(health["healthy"], true, "{health}");
    let nodes = health["zookeeper"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{health}");
    assert_eq!(
        nodes.iter().filter(|n| n["role"] == "leader").count(),
        1,
        "{health}"
    );

    // 6. A topic, and a message through kcat (an independent client) back.
    let topic = "dzk_zookeeper_roundtrip";
    f.ok(
        &[
            "topics",
            "create",
            topic,
            "partitions=3,replication-factor=3",
        ],
        false,
    );
    let described = kcat(&["-L", "-b", BOOTSTRAP, "-t", topic, "-m", "15"], None);
    assert!(
        described.contains(&format!("topic \"{topic}\" with 3 partitions")),
        "{described}"
    );
    let message = format!("zookeeper-mode-{}", std::process::id());
    kcat(
        &["-P", "-b", BOOTSTRAP, "-t", topic, "-k", "k1", "-p", "1"],
        Some(format!("{message}\n").as_str()),
    );
    let consumed = kcat(
        &[
            "-C",
            "-b",
            BOOTSTRAP,
            "-t",
            topic,
            "-p",
            "1",
            "-o",
            "beginning",
            "-c",
            "1",
            "-e",
            "-f",
            "%k=%s\n",
        ],
        None,
    );
    assert_eq!(consumed.trim(), format!("k1={message}"));

    // 7. Starting again finds everything running (same specs: nothing recreated).
    let again = f.ok(
        &["start", "--metadata", "zookeeper", "--profile", "brokers"],
        true,
    );
    assert!(again.contains("already running"), "{again}");

    // 8. The node's output is the container's log.
    let logs = f.ok(&["logs", "zookeeper-2", "--tail", "400"], true);
    assert!(logs.contains("org.apache.zookeeper"), "{logs}");

    // 9. stop --clean-all: nothing labelled is left.
    f.ok(&["stop", "--clean-all"], true);
    assert_eq!(labelled(&["ps", "-a"]), Vec::<String>::new());
    assert_eq!(labelled(&["volume", "ls"]), Vec::<String>::new());
    assert_eq!(labelled(&["network", "ls"]), Vec::<String>::new());
    for port in ports {
        assert!(
            TcpStream::connect_timeout(
                &(([127, 0, 0, 1], port).into()),
                Duration::from_millis(300)
            )
            .is_err(),
            "port {port} still answers after stop"
        );
    }
}
