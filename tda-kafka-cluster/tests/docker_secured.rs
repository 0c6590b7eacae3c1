//! A generated secured cluster on the Docker provider (local images), end to
//! end: 3 brokers with SASL_SSL (SCRAM-SHA-512 and -256) on the published
//! and the in-network listeners, the controller listener on mutual TLS, the
//! StandardAuthorizer and the architecture's ACLs, plus the Connect worker
//! and the web console container logging in through the profile (the
//! console over the in-network SASL_SSL listener, from its 0600 env file).
//! Checks that the console answers on its published port and shows the 3
//! brokers and the stack's topics, that the admin gets in with the
//! generated CA, a wrong password is refused at once, nothing answers
//! PLAINTEXT on the published ports, a principal without ACLs gets an
//! authorization error, the jobs producer may write `tda_jobs`, a second
//! start recreates nothing, and that no password reaches `docker inspect`
//! (environment, labels, command), `docker top`, a container log, the status
//! or any file but the 0600 secret files.
//!
//! Needs a Docker engine (`scripts/docker-engine.sh ensure`) and the local
//! images (built here, cached); FAILS without. Its own stack (`tdadsec`),
//! ports 16092-16094 (controllers 16192-16194, in the network only), Connect
//! 16083, the console 16080, JMX off; data under a temporary directory (in
//! `TDA_KAFKA_TEST_DATA_DIR_ROOT` when set). Every container, volume and
//! network of the stack is removed whether the test passes or fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tda_kafka_admin::{declared_acls, lower, Admin, AdminError};
use tda_kafka_cluster::docker::topology::{self, STACK_LABEL};
use tda_kafka_cluster::docker::{self, images, BuildOptions, DockerProvider, StackOptions};
use tda_kafka_cluster::{
    ClusterProvider, NoProgress, ServiceKind, Services, StartOptions, StopMode, StopOptions,
};
use tda_kafka_config::{
    principals, ClientProperties, ClusterConfig, SaslMechanism, ScramCredential, SecretString,
    SecurityProtocol, GENERATED_CA_KEY_FILE,
};
use tokio_util::sync::CancellationToken;

const STACK: &str = "tdadsec";
const ADMIN_PW: &str = "Sentinel-dadmin-5c3e81";
const JOBS_PW: &str = "Sentinel-djobs-a92f04";
const NOBODY_PW: &str = "Sentinel-dnobody-17bd6e";
const SENTINELS: [&str; 3] = [ADMIN_PW, JOBS_PW, NOBODY_PW];
const TIMEOUT: Duration = Duration::from_secs(30);

fn config(tls_dir: &Path) -> ClusterConfig {
    let mut c = ClusterConfig {
        num_network_threads: 2,
        num_io_threads: 2,
        group_initial_rebalance_delay_ms: 0,
        ..ClusterConfig::default()
    };
    let n = &mut c.network;
    n.kafka_base_port = 16092;
    n.controller_base_port = 16192;
    n.jmx_base_port = 0;
    n.schema_registry_port = 16081;
    n.connect_port = 16083;
    n.ui_port = 16080;
    n.ksqldb_port = 16088;
    n.redis_port = 16379;
    let s = &mut c.security;
    s.protocol = SecurityProtocol::SaslSsl;
    s.tls_dir = Some(tls_dir.display().to_string());
    s.sasl_enabled_mechanisms = vec![SaslMechanism::ScramSha512, SaslMechanism::ScramSha256];
    s.sasl_mechanism_inter_broker_protocol = Some(SaslMechanism::ScramSha512);
    s.sasl_username = Some("admin".into());
    s.sasl_password = Some(SecretString::new(ADMIN_PW));
    s.scram_credentials = vec![
        ScramCredential {
            name: principals::JOBS_PRODUCER.into(),
            password: SecretString::new(JOBS_PW),
        },
        ScramCredential {
            name: "nobody".into(),
            password: SecretString::new(NOBODY_PW),
        },
    ];
    c
}

fn stack() -> StackOptions {
    StackOptions {
        name: STACK.into(),
        heap: "384m".into(),
        ..StackOptions::default()
    }
}

/// The client properties of `config` logged in as `user` with `password`.
fn as_user(config: &ClusterConfig, user: &str, password: &str) -> ClientProperties {
    let mut p = config.client_properties();
    p.set("sasl.username", user).set("sasl.password", password);
    p
}

