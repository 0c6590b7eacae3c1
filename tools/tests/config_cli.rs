//! `tda-kafka config show|validate` through the real binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `tda-kafka args...` in `dir` with a clean environment plus `env`.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tda-kafka"));
    cmd.args(args).current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("tda-kafka runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

fn json(out: &Output) -> serde_json::Value {
    let (stdout, stderr) = text(out);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"))
}

fn setting<'a>(doc: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    doc["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
}

#[test]
fn show_prints_every_setting_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("my.env"),
        format!("# tuned\nKAFKA_NUM_IO_THREADS=4\nKAFKA_SASL_PASSWORD='hunter2'\n{PRODUCTION_TLS}"),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "config",
            "show",
            "--environment",
            "production",
            "--env-file",
            "my.env",
            "-o",
            "json",
        ],
        &[("KAFKA_BROKER_COUNT", "5"), ("UNRELATED", "1")],
    );
    assert_exit(&out, 0);
    let (stdout, stderr) = text(&out);
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
    let doc = json(&out);
    assert_eq!(doc["environment"], "production");
    let io = setting(&doc, "KAFKA_NUM_IO_THREADS");
    assert_eq!(io["value"], "4");
    assert_eq!(io["source"]["kind"], "env_file");
    assert_eq!(io["source"]["line"], 2);
    assert_eq!(
        setting(&doc, "KAFKA_BROKER_COUNT")["source"]["kind"],
        "process_env"
    );
    assert_eq!(setting(&doc, "KAFKA_BROKER_COUNT")["value"], "5");
    assert_eq!(setting(&doc, "ENVIRONMENT")["source"]["kind"], "override");
    assert_eq!(
        setting(&doc, "KAFKA_HEAP_SIZE")["source"]["kind"],
        "profile"
    );
    assert_eq!(setting(&doc, "KAFKA_HEAP_SIZE")["value"], "32G");
    assert_eq!(setting(&doc, "KAFKA_SASL_PASSWORD")["value"], "***");
    assert_eq!(doc["topics"].as_array().unwrap().len(), 5);
    assert_eq!(doc["topics"][1]["name"], "tda_results");
    assert_eq!(doc["topics"][1]["cleanup_policy"], "compact");
    assert_eq!(doc["topics"][1]["replication_factor"], 3);

    let out = run(dir.path(), &["config", "show", "--env-file", "my.env"], &[]);
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("KAFKA_NUM_IO_THREADS "))
        .unwrap();
    assert!(
        line.split_whitespace()
            .eq(["KAFKA_NUM_IO_THREADS", "4", "my.env:2"]),
        "{line}"
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("KAFKA_SASL_PASSWORD "))
        .unwrap();
    assert!(
        line.split_whitespace()
            .eq(["KAFKA_SASL_PASSWORD", "***", "my.env:3"]),
        "{line}"
    );
    assert!(stdout.contains("\nTOPIC "), "{stdout}");
}

#[test]
fn show_reads_kafka_env_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kafka.env"),
        "KAFKA_BROKER_COUNT=1\nKAFKA_DEFAULT_REPLICATION_FACTOR=1\nKAFKA_MIN_INSYNC_REPLICAS=1\n",
    )
    .unwrap();
    let out = run(dir.path(), &["config", "show", "-o", "json"], &[]);
    assert_exit(&out, 0);
    let doc = json(&out);
    let s = setting(&doc, "KAFKA_BROKER_COUNT");
    assert_eq!(s["value"], "1");
    assert_eq!(s["source"]["path"], "kafka.env");
}

