//! The stack's services on the local provider through the real `tda-kafka`
//! binary, on their own ports (broker 21092, controller 21192, registry 21081
//! with Apicurio itself on 21082, console 21080, Connect 21083, Redis 21379),
//! checked with independent clients (python confluent_kafka, raw RESP and
//! HTTP): `status`/`health` list every service; a FileStream source reads a
//! file's lines into tda_uploads and a FileStream sink writes them out again;
//! Redis with a password that reaches no command line or log; the registry
//! at the seed's root URL (python's AvroSerializer) and at /apis/ccompat/v7;
//! schemas survive a registry restart; `--without` leaves services out.
//!
//! One stack for this test binary; the steps run in order in one test.

use std::io::BufReader;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod redis_support;
use redis_support::redis;

const PORTS: [u16; 7] = [21092, 21192, 21081, 21082, 21080, 21083, 21379];
const BOOTSTRAP: &str = "127.0.0.1:21092";
const REGISTRY: &str = "http://127.0.0.1:21081";
const CONNECT: &str = "http://127.0.0.1:21083";
const REDIS_PASSWORD: &str = "redis-Pa55-w0rd";
const GROUP: &str = "tda-services-test-connect";

fn env_text() -> String {
    format!(
        "KAFKA_BROKER_COUNT=1
KAFKA_DEFAULT_REPLICATION_FACTOR=1
KAFKA_MIN_INSYNC_REPLICAS=1
KAFKA_HEAP_OPTS=\"-Xmx384m -Xms128m\"
KAFKA_NUM_NETWORK_THREADS=2
KAFKA_NUM_IO_THREADS=2
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_PORT_BASE=21092
TDA_KAFKA_CONTROLLER_PORT_BASE=21192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT=21081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=21082
TDA_KAFKA_UI_PORT=21080
TDA_CONNECT_PORT=21083
TDA_CONNECT_GROUP_ID={GROUP}
TDA_REDIS_PORT=21379
TDA_REDIS_PASSWORD={REDIS_PASSWORD}
"
    )
}

struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    env: PathBuf,
    /// Everything the binary printed (checked for secrets at the end).
    printed: std::cell::RefCell<String>,
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
        let env = tmp.path().join("services.env");
        std::fs::write(&env, env_text()).unwrap();
        Self {
            data: tmp.path().join("cluster"),
            env,
            _tmp: tmp,
            printed: Default::default(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--env-file".into(),
            self.env.display().to_string(),
            "--data-dir".into(),
            self.data.display().to_string(),
        ]);
        let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run tda-kafka");
        let text = format!(
            "$ tda-kafka {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
            all.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        self.printed.borrow_mut().push_str(&text);
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tda-kafka {args:?} failed (output above)"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        serde_json::from_slice(&out.stdout).expect("-o json prints JSON")
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
    PORTS
        .iter()
        .copied()
        .filter(|p| {
            TcpStream::connect_timeout(&(([127, 0, 0, 1], *p).into()), Duration::from_millis(300))
                .is_ok()
        })
        .collect()
}

