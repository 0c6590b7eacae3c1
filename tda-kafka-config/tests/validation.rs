//! One test per validation rule, plus "all problems at once" and the topics file.

use std::path::{Path, PathBuf};

use tda_kafka_config::{
    topic_name_error, validate, ClusterConfig, ConfigError, ConfigLoader, Environment,
    LoadedConfig, SecurityProtocol, Severity, Source, TopicSpec, TopicsFile, ValidationReport,
};

fn load_text(text: &str) -> LoadedConfig {
    ConfigLoader::new().env_text("kafka.env", text).check()
}

fn errors(r: &ValidationReport) -> Vec<String> {
    r.errors().map(ToString::to_string).collect()
}

fn warnings(r: &ValidationReport) -> Vec<String> {
    r.warnings().map(ToString::to_string).collect()
}

/// TLS settings that make a production configuration acceptable.
const PRODUCTION_TLS: &str = "KAFKA_SECURITY_PROTOCOL=SSL
KAFKA_SSL_KEYSTORE_LOCATION=/k.jks
KAFKA_SSL_KEYSTORE_PASSWORD=a
KAFKA_SSL_TRUSTSTORE_LOCATION=/t.jks
KAFKA_SSL_CA_LOCATION=/ca.pem
";

#[test]
fn defaults_of_every_profile_are_valid_but_production_needs_security() {
    for env in Environment::ALL {
        let r = validate(&ClusterConfig::for_environment(env));
        if env == Environment::Production {
            let keys: Vec<_> = r.errors().map(|i| i.key.as_deref()).collect();
            assert_eq!(keys, vec![Some("KAFKA_SECURITY_PROTOCOL")], "{r}");
            assert_eq!(r.issues.len(), 1, "{r}");
        } else {
            assert!(r.is_empty(), "{env}: {r}");
        }
    }
}

#[test]
fn unknown_keys_get_a_suggestion_in_files_and_overrides() {
    let l = load_text("KAFKA_NUM_IO_THREAD=4\nTDA_JOB_PARTITIONS=6\nCOMPLETELY_UNRELATED=1\n");
    assert_eq!(
        errors(&l.report),
        vec![
            "kafka.env:1: KAFKA_NUM_IO_THREAD: unknown key (did you mean KAFKA_NUM_IO_THREADS?)",
            "kafka.env:2: TDA_JOB_PARTITIONS: unknown key (did you mean TDA_JOBS_PARTITIONS?)",
            "kafka.env:3: COMPLETELY_UNRELATED: unknown key",
        ]
    );
    let l = ConfigLoader::new().set("KAFKA_BROKER_CUONT", "3").check();
    assert_eq!(
        errors(&l.report),
        vec!["KAFKA_BROKER_CUONT: unknown key (did you mean KAFKA_BROKER_COUNT?)"]
    );
}

#[test]
fn unknown_process_variables_are_ignored() {
    let l = ConfigLoader::new()
        .process_env([
            ("KAFKA_BROKER_CUONT", "x"),
            ("TDA_KAFKA_TEST_BOOTSTRAP", "y"),
        ])
        .check();
    assert!(l.report.is_empty(), "{}", l.report);
}

#[test]
fn bad_values_say_what_was_expected() {
    let text = "\
KAFKA_BROKER_COUNT=three
KAFKA_AUTO_CREATE_TOPICS_ENABLE=maybe
TDA_KAFKA_PORT_BASE=70000
KAFKA_HEAP_SIZE=lots
ENVIRONMENT=qa
TDA_RESULTS_CLEANUP_POLICY=archive
KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-256,GSSAPI
KAFKA_SECURITY_PROTOCOL=TLS
TDA_JOBS_RETENTION_MS=-5
KAFKA_DEFAULT_PARTITIONS=0
";
    let l = load_text(text);
    assert_eq!(
        errors(&l.report),
        vec![
            r#"kafka.env:1: KAFKA_BROKER_COUNT: invalid value "three": expected a positive integer"#,
            r#"kafka.env:2: KAFKA_AUTO_CREATE_TOPICS_ENABLE: invalid value "maybe": expected true or false"#,
            r#"kafka.env:3: TDA_KAFKA_PORT_BASE: invalid value "70000": expected a port number 1..=65535"#,
            r#"kafka.env:4: KAFKA_HEAP_SIZE: invalid value "lots": expected a JVM memory size like 512m or 2G"#,
            r#"kafka.env:5: ENVIRONMENT: invalid value "qa": expected development, staging or production"#,
            r#"kafka.env:6: TDA_RESULTS_CLEANUP_POLICY: invalid value "archive": expected delete, compact or compact,delete"#,
            r#"kafka.env:7: KAFKA_SASL_ENABLED_MECHANISMS: invalid value "SCRAM-SHA-256,GSSAPI": expected a comma-separated list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"#,
            r#"kafka.env:8: KAFKA_SECURITY_PROTOCOL: invalid value "TLS": expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"#,
            r#"kafka.env:9: TDA_JOBS_RETENTION_MS: invalid value "-5": expected an integer of milliseconds >= -1, or empty"#,
            r#"kafka.env:10: KAFKA_DEFAULT_PARTITIONS: invalid value "0": expected a positive integer"#,
        ]
    );
    // Invalid values leave the value of the layer below.
    assert_eq!(l.config.broker_count, 3);
}