#[test]
fn validate_accepts_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kafka.env"),
        format!("ENVIRONMENT=production\nKAFKA_HEAP_OPTS=\"-Xmx32g -Xms32g\"\nKAFKA_AUTO_CREATE_TOPICS_ENABLE=false\n{PRODUCTION_TLS}"),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--env-file", "kafka.env"],
        &[],
    );
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("configuration is valid: production profile, 3 broker(s), 5 topic(s)"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_every_error_with_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.env"),
        "ENVIRONMENT=production\nKAFKA_BROKER_COUNT=three\nKAFKA_BROKR_COUNT=3\nKAFKA_AUTO_CREATE_TOPICS_ENABLE=true\nKAFKA_MIN_INSYNC_REPLICAS=4\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--env-file", "bad.env"],
        &[],
    );
    assert_exit(&out, 1);
    let (stdout, stderr) = text(&out);
    let expected = [
        r#"error: bad.env:2: KAFKA_BROKER_COUNT: invalid value "three": expected a positive integer"#,
        "error: bad.env:3: KAFKA_BROKR_COUNT: unknown key (did you mean KAFKA_BROKER_COUNT?)",
        "error: bad.env:4: KAFKA_AUTO_CREATE_TOPICS_ENABLE: auto-create of topics is enabled in production",
        "error: bad.env:5: KAFKA_MIN_INSYNC_REPLICAS: min.insync.replicas 4 is above the replication factor 3",
        "error: KAFKA_SECURITY_PROTOCOL: production refuses PLAINTEXT",
        "5 error(s), 0 warning(s)",
    ];
    for e in expected {
        assert!(
            stdout.contains(e),
            "missing {e:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }
    assert!(
        stderr.contains("the configuration has 5 error(s)"),
        "{stderr}"
    );

    let out = run(
        dir.path(),
        &["config", "validate", "--env-file", "bad.env", "-o", "json"],
        &[],
    );
    assert_exit(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"], 5);
    assert_eq!(doc["issues"][0]["path"], "bad.env");
    assert_eq!(doc["issues"][0]["line"], 2);
    assert_eq!(doc["issues"][0]["key"], "KAFKA_BROKER_COUNT");
}

#[test]
fn validate_prints_warnings_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("w.env"),
        "KAFKA_HEAP_SIZE=1G\nKAFKA_HEAP_SIZE=2G\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--env-file", "w.env"],
        &[],
    );
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(
            "warning: w.env:2: KAFKA_HEAP_SIZE: set again; the value from line 1 is replaced"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("1 warning(s)"), "{stdout}");
}

#[test]
fn validate_checks_the_topics_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("topics.yaml"),
        "version: 1\ntopics:\n  - name: tda_audit\n    partitions: many\n    cleanup_policy: delete\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--topics-file", "topics.yaml"],
        &[],
    );
    assert_exit(&out, 1);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(r#"error: topics.yaml:4: topics[0].partitions: invalid type: string <4 characters>, expected i32"#),
        "{stdout}"
    );
    // The value a parser rejects is never echoed: a topics file can hold secrets.
    std::fs::write(
        dir.path().join("topics.yaml"),
        "version: 1\ntopics:\n  - name: tda_audit\n    partitions: \"password=SENTINEL-cfg-s3cr3t\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--topics-file", "topics.yaml"],
        &[],
    );
    assert_exit(&out, 1);
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains("topics[0].partitions"), "{stdout}");
    assert!(
        !stdout.contains("SENTINEL") && !stderr.contains("SENTINEL"),
        "{stdout}{stderr}"
    );
    std::fs::write(
        dir.path().join("topics.yaml"),
        "version: 1\ntopics:\n  - name: tda_audit\n    partitions: 2\n    cleanup_policy: delete\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--topics-file", "topics.yaml"],
        &[],
    );
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("6 topic(s)"), "{stdout}");
}

#[test]
fn bad_flags_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["config", "validate", "--environment", "qa"],
        &[],
    );
    assert_exit(&out, 2);
    let out = run(
        dir.path(),
        &["config", "validate", "--env-file", "missing.env"],
        &[],
    );
    assert_exit(&out, 1);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("error: missing.env: cannot read env file"),
        "{stdout}"
    );
}

