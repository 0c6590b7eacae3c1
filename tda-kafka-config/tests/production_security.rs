//! The production profile refuses what would leave a cluster open: plaintext
//! listeners, SASL without TLS and disabled certificate verification. The
//! same settings stay allowed in development and staging.

use tda_kafka_config::{ConfigLoader, Environment, LoadedConfig};

/// A complete SASL_SSL client configuration, apart from the protocol line.
const SASL_KEYS: &str = "KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-512
KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL=SCRAM-SHA-512
KAFKA_SASL_USERNAME=tda
KAFKA_SASL_PASSWORD=sentinel-7f3a
";

/// The keystores a TLS listener needs.
const TLS_KEYS: &str = "KAFKA_SSL_KEYSTORE_LOCATION=/k.jks
KAFKA_SSL_KEYSTORE_PASSWORD=a
KAFKA_SSL_TRUSTSTORE_LOCATION=/t.jks
KAFKA_SSL_CA_LOCATION=/ca.pem
";

fn load(env: Environment, text: &str) -> LoadedConfig {
    ConfigLoader::new()
        .environment(Some(env))
        .env_text("kafka.env", text)
        .check()
}

fn errors(l: &LoadedConfig) -> Vec<String> {
    l.report.errors().map(ToString::to_string).collect()
}

#[test]
fn plaintext_is_refused_in_production_with_file_line_and_a_fix() {
    let l = load(
        Environment::Production,
        "KAFKA_SECURITY_PROTOCOL=PLAINTEXT\n",
    );
    let e = errors(&l);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("kafka.env:1: KAFKA_SECURITY_PROTOCOL: production refuses PLAINTEXT"),
        "{e:?}"
    );
    assert!(
        e[0].contains("set KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        "{e:?}"
    );
    assert!(
        load(Environment::Staging, "KAFKA_SECURITY_PROTOCOL=PLAINTEXT\n")
            .report
            .is_empty()
    );
}

#[test]
fn sasl_without_tls_is_refused_in_production_and_never_shows_the_password() {
    let text = format!("KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n{SASL_KEYS}");
    let l = load(Environment::Production, &text);
    let e = errors(&l);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("kafka.env:1: KAFKA_SECURITY_PROTOCOL: production refuses SASL_PLAINTEXT"),
        "{e:?}"
    );
    assert!(!format!("{} {:?}", l.report, l.report).contains("sentinel-7f3a"));
    assert!(!load(Environment::Development, &text).report.has_errors());
}

#[test]
fn disabled_certificate_verification_is_refused_in_production() {
    let text = format!(
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL\n{SASL_KEYS}{TLS_KEYS}KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=\n"
    );
    let e = errors(&load(Environment::Production, &text));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "kafka.env:10: KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: production refuses disabled certificate verification"
        ),
        "{e:?}"
    );
    assert!(!load(Environment::Staging, &text).report.has_errors());
}

#[test]
fn sasl_ssl_and_ssl_with_verification_are_accepted_in_production() {
    for text in [
        format!("KAFKA_SECURITY_PROTOCOL=SASL_SSL\n{SASL_KEYS}{TLS_KEYS}"),
        format!("KAFKA_SECURITY_PROTOCOL=SSL\n{TLS_KEYS}"),
    ] {
        let l = load(Environment::Production, &text);
        assert!(!l.report.has_errors(), "{}", l.report);
    }
}