#[test]
fn bad_secret_values_are_masked() {
    // Secrets accept any text, so a bad value can only come from elsewhere;
    // the mask itself is what we check.
    let key = tda_kafka_config::keys::lookup("KAFKA_SASL_PASSWORD").unwrap();
    assert_eq!(key.mask("hunter2"), "***");
    let l = ConfigLoader::new()
        .process_env([("KAFKA_SASL_PASSWORD", "hunter2")])
        .check();
    assert!(!format!("{l:?}").contains("hunter2"));
    let json = serde_json::to_string(&l.provenance).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
}

#[test]
fn replication_factor_above_broker_count() {
    let l = load_text("KAFKA_BROKER_COUNT=1\n");
    assert_eq!(
        errors(&l.report),
        vec!["kafka.env:1: KAFKA_BROKER_COUNT: broker count 1 is below the replication factor 3 (use at least 3 brokers or set KAFKA_DEFAULT_REPLICATION_FACTOR (and KAFKA_MIN_INSYNC_REPLICAS) to at most 1)"]
    );
    let l = load_text("KAFKA_BROKER_COUNT=2\nKAFKA_DEFAULT_REPLICATION_FACTOR=3\n");
    assert_eq!(
        errors(&l.report),
        vec!["kafka.env:2: KAFKA_DEFAULT_REPLICATION_FACTOR: replication factor 3 is above the broker count 2 (use at most 2 or raise KAFKA_BROKER_COUNT)"]
    );
    let l = load_text(
        "KAFKA_BROKER_COUNT=1\nKAFKA_DEFAULT_REPLICATION_FACTOR=1\nKAFKA_MIN_INSYNC_REPLICAS=1\n",
    );
    assert!(l.report.is_empty(), "{}", l.report);
}

#[test]
fn min_isr_above_replication_factor() {
    let l = load_text("KAFKA_DEFAULT_REPLICATION_FACTOR=2\nKAFKA_MIN_INSYNC_REPLICAS=3\n");
    assert_eq!(
        errors(&l.report),
        vec!["kafka.env:2: KAFKA_MIN_INSYNC_REPLICAS: min.insync.replicas 3 is above the replication factor 2 (producers with acks=all could never write)"]
    );
}

#[test]
fn min_isr_equal_to_replication_factor_warns_in_production() {
    let mut c = ConfigLoader::new()
        .environment(Some(Environment::Production))
        .env_text("kafka.env", PRODUCTION_TLS)
        .check()
        .config;
    c.min_insync_replicas = 3;
    let r = validate(&c);
    assert!(!r.has_errors(), "{r}");
    assert_eq!(warnings(&r).len(), 1, "{r}");
}

#[test]
fn partitions_below_one() {
    let mut c = ClusterConfig {
        num_partitions: 0,
        ..ClusterConfig::default()
    };
    c.topics[0].partitions = 0;
    assert_eq!(
        errors(&validate(&c)),
        vec![
            "KAFKA_NUM_PARTITIONS: partitions must be at least 1, not 0",
            "TDA_JOBS_PARTITIONS: topic tda_jobs: partitions must be at least 1, not 0",
        ]
    );
}

