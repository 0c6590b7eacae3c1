//! Security rules: a generated (secured) cluster, the settings each protocol
//! needs, and what the production profile refuses.

use super::Ctx;
use crate::report::Issue;
use crate::{
    scram_value_error, ClusterConfig, Environment, HostnameVerification, SaslMechanism,
    SecurityProtocol,
};

/// Rules of a cluster whose TLS material and SCRAM users the local provider
/// generates (`TDA_KAFKA_TLS_DIR`).
fn check_secured(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    let s = &c.security;
    let p = s.protocol;
    if !s.generated() {
        if !s.scram_credentials.is_empty() {
            cx.issue(Issue::warning(
                Some("TDA_KAFKA_SCRAM_CREDENTIALS"),
                "ignored: only a generated cluster (TDA_KAFKA_TLS_DIR) creates SCRAM users",
            ));
        }
        return;
    }
    if !p.uses_tls() {
        cx.issue(
            Issue::error(
                Some("TDA_KAFKA_TLS_DIR"),
                format!(
                    "a generated cluster encrypts every listener, but KAFKA_SECURITY_PROTOCOL={p}"
                ),
            )
            .with_hint("set KAFKA_SECURITY_PROTOCOL=SASL_SSL or SSL, or remove TDA_KAFKA_TLS_DIR"),
        );
    }
    for (key, set) in [
        (
            "KAFKA_SSL_KEYSTORE_LOCATION",
            s.ssl_keystore_location.is_some(),
        ),
        (
            "KAFKA_SSL_TRUSTSTORE_LOCATION",
            s.ssl_truststore_location.is_some(),
        ),
    ] {
        if set {
            cx.issue(Issue::warning(
                Some(key),
                "ignored: TDA_KAFKA_TLS_DIR generates the node keystores",
            ));
        }
    }
    if !p.uses_sasl() {
        return;
    }
    if s.sasl_enabled_mechanisms.contains(&SaslMechanism::Plain)
        || s.sasl_mechanism_inter_broker_protocol == Some(SaslMechanism::Plain)
    {
        cx.issue(
            Issue::error(
                Some("KAFKA_SASL_ENABLED_MECHANISMS"),
                "a generated cluster supports SCRAM-SHA-256 and SCRAM-SHA-512 only, not PLAIN",
            )
            .with_hint("set KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-512,SCRAM-SHA-256"),
        );
    }
    if let Some(u) = &s.sasl_username {
        if let Some(why) =
            scram_value_error(u).or_else(|| u.contains(':').then(|| "contains ':'".into()))
        {
            cx.issue(Issue::error(
                Some("KAFKA_SASL_USERNAME"),
                format!("the user name {why}"),
            ));
        }
    }
    if let Some(why) = s
        .sasl_password
        .as_ref()
        .and_then(|pw| scram_value_error(pw.expose()))
    {
        cx.issue(Issue::error(
            Some("KAFKA_SASL_PASSWORD"),
            format!("the password {why}"),
        ));
    }
    for (i, u) in s.scram_credentials.iter().enumerate() {
        let n = i + 1;
        if let Some(why) = scram_value_error(&u.name) {
            cx.issue(Issue::error(
                Some("TDA_KAFKA_SCRAM_CREDENTIALS"),
                format!("the user name of entry {n} {why}"),
            ));
        }
        if let Some(why) = scram_value_error(u.password.expose()) {
            cx.issue(Issue::error(
                Some("TDA_KAFKA_SCRAM_CREDENTIALS"),
                format!("the password of entry {n} ({}) {why}", u.name),
            ));
        }
    }
}