/// TLS settings that make a production configuration acceptable.
const PRODUCTION_TLS: &str = "KAFKA_SECURITY_PROTOCOL=SSL
KAFKA_SSL_KEYSTORE_LOCATION=/k.jks
KAFKA_SSL_KEYSTORE_PASSWORD=changeit
KAFKA_SSL_TRUSTSTORE_LOCATION=/t.jks
KAFKA_SSL_CA_LOCATION=/ca.pem
";

#[test]
fn template_writes_a_kafka_env_that_validates_once_production_is_secured() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["config", "template", "--environment", "production"],
        &[("KAFKA_SASL_PASSWORD", "hunter2")],
    );
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stdout.contains("\nENVIRONMENT=production\n"), "{stdout}");
    assert!(stdout.contains("\n#KAFKA_SASL_PASSWORD=\n"), "{stdout}");
    assert!(
        stdout.contains("# Production refuses PLAINTEXT"),
        "{stdout}"
    );
    // The template itself is printed; what it lacks is said on stderr.
    let (_, stderr) = text(&out);
    assert!(stderr.contains("production refuses PLAINTEXT"), "{stderr}");
    std::fs::write(dir.path().join("kafka.env"), &stdout).unwrap();
    let refused = run(dir.path(), &["config", "validate"], &[]);
    assert_exit(&refused, 1);
    let (stdout_refused, _) = text(&refused);
    assert!(
        stdout_refused.contains("KAFKA_SECURITY_PROTOCOL: production refuses PLAINTEXT"),
        "{stdout_refused}"
    );
    std::fs::write(
        dir.path().join("kafka.env"),
        format!("{stdout}{PRODUCTION_TLS}"),
    )
    .unwrap();
    let out = run(dir.path(), &["config", "validate"], &[]);
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("configuration is valid: production profile"),
        "{stdout}"
    );
}

/// A password nobody else would print, per test run.
fn sentinel() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Sentinel-Pa55-{}-{nanos}", std::process::id())
}

#[test]
fn no_config_command_prints_a_secret_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let secret = sentinel();
    std::fs::write(
        dir.path().join("ssl.env"),
        format!(
            "KAFKA_SECURITY_PROTOCOL=SSL\n\
             KAFKA_SSL_KEYSTORE_LOCATION=/certs/kafka.keystore.jks\n\
             KAFKA_SSL_KEYSTORE_PASSWORD={secret}\n\
             KAFKA_SSL_KEY_PASSWORD={secret}\n\
             KAFKA_SSL_TRUSTSTORE_LOCATION=/certs/kafka.truststore.jks\n\
             KAFKA_SSL_TRUSTSTORE_PASSWORD='{secret}'\n\
             KAFKA_SASL_PASSWORD={secret}\n"
        ),
    )
    .unwrap();
    let mut runs = Vec::new();
    for format in ["table", "json", "yaml"] {
        for cmd in ["show", "validate"] {
            runs.push(vec!["config", cmd, "--env-file", "ssl.env", "-o", format]);
        }
    }
    runs.push(vec!["config", "template", "--env-file", "ssl.env"]);
    for args in runs {
        let out = run(dir.path(), &args, &[]);
        assert_exit(&out, 0);
        let (stdout, stderr) = text(&out);
        assert!(
            !stdout.contains(&secret) && !stderr.contains(&secret),
            "{args:?} printed the secret:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        if args[1] == "show" {
            assert!(
                stdout.contains("***"),
                "{args:?}: the secret is masked\n{stdout}"
            );
        }
    }
    // A secret coming from the process environment is masked too.
    let out = run(
        dir.path(),
        &["config", "show", "-o", "json"],
        &[("KAFKA_SSL_KEYSTORE_PASSWORD", secret.as_str())],
    );
    assert_exit(&out, 0);
    let doc = json(&out);
    assert_eq!(setting(&doc, "KAFKA_SSL_KEYSTORE_PASSWORD")["value"], "***");
    assert!(!text(&out).0.contains(&secret));
}