#[test]
fn topic_names_follow_kafka_rules() {
    assert_eq!(topic_name_error("tda_jobs"), None);
    assert_eq!(topic_name_error("a.b-c_D9"), None);
    assert_eq!(topic_name_error(&"x".repeat(249)), None);
    for bad in ["", ".", "..", "has space", "tda/jobs", "ümlaut"] {
        assert!(topic_name_error(bad).is_some(), "{bad:?}");
    }
    assert!(topic_name_error(&"x".repeat(250))
        .unwrap()
        .contains("at most 249"));

    let mut c = ClusterConfig::default();
    for name in ["bad name", "..", "tda.jobs", "my.mixed_name", "__internal"] {
        c.topics.push(TopicSpec::new(name, 1));
    }
    let r = validate(&c);
    assert_eq!(
        errors(&r),
        vec![
            r#"topic bad name: topic name "bad name" contains ' ': only ASCII letters, digits, '.', '_' and '-' are allowed"#,
            r#"topic ..: topic name ".." is not allowed"#,
            "topic tda.jobs: topic names tda.jobs and tda_jobs collide: Kafka treats '.' and '_' alike",
        ]
    );
    assert_eq!(
        warnings(&r),
        vec![
            "topic my.mixed_name: topic name mixes '.' and '_'; Kafka metrics treat them alike and such names may collide",
            "topic __internal: names starting with '__' are reserved for Kafka's internal topics",
        ]
    );
}

#[test]
fn per_topic_replication_and_isr() {
    let mut c = ClusterConfig::default();
    let mut t = TopicSpec::new("wide", 1);
    t.replication_factor = Some(5);
    c.topics.push(t);
    let mut t = TopicSpec::new("strict", 1);
    t.replication_factor = Some(2);
    t.min_insync_replicas = Some(3);
    c.topics.push(t);
    assert_eq!(
        errors(&validate(&c)),
        vec![
            "topic wide: replication factor 5 is above the broker count 3",
            "topic strict: min.insync.replicas 3 is above the replication factor 2",
        ]
    );
}

#[test]
fn production_with_auto_create_is_an_error() {
    let l = ConfigLoader::new()
        .env_text(
            "kafka.env",
            format!(
                "ENVIRONMENT=production\nKAFKA_AUTO_CREATE_TOPICS_ENABLE=true\n{PRODUCTION_TLS}"
            ),
        )
        .check();
    assert_eq!(
        errors(&l.report),
        vec!["kafka.env:2: KAFKA_AUTO_CREATE_TOPICS_ENABLE: auto-create of topics is enabled in production (set KAFKA_AUTO_CREATE_TOPICS_ENABLE=false; create topics explicitly)"]
    );
    // Development allows it (the seed's default).
    assert!(load_text("KAFKA_AUTO_CREATE_TOPICS_ENABLE=true\n")
        .report
        .is_empty());
}

#[test]
fn port_collisions() {
    let l = load_text("TDA_KAFKA_CONTROLLER_PORT_BASE=19094\nTDA_KAFKA_UI_PORT=19095\n");
    assert_eq!(
        errors(&l.report),
        vec![
            "kafka.env:1: TDA_KAFKA_CONTROLLER_PORT_BASE: controller ports 19094-19096 and broker ports 19092-19094 overlap (change TDA_KAFKA_CONTROLLER_PORT_BASE or TDA_KAFKA_PORT_BASE)",
            "kafka.env:2: TDA_KAFKA_UI_PORT: Kafka UI port 19095 and controller ports 19094-19096 overlap (change TDA_KAFKA_UI_PORT or TDA_KAFKA_CONTROLLER_PORT_BASE)",
        ]
    );
    let l = load_text("TDA_KAFKA_PORT_BASE=65534\n");
    assert_eq!(
        errors(&l.report),
        vec![
            "kafka.env:1: TDA_KAFKA_PORT_BASE: broker ports 65534..=65536 do not fit in 1..=65535"
        ]
    );
    let l = load_text("TDA_KAFKA_JMX_PORT_BASE=8080\n");
    assert_eq!(
        errors(&l.report),
        vec![
            "kafka.env:1: TDA_KAFKA_JMX_PORT_BASE: JMX ports 8080-8082 and Schema Registry port 8081 overlap (change TDA_KAFKA_JMX_PORT_BASE or TDA_SCHEMA_REGISTRY_PORT)",
            "kafka.env:1: TDA_KAFKA_JMX_PORT_BASE: JMX ports 8080-8082 and Kafka UI port 8080 overlap (change TDA_KAFKA_JMX_PORT_BASE or TDA_KAFKA_UI_PORT)",
        ]
    );
    assert!(
        load_text("TDA_KAFKA_JMX_PORT_BASE=0\nTDA_KAFKA_UI_PORT=9101\n")
            .report
            .is_empty()
    );
}

