//! A generated secured cluster end to end, on 3 real KRaft nodes: SASL_SSL
//! with SCRAM-SHA-512 (and -256) on the client listener, inter-broker
//! replication over it, the controller listener on mutual TLS, the
//! StandardAuthorizer and the architecture's ACLs. Checks that a wrong
//! password and a certificate for another host are refused at once with the
//! reason, that a principal without ACLs gets an authorization error (no
//! endless retries), that no listener speaks PLAINTEXT, and that no password
//! reaches a log, an error, `Debug` output, the status or a backup file.
//!
//! Three nodes (not one) because inter-broker traffic only exists between
//! brokers. Needs Java 17+ and the cached Kafka distribution. Ports
//! 22592-22594 (clients), 22692-22694 (controllers) and 22583 (the Connect
//! worker, which joins through the same SASL_SSL profile); data and CA in a
//! temporary directory (under `TDA_KAFKA_TEST_DATA_DIR_ROOT` when
//! scripts/test.sh sets it).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tda_kafka_admin::{declared_acls, lower, Admin, AdminError};
use tda_kafka_cluster::local::LocalProvider;
use tda_kafka_cluster::{ClusterProvider, Services, StartOptions, StopOptions};
use tda_kafka_config::{
    principals, ClientProperties, ClusterConfig, SaslMechanism, ScramCredential, SecretString,
    SecurityProtocol,
};
use tokio_util::sync::CancellationToken;

const ADMIN_PW: &str = "Sentinel-admin-4b1d9e";
const JOBS_PW: &str = "Sentinel-jobs-77c2a0";
const NOBODY_PW: &str = "Sentinel-nobody-e05f13";
const SENTINELS: [&str; 3] = [ADMIN_PW, JOBS_PW, NOBODY_PW];
const TIMEOUT: Duration = Duration::from_secs(30);
/// The Kafka Connect worker of the secured stack.
const CONNECT_PORT: u16 = 22583;

