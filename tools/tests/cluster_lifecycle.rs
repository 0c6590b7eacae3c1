//! The local cluster's lifecycle through the real `tda-kafka` binary, on its
//! own ports (27092-27094, controllers 27192-27194, registry 27081 (Apicurio
//! itself on 27082), console 27080, Connect 27083, Redis 27379; all below the
//! ephemeral range), checked
//! with independent clients (kcat, python confluent_kafka):
//! start, topics as the seed specifies, start twice, a bad env file, data
//! kept across stop/start, partial and stale states, stop --backup and
//! RECOVERY_MODE=true start, --clean, --remove-volumes.
//!
//! One cluster for this test binary; the steps run in order in one test.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const PORTS: [u16; 11] = [
    27092, 27093, 27094, 27192, 27193, 27194, 27081, 27082, 27080, 27083, 27379,
];
const BOOTSTRAP: &str = "127.0.0.1:27092,127.0.0.1:27093,127.0.0.1:27094";

const ENV: &str = "\
KAFKA_BROKER_COUNT=3
KAFKA_HEAP_OPTS=\"-Xmx384m -Xms128m\"
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_PORT_BASE=27092
TDA_KAFKA_CONTROLLER_PORT_BASE=27192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT=27081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=27082
TDA_CONNECT_PORT=27083
TDA_REDIS_PORT=27379
TDA_KAFKA_UI_PORT=27080
";

struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    env: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let root = std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT").map(PathBuf::from);
        let tmp = match root {
            Some(r) => {
                std::fs::create_dir_all(&r).unwrap();
                tempfile::tempdir_in(r).unwrap()
            }
            None => tempfile::tempdir().unwrap(),
        };
        let env = tmp.path().join("lifecycle.env");
        std::fs::write(&env, ENV).unwrap();
        Self {
            data: tmp.path().join("cluster"),
            env,
            _tmp: tmp,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--data-dir".into());
        all.push(self.data.display().to_string());
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

    /// A command that is not about the stack (no `--data-dir`); its stdout.
    fn tool_ok(args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run tda-kafka");
        assert!(
            out.status.success(),
            "tda-kafka {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tda-kafka {args:?} failed (output above)"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn env(&self) -> String {
        self.env.display().to_string()
    }

    fn status_json(&self) -> (i32, serde_json::Value) {
        let out = self.run(&["status", "-o", "json"]);
        let v = serde_json::from_slice(&out.stdout).expect("status -o json prints JSON");
        (out.status.code().unwrap_or(-1), v)
    }

    fn pids(&self) -> Vec<u64> {
        let (_, v) = self.status_json();
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["state"]["pid"].as_u64().unwrap_or(0))
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Never leave JVMs behind, whatever failed.
        let _ = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(["stop", "--force", "--data-dir"])
            .arg(&self.data)
            .stdin(Stdio::null())
            .output();
    }
}

fn processes_with(marker: &Path) -> Vec<String> {
    let marker = marker.display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            let zombie = std::fs::read_to_string(e.path().join("stat"))
                .map(|s| {
                    s.rsplit_once(')')
                        .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false);
            if cmd.contains(&marker) && !zombie {
                found.push(cmd);
            }
        }
    }
    found
}

/// `GET path` on 127.0.0.1:`port`: the whole answer (status line, headers, body).
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read the answer");
    out
}

fn open_ports() -> Vec<u16> {
    PORTS
        .iter()
        .copied()
        .filter(|p| {
            TcpStream::connect_timeout(&(([127, 0, 0, 1], *p).into()), Duration::from_millis(300))
                .is_ok()
        })
        .collect()
}

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 is required (apt-get install python3-confluent-kafka)");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Brokers, and per TDA topic: partitions, RF, retention.ms, cleanup.policy, min ISR,
/// as python's confluent_kafka (librdkafka, but not our code) sees them.
fn describe_independently() -> serde_json::Value {
    let script = format!(
        r#"
import json
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({{"bootstrap.servers": "{BOOTSTRAP}"}})
md = a.list_topics(timeout=20)
out = {{"brokers": sorted(md.brokers.keys()), "topics": {{}}}}
names = [t for t in md.topics if t.startswith("tda_")]
res = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in names]
for r, f in a.describe_configs(res).items():
    cfg = f.result()
    t = md.topics[r.name]
    out["topics"][r.name] = {{
        "partitions": len(t.partitions),
        "rf": sorted({{len(p.replicas) for p in t.partitions.values()}}),
        "retention.ms": cfg["retention.ms"].value,
        "cleanup.policy": cfg["cleanup.policy"].value,
        "min.insync.replicas": cfg["min.insync.replicas"].value,
    }}
print(json.dumps(out))
"#
    );
    serde_json::from_str(python(&script).trim()).unwrap()
}