#[test]
fn security_keys_required_by_the_protocol() {
    let l = load_text("KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\nKAFKA_SASL_ENABLED_MECHANISMS=PLAIN\nKAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL=SCRAM-SHA-512\n");
    let keys: Vec<String> = l.report.errors().map(|i| i.key.clone().unwrap()).collect();
    assert_eq!(
        keys,
        vec![
            "KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL",
            "KAFKA_SASL_USERNAME",
            "KAFKA_SASL_PASSWORD",
        ]
    );
    assert!(errors(&l.report)[0].contains("SCRAM-SHA-512 is not in KAFKA_SASL_ENABLED_MECHANISMS"));
    let l = load_text("KAFKA_SECURITY_PROTOCOL=SASL_SSL\n");
    assert_eq!(l.report.error_count(), 7, "{}", l.report);
    let complete = "KAFKA_SECURITY_PROTOCOL=SASL_SSL
KAFKA_SSL_KEYSTORE_LOCATION=/k.jks
KAFKA_SSL_KEYSTORE_PASSWORD=a
KAFKA_SSL_TRUSTSTORE_LOCATION=/t.jks
KAFKA_SSL_CA_LOCATION=/ca.pem
KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-256,SCRAM-SHA-512
KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL=SCRAM-SHA-512
KAFKA_SASL_USERNAME=tda
KAFKA_SASL_PASSWORD=b
";
    let l = load_text(complete);
    assert!(l.report.is_empty(), "{}", l.report);
    assert_eq!(l.config.security.protocol, SecurityProtocol::SaslSsl);
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "\
ENVIRONMENT=production
KAFKA_BROKER_COUNT=three
this line is broken
KAFKA_BROKR_COUNT=3
KAFKA_DEFAULT_REPLICATION_FACTOR=4
KAFKA_MIN_INSYNC_REPLICAS=5
KAFKA_AUTO_CREATE_TOPICS_ENABLE=true
TDA_KAFKA_UI_PORT=19092
KAFKA_SECURITY_PROTOCOL=PLAINTEXT
KAFKA_HEAP_OPTS=\"-Xmx1g
";
    let err = ConfigLoader::new()
        .env_text("kafka.env", text)
        .load()
        .unwrap_err();
    assert!(err.is_invalid_input());
    let ConfigError::Invalid { report } = &err else {
        panic!("{err}")
    };
    let lines: Vec<Option<usize>> = report.errors().map(|i| i.line).collect();
    assert_eq!(
        lines,
        vec![
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            Some(7),
            Some(8),
            Some(9),
            Some(10)
        ],
        "{report}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with("invalid configuration (9 error(s)):\nerror: kafka.env:2: "),
        "{shown}"
    );
}

#[test]
fn duplicate_keys_in_a_file_warn_and_the_last_wins() {
    let l = load_text("KAFKA_HEAP_SIZE=1G\nKAFKA_HEAP_SIZE=3G\n");
    assert_eq!(l.config.heap_size, "3G");
    assert_eq!(
        warnings(&l.report),
        vec!["kafka.env:2: KAFKA_HEAP_SIZE: set again; the value from line 1 is replaced"]
    );
}