/// `docker args...`: stdout and stderr (panics when docker cannot run).
fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Ids of the stack's objects of `kind` (`ps -a`, `volume ls`, `network ls`).
fn labelled(kind: &[&str]) -> Vec<String> {
    let filter = format!("label={STACK_LABEL}={STACK}");
    let mut args = kind.to_vec();
    args.extend(["-q", "--filter", &filter]);
    docker_cli(&args)
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Removes the stack (containers, volumes, network, secret files) through
/// the provider, on success and on panic alike.
struct Cleanup(ClusterConfig);

impl Cleanup {
    fn run(&self) -> bool {
        let config = self.0.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let p = DockerProvider::connect(config, stack()).await.ok()?;
                let all = StopOptions {
                    mode: StopMode::Force,
                    remove_data: true,
                    remove_containers: true,
                    ..StopOptions::default()
                };
                p.stop(&all, &NoProgress).await.ok()
            })
        })
        .join()
        .ok()
        .flatten()
        .is_some()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.run();
        }
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Sends one record as `props`' user; the broker's answer (or the timeout).
async fn produce(props: &ClientProperties, topic: &str) -> Result<(), KafkaError> {
    let mut cfg = lower(props);
    cfg.set("message.timeout.ms", "20000");
    let producer: FutureProducer = cfg.create()?;
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("v"),
            Duration::from_secs(20),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}