/// Live processes whose command line mentions `marker`.
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

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 with confluent_kafka is required: python3 -m pip install 'confluent-kafka[avro,schemaregistry]'");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` until it returns `Some`, at most `bound`.
fn wait_for<T>(what: &str, bound: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_of_the_local_stack() {
    assert!(
        open_ports().is_empty(),
        "ports {:?} are taken; this test needs {PORTS:?}",
        open_ports()
    );
    let f = Fixture::new();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // 1. Start: every service, each at its URL.
    let out = f.ok(&["start"]);
    assert!(out.contains(&format!("{REGISTRY} ")), "{out}");
    assert!(out.contains(CONNECT), "{out}");
    assert!(out.contains("redis://127.0.0.1:21379"), "{out}");
    let v = f.json(&["status", "-o", "json"]);
    let kinds: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["schema_registry", "connect", "redis", "ui"], "{v}");
    for s in v["services"].as_array().unwrap() {
        assert_eq!(s["state"]["state"], "running", "{s}");
    }
    assert_eq!(v["endpoints"]["schema_registry_url"], REGISTRY, "{v}");
    let text = f.ok(&["status"]);
    for name in ["Schema Registry", "Kafka Connect", "Redis", "Kafka UI"] {
        assert!(text.contains(name), "status does not list {name}: {text}");
    }
    let h = f.json(&["health", "-o", "json"]);
    assert_eq!(h["healthy"], true, "{h}");
    assert_eq!(h["services"].as_array().unwrap().len(), 4, "{h}");

    // 2. Redis: PING, AUTH, SET/GET; the password is in a 0600 file only.
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", 21379)).unwrap());
    assert!(redis(&mut conn, &["PING"]).starts_with("-NOAUTH"));
    assert_eq!(redis(&mut conn, &["AUTH", REDIS_PASSWORD]), "+OK");
    assert_eq!(redis(&mut conn, &["PING"]), "+PONG");
    assert_eq!(redis(&mut conn, &["SET", "tda:session:1", "alice"]), "+OK");
    assert_eq!(redis(&mut conn, &["GET", "tda:session:1"]), "alice");
    drop(conn);
    let conf = f.data.join("redis").join("redis.conf");
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", conf.display());
    let worker = f.data.join("connect").join("worker.properties");
    let mode = std::fs::metadata(&worker).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", worker.display());
    for cmd in processes_with(&f.data) {
        assert!(
            !cmd.contains(REDIS_PASSWORD),
            "a command line holds the password"
        );
    }

    // 3. The registry at the seed's URL: `curl -f http://HOST:PORT/subjects`,
    //    python's SchemaRegistryClient and AvroSerializer on the root URL.
    let root = http
        .get(format!("{REGISTRY}/subjects"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 200);
    let script = format!(
        r#"
import json
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import SerializationContext, MessageField
c = SchemaRegistryClient({{"url": "{REGISTRY}"}})
schema = '{{"type":"record","name":"Upload","namespace":"tda","fields":[{{"name":"file","type":"string"}}]}}'
ser = AvroSerializer(c, schema)
data = ser({{"file": "points.csv"}}, SerializationContext("tda_uploads", MessageField.VALUE))
print(json.dumps({{"magic": data[0], "id": int.from_bytes(data[1:5], "big"), "subjects": c.get_subjects()}}))
"#
    );
    let py: serde_json::Value = serde_json::from_str(python(&script).trim()).unwrap();
    assert_eq!(py["magic"], 0, "{py}");
    assert!(
        py["subjects"]
            .as_array()
            .unwrap()
            .contains(&"tda_uploads-value".into()),
        "{py}"
    );
    let id = py["id"].as_u64().unwrap();
    let compat: serde_json::Value = http
        .get(format!(
            "{REGISTRY}/apis/ccompat/v7/subjects/tda_uploads-value/versions/1"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(compat["id"].as_u64(), Some(id), "{compat}");

    // 4. Connect: the worker's group and internal topics, the FileStream plugins.
    let plugins: serde_json::Value = http
        .get(format!("{CONNECT}/connector-plugins"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for class in ["FileStreamSourceConnector", "FileStreamSinkConnector"] {
        assert!(plugins.to_string().contains(class), "{plugins}");
    }
    let kafka_side: serde_json::Value = serde_json::from_str(
        python(&format!(
            r#"
import json
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
a = AdminClient({{"bootstrap.servers": "{BOOTSTRAP}"}})
md = a.list_topics(timeout=20)
# The worker's group is a classic group of protocol type "connect", which
# librdkafka names when asked to describe it as a consumer group.
try:
    d = a.describe_consumer_groups(["{GROUP}"])["{GROUP}"].result(timeout=20)
    group = "consumer group, state " + str(d.state)
except KafkaException as e:
    group = str(e)
print(json.dumps({{"topics": sorted(t for t in md.topics if t.startswith("_connect")),
  "rf": sorted({{len(p.replicas) for t in md.topics if t.startswith("_connect") for p in md.topics[t].partitions.values()}}),
  "group": group}}))
"#
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(
        kafka_side["topics"],
        serde_json::json!(["_connect-configs", "_connect-offsets", "_connect-status"]),
        "{kafka_side}"
    );
    assert_eq!(kafka_side["rf"], serde_json::json!([1]), "{kafka_side}");
    let group = kafka_side["group"].as_str().unwrap();
    assert!(
        group.contains(&format!("{GROUP} is not a consumer group (connect)")),
        "{kafka_side}"
    );

    // 5. FileStream source -> tda_uploads -> FileStream sink: every line once.
    let work = f.data.with_file_name("files");
    std::fs::create_dir_all(&work).unwrap();
    let (input, output) = (work.join("input.txt"), work.join("output.txt"));
    let lines: Vec<String> = (0..200)
        .map(|i| format!("upload-{i:03} file-{i}.csv"))
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    for (name, config) in [
        (
            "tda-file-source",
            serde_json::json!({
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input, "topic": "tda_uploads", "tasks.max": "1"
            }),
        ),
        (
            "tda-file-sink",
            serde_json::json!({
                "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "file": output, "topics": "tda_uploads", "tasks.max": "1"
            }),
        ),
    ] {
        let r = http
            .put(format!("{CONNECT}/connectors/{name}/config"))
            .json(&config)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(
            status.is_success(),
            "{name}: {status} {}",
            r.text().await.unwrap()
        );
    }
    let mut written = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        written = std::fs::read_to_string(&output)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        if written.len() >= lines.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // tda_uploads has 2 partitions: the sink sees each partition in order,
    // not the file's order across them. Nothing lost, nothing duplicated.
    let (mut want, mut got) = (lines.clone(), written.clone());
    want.sort();
    got.sort();
    assert_eq!(
        got,
        want,
        "{} lines written of {}",
        written.len(),
        lines.len()
    );
    for name in ["tda-file-source", "tda-file-sink"] {
        let s: serde_json::Value = http
            .get(format!("{CONNECT}/connectors/{name}/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["connector"]["state"], "RUNNING", "{s}");
        assert_eq!(s["tasks"][0]["state"], "RUNNING", "{s}");
        let r = http
            .delete(format!("{CONNECT}/connectors/{name}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "delete {name}: {}", r.status());
    }

    // 6. Schemas survive a registry restart (H2 file under the data directory).
    let v = f.json(&["status", "-o", "json"]);
    let pid = v["services"][0]["state"]["pid"].as_u64().unwrap();
    Command::new("kill").arg(pid.to_string()).status().unwrap();
    wait_for("the registry to stop", Duration::from_secs(60), || {
        let v = f.json(&["status", "-o", "json"]);
        (v["services"][0]["state"]["state"] != "running").then_some(())
    });
    let out = f.ok(&["start", "--no-topics"]);
    assert!(out.contains("schema-registry"), "{out}");
    let subjects: Vec<String> = http
        .get(format!("{REGISTRY}/subjects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        subjects.contains(&"tda_uploads-value".to_string()),
        "{subjects:?}"
    );
    let again: serde_json::Value = http
        .get(format!(
            "{REGISTRY}/subjects/tda_uploads-value/versions/latest"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"].as_u64(), Some(id), "{again}");

    // 7. Stop: nothing of the stack left.
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

    // 8. Selection: without Connect and Redis they neither run nor show.
    f.ok(&["start", "--no-topics", "--without", "kafka-connect,redis"]);
    let v = f.json(&["status", "-o", "json"]);
    let kinds: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["schema_registry", "ui"], "{v}");
    assert!(
        TcpStream::connect(("127.0.0.1", 21083)).is_err()
            && TcpStream::connect(("127.0.0.1", 21379)).is_err()
    );

    // No secret in any log or other file of the stack but the two 0600 ones.
    for file in files_under(&f.data) {
        if file == conf || file == worker {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(
            !text.contains(REDIS_PASSWORD),
            "{} holds the password",
            file.display()
        );
    }

    // 9. --remove-volumes deletes the services' data like the brokers'.
    f.ok(&["stop", "--remove-volumes"]);
    for dir in ["redis", "connect", "registry", "node-1"] {
        assert!(
            !f.data.join(dir).exists(),
            "{dir} survived --remove-volumes"
        );
    }
    assert!(processes_with(&f.data).is_empty());

    // No secret in anything the binary printed.
    assert!(!f.printed.borrow().contains(REDIS_PASSWORD));
}
