//! The one stack command path through the real binary, for what needs no
//! running cluster: `status`, `stop` and `health` of a Docker stack use the
//! `--env-file` they are given (its ports and broker count), `docker detect`
//! states its choice, and the flags resolve the same for both providers.
//! Needs a Docker engine (started by scripts/test.sh); FAILS without one.

use std::process::{Command, Output, Stdio};

const ENV: &str = "\
KAFKA_BROKER_COUNT=1
KAFKA_DEFAULT_REPLICATION_FACTOR=1
KAFKA_MIN_INSYNC_REPLICAS=1
TDA_KAFKA_PORT_BASE=26592
TDA_KAFKA_CONTROLLER_PORT_BASE=26692
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT=26581
";

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args(args)
        .env_remove("TDA_KAFKA_PROVIDER")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ tda-kafka {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn env_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.env");
    std::fs::write(&path, ENV).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("-o json prints one JSON document")
}

#[test]
fn docker_status_stop_and_health_use_the_env_files_ports() {
    let (_dir, env) = env_file();
    let stack = [
        "--provider",
        "docker",
        "--stack",
        "tdaenvcli",
        "--env-file",
        &env,
    ];
    let status = run(&[&["status", "-o", "json"][..], &stack].concat());
    assert_eq!(status.status.code(), Some(3), "a stack that does not exist");
    let v = json(&status);
    assert_eq!(v["provider"], "docker");
    assert_eq!(v["state"], "notcreated");
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "KAFKA_BROKER_COUNT=1 of the env file: {v}");
    assert_eq!(nodes[0]["address"], "127.0.0.1:26592", "{v}");

    let stop = run(&[&["stop", "-o", "json"][..], &stack].concat());
    assert!(stop.status.success());
    let v = json(&stop);
    let members: Vec<String> = v["stopped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0]["member"].as_str().unwrap().to_string() + &m[0]["id"].to_string())
        .collect();
    assert!(members.contains(&"node1".to_string()), "{v}");
    assert!(!members.contains(&"node2".to_string()), "{v}");

    let health = run(&[&["health", "-o", "json"][..], &stack].concat());
    assert_eq!(health.status.code(), Some(3), "nothing runs");
    let v = json(&health);
    assert_eq!(v["healthy"], false);
    assert_eq!(v["bootstrap"], "127.0.0.1:26592", "{v}");
}

#[test]
fn health_only_is_health_on_both_providers() {
    let (dir, env) = env_file();
    let data = dir.path().join("cluster").display().to_string();
    for provider in [
        &["--provider", "docker", "--stack", "tdaenvcli"][..],
        &["--provider", "local", "--data-dir", &data][..],
    ] {
        let health = run(&[&["health", "-o", "json", "--env-file", &env][..], provider].concat());
        let only = run(&[
            &["start", "--health-only", "-o", "json", "--env-file", &env][..],
            provider,
        ]
        .concat());
        assert_eq!(health.status.code(), Some(3));
        assert_eq!(only.status.code(), Some(3));
        let (a, b) = (json(&health), json(&only));
        for key in [
            "healthy",
            "provider",
            "state",
            "bootstrap",
            "services",
            "missing_topics",
        ] {
            assert_eq!(a[key], b[key], "{key}: {a} vs {b}");
        }
    }
}

#[test]
fn docker_detect_states_a_typed_reason() {
    let (_dir, env) = env_file();
    let out = run(&["docker", "detect", "-o", "json", "--env-file", &env]);
    assert!(out.status.success());
    let v = json(&out);
    assert!(v["provider"] == "docker" || v["provider"] == "local", "{v}");
    assert!(v["reason"]["reason"].is_string(), "{v}");
    let out = run(&[
        "docker",
        "detect",
        "-o",
        "json",
        "--data-dir",
        "/nonexistent/x",
    ]);
    assert_eq!(json(&out)["reason"]["reason"], "data_dir_given");
}
