//! Every kafka.env example block of the seed README, copied literally, parses
//! and loads into the typed values it spells out.

use tda_kafka_config::{
    parse_env, CleanupPolicy, ConfigLoader, Environment, LoadedConfig, SaslMechanism,
    SecurityProtocol, Source,
};

/// "Configuration / Environment Variables".
const ENVIRONMENT_VARIABLES: &str = r#"# Basic Configuration
ENVIRONMENT=development
KAFKA_BROKER_COUNT=3
KAFKA_DEFAULT_PARTITIONS=3

# Performance Tuning
KAFKA_HEAP_SIZE=2G
KAFKA_NUM_NETWORK_THREADS=8
KAFKA_NUM_IO_THREADS=8

# TDA-specific Topics
TDA_JOBS_PARTITIONS=3
TDA_RESULTS_PARTITIONS=3
TDA_EVENTS_PARTITIONS=1
"#;

/// "Development Settings (Default)".
const DEVELOPMENT_SETTINGS: &str = r#"# Reduced resource requirements
KAFKA_HEAP_SIZE=2G
KAFKA_DEFAULT_REPLICATION_FACTOR=3
KAFKA_MIN_INSYNC_REPLICAS=2

# Faster startup
KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=3000
KAFKA_AUTO_CREATE_TOPICS_ENABLE=true
"#;

/// "Production Overrides".
const PRODUCTION_OVERRIDES: &str = r#"# Uncomment in kafka.env for production
KAFKA_HEAP_SIZE=32G
KAFKA_NUM_PARTITIONS=12
KAFKA_AUTO_CREATE_TOPICS_ENABLE=false
KAFKA_DELETE_TOPIC_ENABLE=false

# Enhanced performance
KAFKA_NUM_NETWORK_THREADS=16
KAFKA_NUM_IO_THREADS=16
"#;

/// "Security Features / Authentication & Authorization".
const SECURITY: &str = r#"# SSL/TLS Configuration
KAFKA_SECURITY_PROTOCOL=SSL
KAFKA_SSL_KEYSTORE_LOCATION=/etc/kafka/secrets/kafka.keystore.jks

# SASL Authentication
KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-256
KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL=SCRAM-SHA-256
"#;

/// "JVM Tuning": the part marked "(in kafka.env)".
const JVM_TUNING_KAFKA_ENV: &str = r#"# Heap sizing (in kafka.env)
KAFKA_HEAP_OPTS="-Xmx32g -Xms32g"

# GC optimization
KAFKA_JVM_PERFORMANCE_OPTS="-XX:+UseG1GC -XX:MaxGCPauseMillis=20"
"#;

/// "JVM Tuning", the whole block: its last two lines are shell commands for
/// the OS, not kafka.env content.
const JVM_TUNING_WHOLE_BLOCK: &str = r#"# Heap sizing (in kafka.env)
KAFKA_HEAP_OPTS="-Xmx32g -Xms32g"

# GC optimization
KAFKA_JVM_PERFORMANCE_OPTS="-XX:+UseG1GC -XX:MaxGCPauseMillis=20"

# OS-level optimization
echo 'vm.swappiness=1' >> /etc/sysctl.conf
echo 'vm.dirty_ratio=80' >> /etc/sysctl.conf
"#;

fn load(label: &str, text: &str, env: Option<Environment>) -> LoadedConfig {
    ConfigLoader::new()
        .env_text(label, text)
        .environment(env)
        .check()
}

fn assert_parses(text: &str) {
    let parsed = parse_env(text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let assignments = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(parsed.entries.len(), assignments);
}

#[test]
fn environment_variables_block() {
    assert_parses(ENVIRONMENT_VARIABLES);
    let l = load("kafka.env", ENVIRONMENT_VARIABLES, None);
    assert!(l.report.is_empty(), "{}", l.report);
    let c = &l.config;
    assert_eq!(c.environment, Environment::Development);
    assert_eq!((c.broker_count, c.default_partitions), (3, 3));
    assert_eq!(c.heap_size, "2G");
    assert_eq!((c.num_network_threads, c.num_io_threads), (8, 8));
    let parts: Vec<i32> = ["tda_jobs", "tda_results", "tda_events"]
        .iter()
        .map(|t| c.topic(t).unwrap().partitions)
        .collect();
    assert_eq!(parts, vec![3, 3, 1]);
    assert_eq!(
        l.provenance.source("TDA_EVENTS_PARTITIONS"),
        Source::EnvFile {
            path: "kafka.env".into(),
            line: 14
        }
    );
}

#[test]
fn development_block() {
    assert_parses(DEVELOPMENT_SETTINGS);
    let l = load("kafka.env", DEVELOPMENT_SETTINGS, None);
    assert!(l.report.is_empty(), "{}", l.report);
    let c = &l.config;
    assert_eq!(
        (c.default_replication_factor, c.min_insync_replicas),
        (3, 2)
    );
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert!(c.auto_create_topics_enable);
}

/// What the seed's security block leaves out for SSL: the keystore password
/// and the truststore.
const SECURITY_COMPLETION: &str = "KAFKA_SSL_KEYSTORE_PASSWORD=changeit
KAFKA_SSL_TRUSTSTORE_LOCATION=/etc/kafka/secrets/kafka.truststore.jks
";

#[test]
fn production_block_alone_is_refused_for_plaintext() {
    assert_parses(PRODUCTION_OVERRIDES);
    let l = load(
        "kafka.env",
        PRODUCTION_OVERRIDES,
        Some(Environment::Production),
    );
    let errors: Vec<String> = l.report.errors().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("KAFKA_SECURITY_PROTOCOL: production refuses PLAINTEXT"),
        "{errors:?}"
    );
}

