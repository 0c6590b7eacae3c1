//! The services of the Docker provider's `local` image set through the real
//! `tda-kafka` binary and engine, checked with independent clients (python
//! confluent_kafka, plain HTTP, the `docker` CLI): `--profile brokers` starts
//! brokers only; the full stack's registry answers at the seed's root URL
//! (python's AvroSerializer) and at /apis/ccompat/v7, and keeps its schemas
//! across a container restart; the Connect worker has the FileStream plugins
//! and a source connector reads a file written into its container into
//! tda_uploads; the web console answers on its port and lists the TDA
//! topics; `stop --clean-all` leaves no labelled container or volume.
//!
//! Needs a Docker engine (`scripts/docker-engine.sh ensure`), debootstrap and
//! Maven for the first image build; FAILS without them. One stack (`tda-dk`,
//! one broker, host ports 17080-17379) for this test binary; the steps run in
//! order in one test.

use std::io::BufReader;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod engine_support;
mod redis_support;
use engine_support::docker;
use redis_support::redis;

const STACK: &str = "tda-dk";
const PORTS: [u16; 6] = [17092, 17081, 17080, 17083, 17379, 17101];
const BOOTSTRAP: &str = "127.0.0.1:17092";
const REGISTRY: &str = "http://127.0.0.1:17081";
const CONNECT: &str = "http://127.0.0.1:17083";
const CONSOLE: &str = "http://127.0.0.1:17080";
const GROUP: &str = "tda-dk-connect";
/// The profile's Redis password: it reaches the container only as a mounted
/// 0600 file.
const REDIS_PASSWORD: &str = "Dk-Redis-Sentinel-7";