#[track_caller]
fn assert_hidden(what: &str, text: &str) {
    for s in SENTINELS {
        assert!(!text.contains(s), "{what} shows a password:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_secured_docker_stack_refuses_what_it_must_and_hides_every_password() {
    let tmp = match std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            tempfile::tempdir_in(dir).unwrap()
        }
        None => tempfile::tempdir().unwrap(),
    };
    let root = tmp.path().to_path_buf();
    // Secret files and backups go under $XDG_DATA_HOME: keep them here.
    std::env::set_var("XDG_DATA_HOME", root.join("data"));
    let secrets = topology::secrets_dir(STACK);
    assert!(secrets.starts_with(&root));
    let cfg = config(&root.join("tls"));

    let engine = docker::connect().await.unwrap_or_else(|e| {
        panic!("this test needs a Docker engine (scripts/docker-engine.sh ensure): {e}")
    });
    images::build_local_images(&engine, &BuildOptions::default(), &NoProgress)
        .await
        .expect("build the local images (cached)");
    assert!(
        labelled(&["ps", "-a"]).is_empty(),
        "stack {STACK} has leftovers from another run; remove them first"
    );
    let guard = Cleanup(cfg.clone());

    let p = DockerProvider::connect(cfg.clone(), stack()).await.unwrap();
    let options = StartOptions {
        clean: true,
        create_topics: true,
        services: Services {
            connect: true,
            ui: true,
            ..Services::brokers_only()
        },
        ready_timeout: Duration::from_secs(300),
        ..StartOptions::default()
    };
    let report = p
        .start(&cfg, &options, &NoProgress, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("secured start failed: {e}"));
    assert_eq!(report.started_nodes, [1, 2, 3]);
    assert!(report.formatted);
    assert_eq!(
        report.started_services,
        [ServiceKind::Connect, ServiceKind::Ui]
    );

    // The admin (super user) through SASL_SSL with the generated CA, the
    // raw-protocol calls included.
    let admin = Admin::connect(&cfg.client_properties(), TIMEOUT)
        .await
        .unwrap();
    let health = admin.health().await.unwrap();
    assert_eq!(health.brokers.len(), 3, "{health:?}");
    assert!(health.controller.is_some(), "{health:?}");
    let plan = admin
        .plan_acls(&declared_acls(&cfg.effective_topics()))
        .await
        .unwrap();
    assert!(
        !plan.has_drift(),
        "start granted the declared ACLs: {plan:?}"
    );
    assert_eq!(plan.unchanged.len(), 5, "{plan:?}");
    // The Connect worker logged in through the profile: it created its
    // internal topics over SASL_SSL.
    let topics: Vec<String> = admin
        .list_topics(true)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    for t in ["_connect-configs", "_connect-offsets", "_connect-status"] {
        assert!(topics.iter().any(|n| n == t), "{t} in {topics:?}");
    }

    // The console container: its overview on the published port shows the
    // 3 brokers by their in-network (SASL_SSL-only) addresses, and its
    // topic list the stack's topics, all read through that listener.
    let console = format!("http://127.0.0.1:{}", cfg.network.ui_port);
    let http = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap();
    let get = |path: &str| {
        let url = format!("{console}{path}");
        let http = http.clone();
        async move {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "GET {url}");
            r.text().await.unwrap()
        }
    };
    let overview = get("/").await;
    assert!(
        overview.contains("<div class=\"v\" id=\"brokers\">3</div>"),
        "3 brokers on the overview:\n{overview}"
    );
    for id in cfg.node_ids() {
        let address = format!("kafka-{id}:{}", topology::INTERNAL_KAFKA_PORT);
        assert!(overview.contains(&address), "{address} on the overview");
    }
    let listed = get("/topics").await;
    let declared = cfg.effective_topics();
    assert_eq!(declared.len(), 5, "the five TDA topics");
    for t in declared.iter().map(|t| t.name.as_str()) {
        assert!(listed.contains(t), "{t} on the console's topic list");
    }

    // A wrong password: refused by the broker, not waited out.
    let t0 = Instant::now();
    let err = Admin::connect(&as_user(&cfg, "admin", "not-the-password"), TIMEOUT)
        .await
        .err()
        .expect("a wrong password is refused");
    assert!(matches!(err, AdminError::Authentication { .. }), "{err}");
    assert!(t0.elapsed() < TIMEOUT, "answered before the timeout");

    // Nothing answers PLAINTEXT on the published ports.
    for id in cfg.node_ids() {
        let port = cfg.network.kafka_port(id);
        let mut plain = ClientProperties::default();
        plain.set("bootstrap.servers", format!("127.0.0.1:{port}"));
        let r = Admin::connect(&plain, Duration::from_secs(3)).await;
        assert!(r.is_err(), "PLAINTEXT answered on port {port}");
    }

    // ACLs: the jobs producer may write tda_jobs; a principal without ACLs
    // gets an authorization error, not retries.
    let jobs = as_user(&cfg, principals::JOBS_PRODUCER, JOBS_PW);
    produce(&jobs, "tda_jobs")
        .await
        .expect("the jobs producer writes tda_jobs");
    let t0 = Instant::now();
    let nobody = as_user(&cfg, "nobody", NOBODY_PW);
    let denied = produce(&nobody, "tda_jobs").await.expect_err("denied");
    assert_eq!(
        denied.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{denied}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "denied before the message timeout"
    );

    // A second start finds every spec unchanged (the node certificates are
    // kept): nothing is recreated or restarted.
    let again = p
        .start(
            &cfg,
            &StartOptions {
                clean: false,
                ..options.clone()
            },
            &NoProgress,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("second start failed: {e}"));
    assert!(again.already_running, "{again:?}");
    assert!(again.started_nodes.is_empty() && again.started_services.is_empty());

    // No password in the engine's view of any container, their processes,
    // their logs, the status, or a file other than the 0600 secret files.
    let containers = labelled(&["ps", "-a"]);
    assert_eq!(
        containers.len(),
        5,
        "3 brokers, Connect and the console: {containers:?}"
    );
    for id in &containers {
        let inspect = docker_cli(&["inspect", id]);
        assert_hidden("docker inspect", &inspect);
        assert!(!inspect.contains("PRIVATE KEY"), "{inspect}");
        assert_hidden("docker top", &docker_cli(&["top", id, "-eo", "args"]));
        assert_hidden("docker logs", &docker_cli(&["logs", id]));
    }
    let connect = docker_cli(&["inspect", &format!("{STACK}_kafka_connect")]);
    assert!(
        connect.contains("CONNECT_SECURITY_PROTOCOL=SASL_SSL"),
        "{connect}"
    );
    let ui = docker_cli(&["inspect", &format!("{STACK}_kafka_ui")]);
    assert!(
        ui.contains("--env-file=/run/secrets/tda-kafka/console.env") && !ui.contains("KAFKA_SASL"),
        "{ui}"
    );
    let status = p.status().await.unwrap();
    assert_hidden("status", &format!("{status:?}"));
    assert_hidden("status json", &serde_json::to_string(&status).unwrap());
    assert_hidden("errors", &format!("{err:?} {err} {denied:?} {denied}"));
    let mut holders = 0;
    for f in files(&root) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        if SENTINELS.iter().any(|s| text.contains(s)) || text.contains("PRIVATE KEY") {
            holders += 1;
            let ca_key = f == root.join("tls").join(GENERATED_CA_KEY_FILE);
            assert!(
                f.starts_with(&secrets) || ca_key,
                "{} holds a secret",
                f.display()
            );
            assert_eq!(mode, 0o600, "{} holds a secret", f.display());
        }
    }
    // The CA key, 3 kept node certificates, per broker its secret
    // properties and the SCRAM arguments, Connect's secret properties, the
    // console's env file.
    assert_eq!(holders, 1 + 3 + 3 * 2 + 1 + 1, "files holding secrets");

    // stop removes every labelled container and volume (and the network).
    assert!(guard.run(), "the stack stopped");
    assert!(labelled(&["ps", "-a"]).is_empty());
    assert!(labelled(&["volume", "ls"]).is_empty());
    assert!(labelled(&["network", "ls"]).is_empty());
    assert!(!secrets.exists(), "the secret files went with the data");
}