fn config(tls_dir: &Path) -> ClusterConfig {
    let mut c = ClusterConfig {
        heap_opts: Some("-Xmx512m -Xms256m".into()),
        num_network_threads: 2,
        num_io_threads: 2,
        group_initial_rebalance_delay_ms: 0,
        ..ClusterConfig::default()
    };
    c.network.kafka_base_port = 22592;
    c.network.controller_base_port = 22692;
    c.network.jmx_base_port = 0;
    c.network.connect_port = CONNECT_PORT;
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

/// The client properties of `config` logged in as `user` with `password`.
fn as_user(config: &ClusterConfig, user: &str, password: &str) -> ClientProperties {
    let mut p = config.client_properties();
    p.set("sasl.username", user).set("sasl.password", password);
    p
}

/// Stops the cluster (and removes its data) even when an assertion failed.
struct Running(LocalProvider);

impl Drop for Running {
    fn drop(&mut self) {
        let provider = self.0.clone();
        let stopped = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(provider.stop(
                    &StopOptions {
                        remove_data: true,
                        ..StopOptions::default()
                    },
                    &tda_kafka_cluster::NoProgress,
                ))
        })
        .join();
        if !matches!(stopped, Ok(Ok(_))) && !std::thread::panicking() {
            panic!("the secured cluster did not stop");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_secured_cluster_refuses_what_it_must_and_hides_every_password() {
    let tmp = match std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            tempfile::tempdir_in(dir).unwrap()
        }
        None => tempfile::tempdir().unwrap(),
    };
    let root = tmp.path().to_path_buf();
    let cfg = config(&root.join("tls"));
    let data = root.join("cluster");
    let provider = Running(LocalProvider::new(&data));
    let options = StartOptions {
        create_topics: true,
        services: Services {
            connect: true,
            ..Services::brokers_only()
        },
        ..StartOptions::default()
    };
    let report = provider
        .0
        .start(
            &cfg,
            &options,
            &tda_kafka_cluster::NoProgress,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("secured start failed: {e}"));
    assert_eq!(report.started_nodes, [1, 2, 3]);

    // The admin (super user) reaches everything, the raw-protocol calls included.
    let admin = Admin::connect(&cfg.client_properties(), TIMEOUT)
        .await
        .unwrap();
    let health = admin.health().await.unwrap();
    assert_eq!(health.brokers.len(), 3, "{health:?}");
    assert!(
        health.controller.is_some(),
        "controller via the TLS+SASL raw client: {health:?}"
    );
    let plan = admin
        .plan_acls(&declared_acls(&cfg.effective_topics()))
        .await
        .unwrap();
    assert!(
        !plan.has_drift(),
        "start granted the declared ACLs: {plan:?}"
    );
    assert_eq!(plan.unchanged.len(), 5, "{plan:?}");

    // The Connect worker joined through SASL_SSL (trusting the generated CA):
    // it answers and its internal topics exist on the secured cluster.
    let connectors = reqwest::get(format!("http://127.0.0.1:{CONNECT_PORT}/connectors"))
        .await
        .unwrap();
    assert_eq!(connectors.status(), 200);
    // Connect creates `_connect-configs` last, just before it reports ready,
    // so a broker's metadata may not show it yet: wait for it on every broker
    // (bounded by the admin timeout), as for any new topic.
    let internal = ["_connect-configs", "_connect-offsets", "_connect-status"].map(String::from);
    if let Err(e) = admin.wait_for_topics(&internal).await {
        panic!("Connect's internal topics on the secured cluster: {e}");
    }

    // A wrong password: refused by the broker, not waited out.
    let t0 = Instant::now();
    let err = Admin::connect(&as_user(&cfg, "admin", "not-the-password"), TIMEOUT)
        .await
        .err()
        .expect("a wrong password is refused");
    assert!(matches!(err, AdminError::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("invalid credentials"), "{err}");
    assert!(t0.elapsed() < TIMEOUT, "answered before the timeout");

    // A certificate that does not name the host we connect to.
    let mut wrong_host = cfg.client_properties();
    wrong_host.set("bootstrap.servers", "localhost:22592");
    let err = Admin::connect(&wrong_host, TIMEOUT)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, AdminError::TlsHandshake { .. }), "{err}");
    assert!(err.to_string().contains("not valid for name"), "{err}");
    // librdkafka refuses it too: nothing gets through.
    let err = produce(&wrong_host, "tda_jobs").await.expect_err("refused");
    assert!(!err.to_string().is_empty());

    // No listener speaks PLAINTEXT: not the client ports, not the controllers.
    for id in cfg.node_ids() {
        for port in [cfg.network.kafka_port(id), cfg.network.controller_port(id)] {
            let mut plain = ClientProperties::default();
            plain.set("bootstrap.servers", format!("127.0.0.1:{port}"));
            let r = Admin::connect(&plain, Duration::from_secs(3)).await;
            assert!(r.is_err(), "PLAINTEXT answered on port {port}");
        }
        let props =
            std::fs::read_to_string(data.join(format!("node-{id}/server.properties"))).unwrap();
        let map = props
            .lines()
            .find(|l| l.starts_with("listener.security.protocol.map="))
            .unwrap();
        assert_eq!(
            map,
            "listener.security.protocol.map=EXTERNAL:SASL_SSL,CONTROLLER:SSL"
        );
    }

    // ACLs: the jobs producer may write tda_jobs and nothing else; a
    // principal without ACLs gets an authorization error, not retries.
    let jobs = as_user(&cfg, principals::JOBS_PRODUCER, JOBS_PW);
    produce(&jobs, "tda_jobs")
        .await
        .expect("the jobs producer writes tda_jobs");
    let t0 = Instant::now();
    let err = produce(&jobs, "tda_results").await.expect_err("denied");
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{err}"
    );
    let nobody = as_user(&cfg, "nobody", NOBODY_PW);
    let err = produce(&nobody, "tda_jobs").await.expect_err("denied");
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "denied before the message timeout"
    );

    // No password in Debug output, errors, the status, a backup or a log;
    // only the nodes' server.properties and the worker's properties (0600)
    // hold them.
    let backup_file = root.join("backup.yaml");
    let backup = admin.backup().await.unwrap();
    assert_eq!(backup.acls.len(), 5, "the backup carries the ACLs");
    backup.write(&backup_file).unwrap();
    let status = provider.0.status().await.unwrap();
    let shown = [
        format!("{cfg:?}"),
        format!("{:?}", cfg.client_properties()),
        format!("{:?}", cfg.broker_properties(1, "/d")),
        format!("{status:?}"),
        serde_json::to_string(&status).unwrap(),
        format!("{err:?} {err}"),
        std::fs::read_to_string(&backup_file).unwrap(),
    ];
    for text in &shown {
        for s in SENTINELS {
            assert!(!text.contains(s), "a password leaked into: {text}");
        }
    }
    for f in files(&root) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let holds = SENTINELS.iter().any(|s| text.contains(s));
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        let name = f.file_name().unwrap().to_string_lossy();
        if holds {
            assert!(
                name == "server.properties" || name == "worker.properties",
                "{} holds a password",
                f.display()
            );
            assert_eq!(mode, 0o600, "{} holds a password", f.display());
        }
        if name.ends_with(".key") {
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}