#[test]
fn missing_env_file_is_an_error_naming_it() {
    let l = ConfigLoader::new()
        .env_file("/nonexistent/kafka.env")
        .check();
    let e = errors(&l.report);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("/nonexistent/kafka.env: cannot read env file:"),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// Topics file.

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn topics_file_adds_and_overrides_topics() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(
        dir.path(),
        "topics.yaml",
        "version: 1
topics:
  - name: tda_jobs
    partitions: 6
    cleanup_policy: delete
    retention_ms: 86400000
  - name: tda_audit
    partitions: 2
    replication_factor: 3
    min_insync_replicas: 2
    cleanup_policy: compact,delete
    configs:
      compression.type: lz4
",
    );
    let l = ConfigLoader::new().topics_file(&yaml).load().unwrap();
    let c = &l.config;
    assert_eq!(c.topics.len(), 6);
    assert_eq!(c.topic("tda_jobs").unwrap().partitions, 6);
    assert_eq!(c.topic("tda_jobs").unwrap().retention_ms, Some(86_400_000));
    let audit = c.topic("tda_audit").unwrap();
    assert_eq!(audit.topic_configs()["cleanup.policy"], "compact,delete");
    assert_eq!(audit.topic_configs()["compression.type"], "lz4");
    let from_file = Source::TopicsFile { path: yaml.clone() };
    assert_eq!(l.provenance.source("TDA_JOBS_PARTITIONS"), from_file);
    assert_eq!(l.provenance.topic_source("tda_audit"), Some(&from_file));
    assert_eq!(
        l.provenance.topic_source("tda_events"),
        Some(&Source::Default)
    );
    assert_eq!(c.topics_file.as_deref(), Some(yaml.as_path()));

    // JSON works too, and a TDA_<TOPIC>_* key wins over the file, with a warning.
    let json = write(
        dir.path(),
        "topics.json",
        r#"{"version": 1, "topics": [{"name": "tda_jobs", "partitions": 9, "cleanup_policy": "delete"}]}"#,
    );
    let l = ConfigLoader::new()
        .env_text("kafka.env", "TDA_JOBS_PARTITIONS=4\n")
        .topics_file(&json)
        .load()
        .unwrap();
    assert_eq!(l.config.topic("tda_jobs").unwrap().partitions, 4);
    assert_eq!(
        warnings(&l.report),
        vec![format!(
            "kafka.env:1: TDA_JOBS_PARTITIONS: overrides what the topics file {} says about tda_jobs",
            json.display()
        )]
    );
}

#[test]
fn topics_file_named_in_an_env_file_is_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "extra.yaml",
        "version: 1\ntopics:\n  - {name: extra, partitions: 1, cleanup_policy: delete}\n",
    );
    let env = write(dir.path(), "kafka.env", "TDA_TOPICS_FILE=extra.yaml\n");
    let l = ConfigLoader::new().env_file(&env).load().unwrap();
    assert!(l.config.topic("extra").is_some());
    assert_eq!(
        l.config.topics_file.as_deref(),
        Some(dir.path().join("extra.yaml").as_path())
    );
}

#[test]
fn topics_file_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad_type.yaml",
            "version: 1\ntopics:\n  - name: a\n    partitions: six\n    cleanup_policy: delete\n",
            Some(4),
            Some("topics[0].partitions"),
            "invalid type: string <3 characters>, expected i32",
        ),
        (
            "typo.yaml",
            "version: 1\ntopics:\n  - name: a\n    partitions: 1\n    cleanup_policy: delete\n    retention: 5\n",
            Some(6),
            Some("topics[0].retention"),
            "unknown field `retention`",
        ),
        (
            "policy.yaml",
            "version: 1\ntopics:\n  - name: a\n    partitions: 1\n    cleanup_policy: archive\n",
            Some(5),
            Some("topics[0].cleanup_policy"),
            "unknown variant `archive`",
        ),
        (
            "missing.json",
            "{\"version\": 1,\n \"topics\": [{\"name\": \"a\", \"partitions\": 1}]}",
            Some(2),
            Some("topics[0]"),
            "missing field `cleanup_policy`",
        ),
        (
            "version.yaml",
            "version: 2\ntopics: []\n",
            None,
            Some("version"),
            "unsupported version 2: expected 1",
        ),
    ];
    for (name, text, line, key, message) in cases {
        let path = write(dir.path(), name, text);
        let l = ConfigLoader::new().topics_file(&path).check();
        let issue = l
            .report
            .errors()
            .next()
            .unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(issue.path.as_deref(), Some(path.as_path()), "{name}");
        assert_eq!(issue.line, line, "{name}: {issue}");
        assert_eq!(issue.key.as_deref(), key, "{name}: {issue}");
        assert!(issue.message.starts_with(message), "{name}: {issue}");
        assert_eq!(issue.severity, Severity::Error);
    }
}