pub(super) fn check_security(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    check_secured(c, cx);
    if c.environment == Environment::Production {
        check_production(c, cx);
    }
    let s = &c.security;
    let p = s.protocol;
    let proto = "KAFKA_SECURITY_PROTOCOL";
    let mut missing = |key: &str, why: &str| {
        cx.issue(
            Issue::error(
                Some(key),
                format!("missing: {why} needs it (KAFKA_SECURITY_PROTOCOL={p})"),
            )
            .with_hint(format!("set {key} or change {proto}")),
        );
    };
    if p.uses_tls() && !s.generated() {
        if s.ssl_keystore_location.is_none() {
            missing("KAFKA_SSL_KEYSTORE_LOCATION", "a TLS listener");
        }
        if s.ssl_keystore_password.is_none() {
            missing("KAFKA_SSL_KEYSTORE_PASSWORD", "a TLS listener");
        }
        if s.ssl_truststore_location.is_none() {
            missing("KAFKA_SSL_TRUSTSTORE_LOCATION", "inter-broker TLS");
        }
    }
    if p.uses_sasl() {
        if s.sasl_enabled_mechanisms.is_empty() {
            missing("KAFKA_SASL_ENABLED_MECHANISMS", "SASL");
        }
        if s.sasl_mechanism_inter_broker_protocol.is_none() {
            missing("KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL", "SASL");
        }
        if s.sasl_username.is_none() {
            missing("KAFKA_SASL_USERNAME", "a SASL client");
        }
        if s.sasl_password.is_none() {
            missing("KAFKA_SASL_PASSWORD", "a SASL client");
        }
    }
    if let Some(m) = s.sasl_mechanism_inter_broker_protocol {
        if p.uses_sasl()
            && !s.sasl_enabled_mechanisms.is_empty()
            && !s.sasl_enabled_mechanisms.contains(&m)
        {
            cx.issue(Issue::error(
                Some("KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"),
                format!("{m} is not in KAFKA_SASL_ENABLED_MECHANISMS"),
            ));
        }
    }
    if p.uses_tls() && s.ca_location().is_none() {
        cx.issue(Issue::warning(
            Some("KAFKA_SSL_CA_LOCATION"),
            "not set: our clients verify the brokers against the system CA store",
        ));
    }
    let tls_keys = [
        (
            "KAFKA_SSL_KEYSTORE_LOCATION",
            s.ssl_keystore_location.is_some(),
        ),
        (
            "KAFKA_SSL_KEYSTORE_PASSWORD",
            s.ssl_keystore_password.is_some(),
        ),
        ("KAFKA_SSL_KEY_PASSWORD", s.ssl_key_password.is_some()),
        (
            "KAFKA_SSL_TRUSTSTORE_LOCATION",
            s.ssl_truststore_location.is_some(),
        ),
        (
            "KAFKA_SSL_TRUSTSTORE_PASSWORD",
            s.ssl_truststore_password.is_some(),
        ),
        ("KAFKA_SSL_CA_LOCATION", s.ssl_ca_location.is_some()),
    ];
    if !p.uses_tls() {
        for (key, set) in tls_keys {
            if set {
                cx.issue(Issue::warning(
                    Some(key),
                    format!("ignored: KAFKA_SECURITY_PROTOCOL={p} does not use TLS"),
                ));
            }
        }
    }
    let sasl_keys = [
        (
            "KAFKA_SASL_ENABLED_MECHANISMS",
            !s.sasl_enabled_mechanisms.is_empty(),
        ),
        (
            "KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL",
            s.sasl_mechanism_inter_broker_protocol.is_some(),
        ),
        ("KAFKA_SASL_USERNAME", s.sasl_username.is_some()),
        ("KAFKA_SASL_PASSWORD", s.sasl_password.is_some()),
    ];
    if !p.uses_sasl() {
        for (key, set) in sasl_keys {
            if set {
                cx.issue(Issue::warning(
                    Some(key),
                    format!("ignored: KAFKA_SECURITY_PROTOCOL={p} does not use SASL"),
                ));
            }
        }
    }
}

/// The production profile never runs without encryption and authentication
/// (the seed's "Security Features" are required there, not optional).
fn check_production(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    let s = &c.security;
    let staging = "or use ENVIRONMENT=staging for an unsecured cluster";
    match s.protocol {
        SecurityProtocol::Plaintext => cx.issue(
            Issue::error(
                Some("KAFKA_SECURITY_PROTOCOL"),
                "production refuses PLAINTEXT: data and logins would cross the network unencrypted and unauthenticated",
            )
            .with_hint(format!(
                "set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SSL) with TDA_KAFKA_TLS_DIR (generated certificates) or your own keystores, {staging}"
            )),
        ),
        SecurityProtocol::SaslPlaintext => cx.issue(
            Issue::error(
                Some("KAFKA_SECURITY_PROTOCOL"),
                "production refuses SASL_PLAINTEXT: passwords and data would cross the network unencrypted",
            )
            .with_hint(format!("set KAFKA_SECURITY_PROTOCOL=SASL_SSL, {staging}")),
        ),
        SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {}
    }
    if s.protocol.uses_tls() && s.hostname_verification == HostnameVerification::None {
        cx.issue(
            Issue::error(
                Some("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM"),
                "production refuses disabled certificate verification: any certificate from the CA would be accepted for any broker",
            )
            .with_hint("set KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=https (the default) and give each broker a certificate naming its host"),
        );
    }
}
