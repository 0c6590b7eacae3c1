//! `tda-kafka compose` validated by Debian's docker-compose, and the Docker
//! side of `status` on an engine. Needs `docker-compose` and a running Docker
//! engine (`.ci/run` installs them, `scripts/test.sh` starts the engine);
//! FAILS when they are missing.

use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
}

fn show(out: &Output) -> String {
    format!(
        "exit: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn compose_output_passes_docker_compose_config_for_every_image_set() {
    let dir = tempfile::tempdir().unwrap();
    // The seed's Confluent topology is ZooKeeper mode; the local set runs it too.
    for (set, mode) in [
        ("local", "kraft"),
        ("local", "zookeeper"),
        ("apache", "kraft"),
        ("confluent", "zookeeper"),
    ] {
        let file = dir.path().join(format!("{set}-{mode}.yml"));
        let out = bin()
            .args(["compose", "--images", set, "--metadata", mode, "--file"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let check = Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args(["config", "-q"])
            .output()
            .unwrap_or_else(|e| {
                panic!("docker-compose is needed to validate `tda-kafka compose` (apt-get install docker-compose; .ci/run does): {e}")
            });
        assert!(
            check.status.success(),
            "docker-compose rejects the {set} file:\n{}\n{}",
            show(&check),
            std::fs::read_to_string(&file).unwrap()
        );
        // docker-compose's own rendering keeps our names, ports and network.
        let config = Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .arg("config")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&config.stdout);
        for needle in [
            "container_name: tda_kafka_1",
            "container_name: tda_kafka_3",
            "name: tda-kafka-network",
            "19092",
            "8081",
        ] {
            assert!(
                text.contains(needle),
                "{set}: `{needle}` missing in\n{text}"
            );
        }
        if mode == "zookeeper" {
            for needle in [
                "container_name: tda_zookeeper_1",
                "container_name: tda_zookeeper_3",
                "KAFKA_ZOOKEEPER_CONNECT: zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181/tda-kafka",
            ] {
                assert!(text.contains(needle), "{set}: `{needle}` missing in\n{text}");
            }
            assert!(
                !text.contains("CLUSTER_ID"),
                "{set}: KRaft in ZooKeeper mode\n{text}"
            );
        } else {
            assert!(
                !text.contains("zookeeper"),
                "{set}: ZooKeeper in KRaft mode\n{text}"
            );
        }
        if set == "confluent" {
            for needle in ["container_name: tda_ksqldb", "container_name: tda_kafka_ui"] {
                assert!(text.contains(needle), "{set}: `{needle}` missing");
            }
        }
    }
    // The apache set has no ZooKeeper image: refused, like its start.
    let out = bin()
        .args(["compose", "--images", "apache", "--metadata", "zookeeper"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runs KRaft only"),
        "{}",
        show(&out)
    );
}

#[test]
fn compose_mounts_secret_files_and_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let secret = format!("Sentinel-Pa55-{nanos}");
    let env = dir.path().join("ssl.env");
    std::fs::write(
        &env,
        format!(
            "KAFKA_SECURITY_PROTOCOL=SSL\n\
             KAFKA_SSL_KEYSTORE_LOCATION=/certs/kafka.keystore.jks\n\
             KAFKA_SSL_KEYSTORE_PASSWORD={secret}\n\
             KAFKA_SSL_KEY_PASSWORD={secret}\n\
             KAFKA_SSL_TRUSTSTORE_LOCATION=/certs/kafka.truststore.jks\n\
             KAFKA_SSL_TRUSTSTORE_PASSWORD={secret}\n"
        ),
    )
    .unwrap();
    for set in ["local", "apache", "confluent"] {
        let file = dir.path().join(format!("{set}.yml"));
        let out = bin()
            .args(["compose", "--images", set, "--env-file"])
            .arg(&env)
            .arg("--file")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let text = std::fs::read_to_string(&file).unwrap();
        let printed = show(&out);
        assert!(
            !text.contains(&secret) && !printed.contains(&secret),
            "{set}: the secret was printed:\n{text}\n{printed}"
        );
        assert!(
            text.contains("/secrets/kafka-1/server-secrets.properties:/run/secrets/tda-kafka/server-secrets.properties:ro"),
            "{set}: the secret file is bind-mounted read-only:\n{text}"
        );
        let check = Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args(["config", "-q"])
            .output()
            .expect("docker-compose is needed (apt-get install docker-compose)");
        assert!(check.status.success(), "{set}: {}\n{text}", show(&check));
    }
    // Printed to stdout as well.
    let out = bin()
        .args(["compose", "--env-file"])
        .arg(&env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(!show(&out).contains(&secret), "{}", show(&out));
}

#[test]
fn compose_to_stdout_names_skipped_services_of_the_local_set() {
    let out = bin()
        .args(["compose", "--images", "local"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // ksqlDB has no local image; the UI is our console.
    assert!(text.contains("# not included: ksqldb"), "{text}");
    assert!(!text.contains("# not included: kafka-ui"), "{text}");
    assert!(text.contains("container_name: tda_kafka_ui"), "{text}");
    assert!(text.contains("tda-kafka/console:"), "{text}");
}

#[test]
fn status_of_a_stack_that_does_not_exist_exits_3() {
    let out = bin()
        .args(["status", "--provider", "docker", "--stack", "tdanotthere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not created"),
        "{}",
        show(&out)
    );
}

#[test]
fn unknown_profile_and_service_are_usage_errors_with_the_choices() {
    let out = bin()
        .args(["compose", "--profile", "huge"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("full, core or brokers"));
    let out = bin()
        .args(["compose", "--without", "zookeeper-9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kafka-connect"));
}