#[test]
fn topics_in_the_file_are_validated_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.yaml",
        "version: 1\ntopics:\n  - {name: 'bad name', partitions: 0, cleanup_policy: delete}\n  - {name: dup, partitions: 1, cleanup_policy: delete}\n  - {name: dup, partitions: 2, cleanup_policy: delete}\n",
    );
    let l = ConfigLoader::new().topics_file(&path).check();
    let e = errors(&l.report);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e
        .iter()
        .any(|m| m.contains("partitions must be at least 1")));
    assert!(e.iter().any(|m| m.contains("\"dup\" is listed twice")));
    assert!(e.iter().any(|m| m.contains("contains ' '")));
}

#[test]
fn topics_file_round_trips_through_yaml() {
    let file = TopicsFile::new(ClusterConfig::default().effective_topics());
    let text = file.to_yaml_string();
    let back = TopicsFile::from_yaml_str(&text, Path::new("t.yaml")).unwrap();
    assert_eq!(back, file);
}

#[test]
fn broken_lines_and_debug_output_never_repeat_secrets() {
    let text =
        "KAFKA_SASL_PASSWORD hunter2\nKAFKA_SSL_KEY_PASSWORD='hunter3'hunter4\nhunter5 word=1\n";
    let loader = ConfigLoader::new()
        .env_text("kafka.env", text)
        .process_env([("KAFKA_SSL_TRUSTSTORE_PASSWORD", "hunter6")])
        .set("KAFKA_SASL_PASSWORD", "hunter7");
    let debug = format!("{loader:?}");
    let l = loader.check();
    let parsed = tda_kafka_config::parse_env(text);
    let shown = format!("{debug}\n{}\n{l:?}\n{parsed:?}", l.report);
    for secret in [
        "hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert_eq!(
        errors(&l.report),
        vec![
            "kafka.env:1: expected KEY=VALUE, a # comment or a blank line",
            "kafka.env:2: KAFKA_SSL_KEY_PASSWORD: unexpected text after the closing quote (only a # comment may follow)",
            "kafka.env:3: invalid key: ' ' at column 8: a key is letters, digits and '_', not starting with a digit",
        ]
    );
}

#[test]
fn env_entry_debug_masks_secret_keys() {
    let p = tda_kafka_config::parse_env("KAFKA_SASL_PASSWORD=hunter2\nKAFKA_SASL_USERNAME=tda\n");
    let shown = format!("{:?}", p.entries);
    assert!(
        !shown.contains("hunter2") && shown.contains("tda"),
        "{shown}"
    );
}

#[test]
fn heap_size_is_reported_as_ignored_next_to_heap_opts() {
    let l = load_text("KAFKA_HEAP_SIZE=4G\nKAFKA_HEAP_OPTS=\"-Xmx1g -Xms1g\"\n");
    assert_eq!(
        warnings(&l.report),
        vec!["kafka.env:1: KAFKA_HEAP_SIZE: ignored because KAFKA_HEAP_OPTS is set"]
    );
    assert_eq!(l.config.heap_flags(), "-Xmx1g -Xms1g");
    assert!(load_text("KAFKA_HEAP_OPTS=\"-Xmx1g\"\n").report.is_empty());
}

#[test]
fn topic_issues_point_at_the_topics_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.yaml",
        "version: 1\ntopics:\n  - {name: wide, partitions: 1, replication_factor: 9, cleanup_policy: delete}\n",
    );
    let l = ConfigLoader::new().topics_file(&path).check();
    assert_eq!(
        errors(&l.report),
        vec![format!(
            "{}: topic wide: replication factor 9 is above the broker count 3",
            path.display()
        )]
    );
}

#[test]
fn a_backup_file_serves_as_a_topics_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "backup.yaml",
        "version: 1\ncreated_at_ms: 1700000000000\nbootstrap: 127.0.0.1:19092\ntopics:\n  - {name: restored, partitions: 2, cleanup_policy: compact}\ngroups:\n  - group: g\n    offsets: [{topic: restored, partition: 0, offset: 5}]\n",
    );
    let l = ConfigLoader::new().topics_file(&path).load().unwrap();
    assert_eq!(l.config.topic("restored").unwrap().partitions, 2);
    // Unknown top-level sections are still errors.
    let path = write(dir.path(), "typo.yaml", "version: 1\ntopic: []\n");
    let l = ConfigLoader::new().topics_file(&path).check();
    assert!(
        errors(&l.report)[0].contains("unknown field `topic`"),
        "{}",
        l.report
    );
}