fn kcat(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new("kcat")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is required (apt-get install kcat)");
    if let Some(text) = input {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kcat {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_events() -> String {
    // A broker may learn of a just-created topic a moment after the others;
    // retry that one error for a bounded time.
    let args = [
        "-b",
        BOOTSTRAP,
        "-C",
        "-t",
        "tda_events",
        "-o",
        "beginning",
        "-e",
        "-q",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let out = Command::new("kcat")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kcat is required (apt-get install kcat)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            stderr.contains("Unknown topic") && std::time::Instant::now() < deadline,
            "kcat {args:?} failed: {stderr}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn status_of_a_cluster_that_was_never_started_is_not_running() {
    let f = Fixture::new();
    let (code, v) = f.status_json();
    assert_eq!(code, 3);
    assert_eq!(v["state"], "notcreated");
}

#[test]
fn lifecycle_of_a_three_broker_local_cluster() {
    assert!(
        open_ports().is_empty(),
        "ports {:?} are taken; this test needs 27092-27094, 27192-27194, 27080-27083 and 27379",
        open_ports()
    );
    let f = Fixture::new();
    let env = f.env();

    // 0a. A port in use is named before anything starts.
    let blocker = std::net::TcpListener::bind(("127.0.0.1", 27193)).unwrap();
    let out = f.run(&["start", "--env-file", &env]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:27193"), "{stderr}");
    assert!(stderr.contains("node 2 controller listener"), "{stderr}");
    assert!(processes_with(&f.data).is_empty());
    drop(blocker);

    // 0b. A node that dies during start is reported with its log; nothing is left running.
    let broken = f.data.with_file_name("broken.env");
    std::fs::write(
        &broken,
        ENV.replace("-Xms128m", "-Xms128m -XX:+NoSuchJvmOption"),
    )
    .unwrap();
    let out = f.run(&["start", "--env-file", &broken.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited during start"), "{stderr}");
    assert!(stderr.contains("NoSuchJvmOption"), "{stderr}");
    assert!(processes_with(&f.data).is_empty());

    // 0c. Ctrl-C during start stops what was started and exits non-zero.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args(["start", "--no-registry", "--env-file", &env, "--data-dir"])
        .arg(&f.data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = f.data.join("node-3").join("kafka.pid");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !pid_file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(pid_file.exists(), "start never launched node 3");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    eprintln!("interrupted start:\n{stderr}");
    assert!(!status.success());
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        processes_with(&f.data).is_empty(),
        "{:?}",
        processes_with(&f.data)
    );
    assert!(open_ports().is_empty(), "{:?}", open_ports());

    // 1. Start: 3 brokers, the five topics as the seed specifies.
    let out = f.ok(&["start", "--env-file", &env]);
    assert!(out.contains("is ready"), "{out}");
    assert!(out.contains("127.0.0.1:27092,127.0.0.1:27093,127.0.0.1:27094"));
    // The registry at the seed's URL (the root path, through the proxy).
    assert!(out.contains("http://127.0.0.1:27081 "), "{out}");
    let d = describe_independently();
    assert_eq!(d["brokers"], serde_json::json!([1, 2, 3]), "{d}");
    let day = 86_400_000_i64;
    let seed = [
        ("tda_jobs", 3, 7 * day, "delete"),
        ("tda_results", 3, 30 * day, "compact"),
        ("tda_events", 1, 14 * day, "delete"),
        ("tda_uploads", 2, 3 * day, "delete"),
        ("tda_errors", 1, 30 * day, "delete"),
    ];
    for (name, partitions, retention, policy) in seed {
        let t = &d["topics"][name];
        assert_eq!(t["partitions"], partitions, "{name}: {t}");
        assert_eq!(t["rf"], serde_json::json!([3]), "{name}: {t}");
        assert_eq!(t["retention.ms"], retention.to_string(), "{name}: {t}");
        assert_eq!(t["cleanup.policy"], policy, "{name}: {t}");
        assert_eq!(t["min.insync.replicas"], "2", "{name}: {t}");
    }
    let listing = kcat(&["-b", BOOTSTRAP, "-L"], None);
    assert!(listing.contains(" 3 brokers:"), "{listing}");
    let (code, v) = f.status_json();
    assert_eq!(code, 0);
    assert_eq!(v["state"], "running");
    assert_eq!(v["services"][0]["kind"]["kind"], "schema_registry");
    assert_eq!(v["services"][0]["state"]["state"], "running");
    // The seed's Kafka UI on the stack's UI port: the web console lists the topics.
    // Kafka Connect and Redis run as services of the stack.
    assert_eq!(v["services"][1]["kind"]["kind"], "connect", "{v}");
    assert_eq!(v["services"][1]["state"]["state"], "running", "{v}");
    assert_eq!(v["services"][2]["kind"]["kind"], "redis", "{v}");
    assert_eq!(v["services"][2]["state"]["state"], "running", "{v}");
    assert_eq!(v["services"][3]["kind"]["kind"], "ui", "{v}");
    assert_eq!(v["services"][3]["state"]["state"], "running", "{v}");
    let topics = http_get(27080, "/topics");
    assert!(topics.starts_with("HTTP/1.1 200"), "{topics}");
    for t in [
        "tda_jobs",
        "tda_results",
        "tda_events",
        "tda_uploads",
        "tda_errors",
    ] {
        assert!(topics.contains(t), "{t} not on the console's topics page");
    }
    let health = f.run(&["health", "--env-file", &env, "-o", "json"]);
    assert!(health.status.success(), "health failed");
    let h: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(h["provider"], "local", "{h}");
    assert_eq!(h["kafka"]["brokers"].as_array().unwrap().len(), 3, "{h}");
    assert_eq!(h["services"][0]["kind"]["kind"], "schema_registry", "{h}");
    assert_eq!(h["services"][0]["healthy"], true, "{h}");
    for (i, kind) in ["connect", "redis", "ui"].into_iter().enumerate() {
        assert_eq!(h["services"][i + 1]["kind"]["kind"], kind, "{h}");
        assert_eq!(h["services"][i + 1]["healthy"], true, "{h}");
    }

    // 2. Start twice starts nothing twice.
    let pids = f.pids();
    assert!(pids.iter().all(|p| *p > 0), "{pids:?}");
    let out = f.ok(&["start-kafka", "--env-file", &env]);
    assert!(out.contains("already running"), "{out}");
    assert_eq!(f.pids(), pids);

    // 3. A malformed env file: file:line errors, exit 1, the cluster untouched.
    let bad = f.data.with_file_name("bad.env");
    std::fs::write(&bad, "KAFKA_BROKER_COUNT=3\nKAFKA_NUM_IO_THREADS=lots\n").unwrap();
    let out = f.run(&["start", "--env-file", &bad.display().to_string(), "--clean"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.env:2"), "{stderr}");
    assert!(stderr.contains("KAFKA_NUM_IO_THREADS"), "{stderr}");
    assert_eq!(f.pids(), pids, "a bad env file must not touch the cluster");

    // 4. A message produced before stop is there after start.
    let token = format!(
        "lifecycle-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    kcat(
        &["-b", BOOTSTRAP, "-P", "-t", "tda_events", "-X", "acks=all"],
        Some(&format!("{token}\n")),
    );
    f.ok(&["stop"]);
    assert!(
        processes_with(&f.data).is_empty(),
        "{:?}",
        processes_with(&f.data)
    );
    assert!(
        open_ports().is_empty(),
        "open after stop: {:?}",
        open_ports()
    );
    let (code, v) = f.status_json();
    assert_eq!(code, 3);
    assert_eq!(v["state"], "stopped");
    f.ok(&["start", "--env-file", &env, "--no-topics"]);
    assert!(
        read_events().contains(&token),
        "message lost across stop/start"
    );

    // 5. Partial: a node killed behind our back is reported, and start brings back only it.
    let pids = f.pids();
    Command::new("kill")
        .args(["-9", &pids[1].to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (mut code, mut v) = f.status_json();
    while v["state"] != "partial" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        (code, v) = f.status_json();
    }
    assert_eq!(v["state"], "partial");
    assert_eq!(code, 3);
    assert_eq!(v["nodes"][1]["state"]["state"], "stale_pid");
    let out = f.run(&["start", "--env-file", &env, "--no-topics", "--no-registry"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stale pid file of kafka-2"));
    let after = f.pids();
    assert_eq!((after[0], after[2]), (pids[0], pids[2]));
    assert_ne!(after[1], pids[1]);

    // 6. Stale pid file of a stopped cluster: reported by status, cleaned by stop.
    f.ok(&["stop", "--force"]);
    let pid_file = f.data.join("node-1").join("kafka.pid");
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let (code, v) = f.status_json();
    assert_eq!(code, 3);
    assert_eq!(v["state"], "stopped");
    assert_eq!(v["nodes"][0]["state"]["state"], "stale_pid");
    let out = f.ok(&["stop"]);
    assert!(out.contains("stale pid"), "{out}");
    assert!(!pid_file.exists());

    // 7. stop --backup, then the seed's RECOVERY_MODE=true start on wiped data
    //    (--clean): the data is gone, the five topics are recreated, and the
    //    backup brings back the topic the architecture does not know.
    //    The registry runs too: the backup carries its schemas.
    let only_registry = "kafka-connect,redis,kafka-ui";
    f.ok(&[
        "start",
        "--env-file",
        &env,
        "--no-topics",
        "--without",
        only_registry,
    ]);
    let schema = f.data.with_file_name("probe.avsc");
    std::fs::write(
        &schema,
        r#"{"type":"record","name":"Probe","fields":[{"name":"n","type":"int"}]}"#,
    )
    .unwrap();
    let registry = ["--registry", "http://127.0.0.1:27081"];
    let subject = "tda_recovery_probe-value";
    let schema_file = schema.to_str().unwrap();
    Fixture::tool_ok(&[
        "schemas",
        "register",
        subject,
        schema_file,
        registry[0],
        registry[1],
    ]);
    Fixture::tool_ok(&[
        "topics",
        "create",
        "tda_recovery_probe",
        "partitions=2,retention.ms=3600000",
        "-b",
        BOOTSTRAP,
    ]);
    let out = f.run(&["stop", "--backup"]);
    assert!(out.status.success(), "stop --backup failed");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" 1 subjects and 0 connectors written"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let recover = f.data.with_file_name("recover.env");
    std::fs::write(&recover, format!("{ENV}RECOVERY_MODE=true\n")).unwrap();
    let recover = recover.display().to_string();
    let out = f.run(&[
        "start",
        "--env-file",
        &recover,
        "--clean",
        "--without",
        only_registry,
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "recovery start failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("start -o json");
    let created: Vec<&serde_json::Value> = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t[1] == "created")
        .collect();
    assert_eq!(created.len(), 5, "{v}");
    let restored = &v["recovery"]["restore"]["topics"];
    assert!(
        restored
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["tda_recovery_probe", "created"])),
        "{v}"
    );
    let backups = f.data.with_file_name("cluster.backups");
    assert!(
        v["recovery"]["file"]
            .as_str()
            .is_some_and(|file| Path::new(file).starts_with(&backups)),
        "the backup of `stop --backup` is in {}: {v}",
        backups.display()
    );
    // The wiped registry has the subject again, with the same schema.
    let schemas = &v["recovery"]["restore"]["schemas"];
    assert!(
        schemas
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s[0] == subject && s[1].as_str().is_some_and(|r| r.starts_with("created"))),
        "{v}"
    );
    let shown = Fixture::tool_ok(&[
        "schemas",
        "show",
        subject,
        "-o",
        "json",
        registry[0],
        registry[1],
    ]);
    assert!(shown.contains("Probe"), "{shown}");
    assert!(!read_events().contains(&token), "--clean kept old data");
    let d = describe_independently();
    let probe = &d["topics"]["tda_recovery_probe"];
    assert_eq!(probe["partitions"], 2, "{d}");
    assert_eq!(probe["retention.ms"], "3600000", "{d}");

    // 8. stop --remove-volumes: nothing runs, nothing listens, no data left.
    f.ok(&["stop", "--remove-volumes"]);
    assert!(processes_with(&f.data).is_empty());
    assert!(open_ports().is_empty());
    assert!(!f.data.join("node-1").exists());
    let (code, v) = f.status_json();
    assert_eq!(code, 3);
    assert_eq!(v["state"], "notcreated");
}
