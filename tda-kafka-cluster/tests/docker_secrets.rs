//! Secrets never leave their masked types on the Docker path: a sentinel
//! password in an env file reaches no `Debug` output, no progress or error
//! text, no container environment, no `docker inspect`, no container log;
//! it is only in the 0600 secret file the broker mounts. Needs a Docker
//! engine with the local images (`scripts/docker-engine.sh ensure`,
//! `tda-kafka images build`; the test builds them, cached); FAILS without.
//!
//! The brokers cannot start (there are no keystores): the test starts with
//! a short timeout, expects the error, then inspects what was created. It
//! uses its own stack (`tdasec`) and ports (25092-25094, controllers
//! 25192-25194, registry 25081, Connect 25083, UI 25080, ksqlDB 25088, Redis
//! 25379, JMX off), and removes every container, volume and network of that
//! stack whether it passes or fails.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tda_kafka_cluster::docker::topology::{self, STACK_LABEL};
use tda_kafka_cluster::docker::{self, images, BuildOptions, DockerProvider, StackOptions};
use tda_kafka_cluster::{ClusterProvider, NoProgress, Progress, ProgressEvent, StartOptions};
use tda_kafka_config::ConfigLoader;
use tokio_util::sync::CancellationToken;

const STACK: &str = "tdasec";

fn env_file(secret: &str) -> String {
    format!(
        "KAFKA_SECURITY_PROTOCOL=SSL\n\
         KAFKA_SSL_KEYSTORE_LOCATION=/certs/kafka.keystore.jks\n\
         KAFKA_SSL_KEYSTORE_PASSWORD={secret}\n\
         KAFKA_SSL_KEY_PASSWORD={secret}\n\
         KAFKA_SSL_TRUSTSTORE_LOCATION=/certs/kafka.truststore.jks\n\
         KAFKA_SSL_TRUSTSTORE_PASSWORD={secret}\n\
         TDA_KAFKA_PORT_BASE=25092\n\
         TDA_KAFKA_CONTROLLER_PORT_BASE=25192\n\
         TDA_KAFKA_JMX_PORT_BASE=0\n\
         TDA_SCHEMA_REGISTRY_PORT=25081\n\
         TDA_CONNECT_PORT=25083\n\
         TDA_KAFKA_UI_PORT=25080\n\
         TDA_KSQLDB_PORT=25088\n\
         TDA_REDIS_PORT=25379\n"
    )
}

fn sentinel() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Sentinel-Pa55-{}-{nanos}", std::process::id())
}

/// `docker args...`, its stdout (panics when docker cannot run).
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
    let out = Command::new("docker").args(&args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Removes every container, volume and network of the stack and its secret
/// files, on success and on panic alike.
struct Cleanup {
    secrets: std::path::PathBuf,
}

impl Cleanup {
    fn run(&self) {
        let containers = labelled(&["ps", "-a"]);
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            docker_cli(&args);
        }
        for (kind, rm) in [(["volume", "ls"], "volume"), (["network", "ls"], "network")] {
            let ids = labelled(&kind);
            if !ids.is_empty() {
                let mut args = vec![rm, "rm"];
                args.extend(ids.iter().map(String::as_str));
                docker_cli(&args);
            }
        }
        let _ = std::fs::remove_dir_all(&self.secrets);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.run();
    }
}

/// Every progress event, as `Debug` text.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Progress for Recorder {
    fn report(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(format!("{event:?}"));
    }
}

#[track_caller]
fn assert_hidden(what: &str, text: &str, secret: &str) {
    assert!(!text.contains(secret), "{what} shows the secret:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_password_stays_out_of_containers_logs_and_debug() {
    let secret = sentinel();
    // Secret files go under $XDG_DATA_HOME; keep them in a scratch directory.
    let data = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_DATA_HOME", data.path());
    let guard = Cleanup {
        secrets: topology::secrets_dir(STACK),
    };
    assert!(guard.secrets.starts_with(data.path()));

    let loaded = ConfigLoader::new()
        .env_text("ssl.env", env_file(&secret))
        .load()
        .expect("the SSL env file is valid");
    let config = loaded.config;
    let stack = StackOptions {
        name: STACK.into(),
        ..StackOptions::default()
    };
    let t = topology::build(&config, &stack);

    // Debug of every public type on the way.
    assert_hidden("ClusterConfig", &format!("{config:?}"), &secret);
    assert_hidden("SecurityConfig", &format!("{:?}", config.security), &secret);
    assert_hidden(
        "LoadedConfig provenance",
        &format!("{:?}", loaded.provenance),
        &secret,
    );
    let props = config.broker_properties(1, "/data");
    assert_hidden("Properties", &format!("{props:?}"), &secret);
    assert_hidden(
        "ClientProperties",
        &format!("{:?}", config.client_properties()),
        &secret,
    );
    assert_hidden("Topology", &format!("{t:#?}"), &secret);
    for s in &t.services {
        assert_hidden("ServiceSpec", &format!("{s:?}"), &secret);
    }
    assert_hidden("compose", &docker::compose::render(&t), &secret);

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

    let p = DockerProvider::connect(config.clone(), stack.clone())
        .await
        .unwrap();
    let progress = Recorder::default();
    let options = StartOptions {
        clean: true,
        create_topics: false,
        ready_timeout: Duration::from_secs(45),
        ..StartOptions::default()
    };
    let err = p
        .start(&config, &options, &progress, CancellationToken::new())
        .await
        .expect_err("brokers without keystores cannot become ready");
    let shown = format!("{err}\n{err:?}");
    eprintln!("start failed as expected: {err}");
    assert_hidden("the start error", &shown, &secret);
    assert_hidden("progress", &progress.0.lock().unwrap().join("\n"), &secret);

    // What the engine holds.
    let containers = labelled(&["ps", "-a"]);
    assert!(
        containers.len() >= 3,
        "the brokers were created: {containers:?}\n{shown}"
    );
    let mut brokers = 0;
    for id in &containers {
        let inspect = docker_cli(&["inspect", id]);
        assert_hidden("docker inspect", &inspect, &secret);
        assert_hidden("docker logs", &docker_cli(&["logs", id]), &secret);
        if inspect.contains("\"io.tda-kafka.service\": \"kafka-") {
            brokers += 1;
            assert!(
                !inspect.contains("KAFKA_SSL_KEYSTORE_PASSWORD"),
                "{inspect}"
            );
            assert!(
                inspect.contains("TDA_KAFKA_SECRET_PROPERTIES="),
                "{inspect}"
            );
            assert!(
                inspect.contains("/run/secrets/tda-kafka/server-secrets.properties"),
                "{inspect}"
            );
        }
    }
    assert_eq!(brokers, 3, "{containers:?}");

    // The broker got the secret through the mount: the entrypoint appended
    // it to its properties (readable by root only) and Kafka read it.
    let logs = docker_cli(&["logs", &format!("{STACK}_kafka_1")]);
    assert!(
        logs.contains("ssl.keystore.password = [hidden]"),
        "the broker saw the keystore settings:\n{logs}"
    );

    // The files on the host: one per broker, 0600, in 0700 directories.
    for n in 1..=3 {
        let file = guard
            .secrets
            .join(format!("kafka-{n}/server-secrets.properties"));
        let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            file.display()
        );
        let dir = std::fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("ssl.keystore.password={secret}\n")));
    }

    guard.run();
    assert!(labelled(&["ps", "-a"]).is_empty());
    assert!(labelled(&["volume", "ls"]).is_empty());
    assert!(labelled(&["network", "ls"]).is_empty());
}
