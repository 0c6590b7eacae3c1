//! Layering and provenance of `ConfigLoader`.

use std::io::Write;

use tda_kafka_config::{ConfigLoader, Environment, Source};

fn env_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".env").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn layers_apply_in_order_and_record_their_source() {
    let file = env_file("KAFKA_BROKER_COUNT=3\nKAFKA_NUM_IO_THREADS=4\nKAFKA_HEAP_SIZE=1G\n");
    let loaded = ConfigLoader::new()
        .env_file(file.path())
        .process_env([
            ("KAFKA_NUM_IO_THREADS", "6"),
            ("KAFKA_HEAP_SIZE", "3G"),
            ("UNRELATED_VAR", "x"),
            ("TDA_KAFKA_TEST_BOOTSTRAP", "127.0.0.1:1"),
        ])
        .set("KAFKA_HEAP_SIZE", "4G")
        .load()
        .unwrap();
    let c = &loaded.config;
    assert_eq!((c.broker_count, c.num_io_threads), (3, 6));
    assert_eq!(c.heap_size, "4G");
    let p = &loaded.provenance;
    assert_eq!(
        p.source("KAFKA_BROKER_COUNT"),
        Source::EnvFile {
            path: file.path().to_path_buf(),
            line: 1
        }
    );
    assert_eq!(p.source("KAFKA_NUM_IO_THREADS"), Source::ProcessEnv);
    assert_eq!(p.source("KAFKA_HEAP_SIZE"), Source::Override);
    assert_eq!(p.source("KAFKA_NUM_NETWORK_THREADS"), Source::Default);
    assert_eq!(
        p.get("KAFKA_HEAP_SIZE").unwrap().value.as_deref(),
        Some("4G")
    );
}

#[test]
fn the_highest_layer_setting_environment_chooses_the_profile() {
    let file = env_file("ENVIRONMENT=production\nKAFKA_AUTO_CREATE_TOPICS_ENABLE=false\n");
    let loaded = ConfigLoader::new()
        .env_file(file.path())
        .process_env([("ENVIRONMENT", "development")])
        .environment(Some(Environment::Staging))
        .load()
        .unwrap();
    assert_eq!(loaded.config.environment, Environment::Staging);
    assert_eq!(loaded.config.heap_size, "8G");
    assert_eq!(
        loaded.provenance.source("KAFKA_HEAP_SIZE"),
        Source::Profile {
            environment: Environment::Staging
        }
    );
    assert_eq!(loaded.provenance.source("ENVIRONMENT"), Source::Override);

    // (Production also refuses the profile's PLAINTEXT; the profile is what is checked here.)
    let from_file = ConfigLoader::new().env_file(file.path()).check();
    assert_eq!(from_file.config.environment, Environment::Production);
    assert_eq!(from_file.config.num_network_threads, 16);
}

#[test]
fn secrets_are_masked_in_provenance_and_errors() {
    let file = env_file(
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL\nKAFKA_SASL_PASSWORD='hunter2'\nKAFKA_SSL_KEYSTORE_PASSWORD=\"pw 1\"\n",
    );
    let loaded = ConfigLoader::new().env_file(file.path()).check();
    let shown = format!("{:?} {}", loaded.provenance, loaded.report);
    assert!(
        !shown.contains("hunter2") && !shown.contains("pw 1"),
        "{shown}"
    );
    assert_eq!(
        loaded
            .provenance
            .get("KAFKA_SASL_PASSWORD")
            .unwrap()
            .value
            .as_deref(),
        Some("***")
    );
    assert_eq!(
        loaded
            .config
            .security
            .sasl_password
            .as_ref()
            .unwrap()
            .expose(),
        "hunter2"
    );
}

#[test]
fn unknown_file_keys_are_errors_with_a_suggestion() {
    let file = env_file("KAFKA_BROKER_CONUT=3\nKAFKA_BROKER_COUNT=three\n");
    let err = ConfigLoader::new()
        .env_file(file.path())
        .load()
        .unwrap_err();
    let report = err.report().expect("an invalid-config error");
    let lines: Vec<String> = report.errors().map(ToString::to_string).collect();
    let path = file.path().display();
    assert_eq!(
        lines,
        vec![
            format!("{path}:1: KAFKA_BROKER_CONUT: unknown key (did you mean KAFKA_BROKER_COUNT?)"),
            format!("{path}:2: KAFKA_BROKER_COUNT: invalid value \"three\": expected a positive integer"),
        ]
    );
}

#[test]
fn empty_process_variables_mean_unset_unless_the_key_is_optional() {
    let file = env_file("\u{feff}KAFKA_BROKER_COUNT=1\nKAFKA_DEFAULT_REPLICATION_FACTOR=1\nKAFKA_MIN_INSYNC_REPLICAS=1\nKAFKA_HEAP_OPTS=\"-Xmx1g\"\n");
    let loaded = ConfigLoader::new()
        .env_file(file.path())
        .process_env([("KAFKA_BROKER_COUNT", ""), ("KAFKA_HEAP_OPTS", "")])
        .load()
        .unwrap();
    assert_eq!(loaded.config.broker_count, 1);
    assert_eq!(loaded.config.heap_opts, None);
    assert_eq!(
        loaded.provenance.source("KAFKA_HEAP_OPTS"),
        Source::ProcessEnv
    );
}