fn env_text() -> String {
    format!(
        "KAFKA_BROKER_COUNT=1
KAFKA_DEFAULT_REPLICATION_FACTOR=1
KAFKA_MIN_INSYNC_REPLICAS=1
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0
TDA_KAFKA_PORT_BASE=17092
TDA_KAFKA_CONTROLLER_PORT_BASE=17192
TDA_KAFKA_JMX_PORT_BASE=17101
TDA_SCHEMA_REGISTRY_PORT=17081
TDA_SCHEMA_REGISTRY_INTERNAL_PORT=17082
TDA_KAFKA_UI_PORT=17080
TDA_CONNECT_PORT=17083
TDA_CONNECT_GROUP_ID={GROUP}
TDA_REDIS_PORT=17379
TDA_REDIS_PASSWORD={REDIS_PASSWORD}
"
    )
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
        let env = tmp.path().join("docker.env");
        std::fs::write(&env, env_text()).unwrap();
        Self {
            data_home: tmp.path().join("data-home"),
            env,
            _tmp: tmp,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tda-kafka"));
        cmd.args(args)
            // Secrets and backups of the stack go under the test's data root.
            .env("XDG_DATA_HOME", &self.data_home)
            .env_remove("TDA_KAFKA_PROVIDER")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a stack command of the test stack (provider, stack, env file).
    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(
            [
                "--provider",
                "docker",
                "--stack",
                STACK,
                "--heap",
                "384m",
                "--env-file",
            ]
            .map(String::from),
        );
        all.push(self.env.display().to_string());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        shown(&all, self.command(&all).output().expect("run tda-kafka"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "tda-kafka {args:?} failed (above)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_slice(&self.run(args).stdout).expect("-o json prints JSON")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Never leave the stack behind, whatever failed.
        let _ = self.run(&["stop", "--force", "--clean-all"]);
    }
}

fn shown(args: &[&str], out: Output) -> Output {
    eprintln!(
        "$ tda-kafka {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The body of `GET url`.
async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// Names of the containers labelled with the test stack (any state).
fn labelled_containers() -> Vec<String> {
    let label = format!("label=io.tda-kafka.stack={STACK}");
    let mut names: Vec<String> =
        docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"])
            .lines()
            .map(String::from)
            .collect();
    names.sort();
    names
}

fn labelled_volumes() -> Vec<String> {
    let label = format!("label=io.tda-kafka.stack={STACK}");
    docker(&["volume", "ls", "--filter", &label, "--format", "{{.Name}}"])
        .lines()
        .map(String::from)
        .collect()
}

fn python(script: &str) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// Polls `f` until it returns `Some`, at most `bound` (a bound, not a timing assertion).
async fn wait_for<T>(what: &str, bound: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn service_kinds(status: &serde_json::Value) -> Vec<String> {
    status["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"]["kind"].as_str().unwrap().to_string())
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_of_the_docker_local_image_set() {
    let open: Vec<u16> = PORTS
        .into_iter()
        .filter(|p| {
            TcpStream::connect_timeout(&(([127, 0, 0, 1], *p).into()), Duration::from_millis(300))
                .is_ok()
        })
        .collect();
    assert!(
        open.is_empty(),
        "ports {open:?} are taken; this test needs {PORTS:?}"
    );
    let f = Fixture::new();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // 0. The image set (cached; rebuilds the binary's images when it changed).
    let out = shown(
        &["images", "build"],
        f.command(&["images", "build"]).output().unwrap(),
    );
    assert!(out.status.success(), "images build failed (above)");
    let built = String::from_utf8_lossy(&out.stdout);
    for image in ["tda-kafka/schema-registry", "tda-kafka/console"] {
        assert!(
            built.contains(image),
            "{image} not in the build report:\n{built}"
        );
    }

    // 1. --profile brokers: brokers only, no service container.
    f.ok(&[
        "start",
        "--clean",
        "--no-topics",
        "--profile",
        "brokers",
        "--timeout",
        "400",
    ]);
    assert_eq!(labelled_containers(), [format!("{STACK}_kafka_1")]);
    let v = f.json(&["status", "-o", "json"]);
    assert_eq!(service_kinds(&v), Vec::<String>::new(), "{v}");

    // 2. The full stack on the same broker: every service, each healthy.
    let out = f.ok(&["start", "--timeout", "400"]);
    assert!(out.contains(&format!("{REGISTRY} ")), "{out}");
    assert!(out.contains(CONSOLE), "{out}");
    let names = labelled_containers();
    for key in [
        "kafka_1",
        "schema_registry",
        "kafka_connect",
        "redis",
        "kafka_ui",
    ] {
        assert!(
            names.contains(&format!("{STACK}_{key}")),
            "{key} in {names:?}"
        );
    }
    let v = f.json(&["status", "-o", "json"]);
    let mut kinds = service_kinds(&v);
    kinds.sort();
    assert_eq!(kinds, ["connect", "redis", "schema_registry", "ui"], "{v}");
    assert_eq!(v["endpoints"]["schema_registry_url"], REGISTRY, "{v}");
    let h = f.json(&["health", "-o", "json"]);
    assert_eq!(h["healthy"], true, "{h}");
    assert_eq!(h["services"].as_array().unwrap().len(), 4, "{h}");
    // Redis requires the profile's password, which no container's
    // configuration shows (it is in a mounted 0600 file).
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", 17379)).unwrap());
    assert!(redis(&mut conn, &["PING"]).starts_with("-NOAUTH"));
    assert_eq!(redis(&mut conn, &["AUTH", REDIS_PASSWORD]), "+OK");
    assert_eq!(redis(&mut conn, &["PING"]), "+PONG");
    let inspect = docker(&[
        "inspect",
        &format!("{STACK}_redis"),
        &format!("{STACK}_kafka_ui"),
    ]);
    assert!(
        !inspect.contains(REDIS_PASSWORD),
        "password in docker inspect"
    );
    assert!(inspect.contains("/run/secrets/tda-kafka/redis-secrets.conf"));
    // The console container has no password: it sees a protected Redis.
    let overview = get_text(&http, CONSOLE).await;
    assert!(
        overview.contains("NOAUTH (password protected)"),
        "{overview}"
    );
    assert!(!overview.contains(REDIS_PASSWORD));
    // The console is published on loopback only.
    let published = docker(&["port", &format!("{STACK}_kafka_ui"), "8080"]);
    assert_eq!(published.trim(), "127.0.0.1:17080", "{published}");

    // 3. The registry at the seed's root URL: `curl -f HOST:PORT/subjects`,
    //    python's SchemaRegistryClient and AvroSerializer on `http://HOST:PORT`.
    let root = http
        .get(format!("{REGISTRY}/subjects"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 200);
    let py = python(&format!(
        r#"
import json
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import SerializationContext, MessageField
c = SchemaRegistryClient({{"url": "{REGISTRY}"}})
schema = '{{"type":"record","name":"Upload","namespace":"tda","fields":[{{"name":"file","type":"string"}}]}}'
data = AvroSerializer(c, schema)({{"file": "points.csv"}}, SerializationContext("tda_uploads", MessageField.VALUE))
print(json.dumps({{"magic": data[0], "id": int.from_bytes(data[1:5], "big"), "subjects": c.get_subjects()}}))
"#
    ));
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

    // 4. Schemas survive a restart of the registry container (H2 on a volume).
    docker(&["restart", &format!("{STACK}_schema_registry")]);
    let again: serde_json::Value = wait_for(
        "the registry after its restart",
        Duration::from_secs(180),
        async || {
            let r = http
                .get(format!(
                    "{REGISTRY}/subjects/tda_uploads-value/versions/latest"
                ))
                .send()
                .await
                .ok()?;
            if r.status() != 200 {
                return None;
            }
            r.json().await.ok()
        },
    )
    .await;
    assert_eq!(again["id"].as_u64(), Some(id), "{again}");

    // 5. Connect: FileStream plugins; the internal topics with the profile's
    //    replication; a source connector reads a file into tda_uploads.
    let plugins = get_text(&http, &format!("{CONNECT}/connector-plugins")).await;
    for class in ["FileStreamSourceConnector", "FileStreamSinkConnector"] {
        assert!(plugins.contains(class), "{plugins}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("uploads.txt");
    let lines: Vec<String> = (0..200).map(|i| format!("dk-upload-{i:03}")).collect();
    write_lines(&input, &lines);
    let connect_container = format!("{STACK}_kafka_connect");
    docker(&[
        "cp",
        input.to_str().unwrap(),
        &format!("{connect_container}:/tmp/uploads.txt"),
    ]);
    let r = http
        .put(format!("{CONNECT}/connectors/dk-file-source/config"))
        .json(&serde_json::json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "file": "/tmp/uploads.txt", "topic": "tda_uploads", "tasks.max": "1"
        }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(status.is_success(), "{status} {}", r.text().await.unwrap());
    // Read tda_uploads with an independent client until every line arrived
    // (bounded); each line exactly once.
    let read = python(&format!(
        r#"
import json, time
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
c = Consumer({{"bootstrap.servers": "{BOOTSTRAP}", "group.id": "dk-check-{n}",
               "auto.offset.reset": "earliest", "enable.auto.commit": False}})
c.subscribe(["tda_uploads"])
got, deadline = [], time.time() + 180
while len(got) < {want} and time.time() < deadline:
    m = c.poll(1.0)
    if m is not None and m.error() is None and m.value() is not None:
        got.append(json.loads(m.value()))
c.close()
md = AdminClient({{"bootstrap.servers": "{BOOTSTRAP}"}}).list_topics(timeout=20)
internal = sorted(t for t in md.topics if t.startswith("_connect"))
rf = sorted({{len(p.replicas) for t in internal for p in md.topics[t].partitions.values()}})
print(json.dumps({{"lines": got, "internal": internal, "rf": rf}}))
"#,
        want = lines.len(),
        n = std::process::id()
    ));
    let mut got: Vec<String> = read["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, lines, "nothing lost, nothing duplicated");
    assert_eq!(
        read["internal"],
        serde_json::json!(["_connect-configs", "_connect-offsets", "_connect-status"]),
        "{read}"
    );
    assert_eq!(read["rf"], serde_json::json!([1]), "{read}");
    let s: serde_json::Value = http
        .get(format!("{CONNECT}/connectors/dk-file-source/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["tasks"][0]["state"], "RUNNING", "{s}");

    // 6. The console: `curl -f http://localhost:PORT` and the TDA topics on
    //    its overview (it reaches the brokers by their in-network names).
    let page = http.get(CONSOLE).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for topic in [
        "tda_jobs",
        "tda_results",
        "tda_uploads",
        "tda_errors",
        "tda_events",
    ] {
        assert!(page.contains(topic), "{topic} not on the overview:\n{page}");
    }

    // 7. Stop and clean: no labelled container or volume is left.
    f.ok(&["stop", "--clean-all"]);
    assert_eq!(labelled_containers(), Vec::<String>::new());
    assert_eq!(labelled_volumes(), Vec::<String>::new());
}