#[test]
fn production_block_with_the_security_block_is_valid_in_production() {
    let text = format!("{PRODUCTION_OVERRIDES}{SECURITY}{SECURITY_COMPLETION}");
    assert_parses(&text);
    let l = load("kafka.env", &text, Some(Environment::Production));
    assert!(!l.report.has_errors(), "{}", l.report);
    let c = &l.config;
    assert_eq!(c.heap_size, "32G");
    assert_eq!(c.num_partitions, 12);
    assert!(!c.auto_create_topics_enable && !c.delete_topic_enable);
    assert_eq!((c.num_network_threads, c.num_io_threads), (16, 16));
    assert_eq!(c.heap_flags(), "-Xmx32G -Xms32G");
}

#[test]
fn development_block_in_production_is_rejected_for_auto_create() {
    let text = format!("{DEVELOPMENT_SETTINGS}{SECURITY}{SECURITY_COMPLETION}");
    let l = load("kafka.env", &text, Some(Environment::Production));
    let errors: Vec<String> = l.report.errors().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("kafka.env:8: KAFKA_AUTO_CREATE_TOPICS_ENABLE: "),
        "{errors:?}"
    );
}

#[test]
fn security_block_parses_and_names_what_ssl_still_needs() {
    assert_parses(SECURITY);
    let l = load("kafka.env", SECURITY, None);
    let s = &l.config.security;
    assert_eq!(s.protocol, SecurityProtocol::Ssl);
    assert_eq!(
        s.ssl_keystore_location.as_deref(),
        Some("/etc/kafka/secrets/kafka.keystore.jks")
    );
    assert_eq!(s.sasl_enabled_mechanisms, vec![SaslMechanism::ScramSha256]);
    assert_eq!(
        s.sasl_mechanism_inter_broker_protocol,
        Some(SaslMechanism::ScramSha256)
    );
    let errors: Vec<&str> = l
        .report
        .errors()
        .map(|i| i.key.as_deref().unwrap())
        .collect();
    assert_eq!(
        errors,
        vec![
            "KAFKA_SSL_KEYSTORE_PASSWORD",
            "KAFKA_SSL_TRUSTSTORE_LOCATION"
        ]
    );
    // The SASL keys do nothing under SSL: warned at their lines.
    let warned: Vec<String> = l.report.warnings().map(ToString::to_string).collect();
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("kafka.env:6: KAFKA_SASL_ENABLED_MECHANISMS: ignored")),
        "{warned:?}"
    );
}

#[test]
fn jvm_tuning_block() {
    assert_parses(JVM_TUNING_KAFKA_ENV);
    let l = load("kafka.env", JVM_TUNING_KAFKA_ENV, None);
    assert!(l.report.is_empty(), "{}", l.report);
    assert_eq!(l.config.heap_opts.as_deref(), Some("-Xmx32g -Xms32g"));
    assert_eq!(l.config.heap_flags(), "-Xmx32g -Xms32g");
    assert_eq!(
        l.config.jvm_performance_opts,
        "-XX:+UseG1GC -XX:MaxGCPauseMillis=20"
    );
}

#[test]
fn the_os_commands_of_the_jvm_block_are_not_kafka_env() {
    let parsed = parse_env(JVM_TUNING_WHOLE_BLOCK);
    assert_eq!(parsed.entries.len(), 2);
    let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![8, 9]);
}

#[test]
fn seed_topic_table() {
    let c = load("kafka.env", "", None).config;
    let rows: Vec<(&str, i32, Option<i64>, CleanupPolicy)> = c
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.partitions,
                t.retention_ms,
                t.cleanup_policy,
            )
        })
        .collect();
    let day = 86_400_000;
    assert_eq!(
        rows,
        vec![
            ("tda_jobs", 3, Some(7 * day), CleanupPolicy::Delete),
            ("tda_results", 3, Some(30 * day), CleanupPolicy::Compact),
            ("tda_events", 1, Some(14 * day), CleanupPolicy::Delete),
            ("tda_uploads", 2, Some(3 * day), CleanupPolicy::Delete),
            ("tda_errors", 1, Some(30 * day), CleanupPolicy::Delete),
        ]
    );
}
