//! The rows of the key table for where the cluster listens (`TDA_*` ports,
//! host) and how clients authenticate (`KAFKA_SECURITY_*`, SSL, SASL).

use super::*;

pub(super) static NETWORK_KEYS: &[Key] = &[
    Key {
        name: "TDA_KAFKA_HOST",
        doc: "Address the nodes bind to and advertise.",
        expected: "a host name or IP address",
        secret: false,
        set: |c, v| {
            c.network.host = host(v)?;
            Ok(())
        },
        get: |c| Some(c.network.host.clone()),
    },
    Key {
        name: "TDA_KAFKA_PORT_BASE",
        doc: "Client port of node 1; node i uses base + i - 1 (seed: 19092).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.kafka_base_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.kafka_base_port.to_string()),
    },
    Key {
        name: "TDA_KAFKA_CONTROLLER_PORT_BASE",
        doc: "KRaft controller port of node 1; node i uses base + i - 1.",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.controller_base_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.controller_base_port.to_string()),
    },
    Key {
        name: "TDA_KAFKA_JMX_PORT_BASE",
        doc: "JMX port of node 1 (seed: 9101); 0 disables JMX.",
        expected: "a port number 0..=65535",
        secret: false,
        set: |c, v| {
            c.network.jmx_base_port = non_negative(v)?;
            Ok(())
        },
        get: |c| Some(c.network.jmx_base_port.to_string()),
    },
    Key {
        name: "TDA_SCHEMA_REGISTRY_PORT",
        doc: "Schema Registry port (seed: 8081).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.schema_registry_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.schema_registry_port.to_string()),
    },
    Key {
        name: "TDA_SCHEMA_REGISTRY_INTERNAL_PORT",
        doc: "Port of the registry process behind the root-path proxy on TDA_SCHEMA_REGISTRY_PORT (local provider).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.schema_registry_internal_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.schema_registry_internal_port.to_string()),
    },
    Key {
        name: "TDA_CONNECT_PORT",
        doc: "Kafka Connect REST port (seed: 8083).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.connect_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.connect_port.to_string()),
    },
    Key {
        name: "TDA_KAFKA_UI_PORT",
        doc: "Kafka UI port (seed: 8080).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.ui_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.ui_port.to_string()),
    },
    Key {
        name: "TDA_KSQLDB_PORT",
        doc: "ksqlDB server port (seed: 8088).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.ksqldb_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.ksqldb_port.to_string()),
    },
    Key {
        name: "TDA_REDIS_PORT",
        doc: "Redis port (seed: 6379).",
        expected: "a port number 1..=65535",
        secret: false,
        set: |c, v| {
            c.network.redis_port = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.network.redis_port.to_string()),
    },
];

pub(super) static SECURITY_KEYS: &[Key] = &[
    Key {
        name: "KAFKA_SECURITY_PROTOCOL",
        doc: "Client listener protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
        expected: "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
        secret: false,
        set: |c, v| {
            c.security.protocol = v.parse().map_err(|_| ())?;
            Ok(())
        },
        get: |c| Some(c.security.protocol.to_string()),
    },
    Key {
        name: "KAFKA_SSL_KEYSTORE_LOCATION",
        doc: "Broker keystore (JKS or PKCS12) for TLS listeners.",
        expected: "a file path",
        secret: false,
        set: |c, v| {
            c.security.ssl_keystore_location = optional(v);
            Ok(())
        },
        get: |c| c.security.ssl_keystore_location.clone(),
    },
    Key {
        name: "KAFKA_SSL_KEYSTORE_PASSWORD",
        doc: "Password of the keystore (secret).",
        expected: "a password",
        secret: true,
        set: |c, v| {
            c.security.ssl_keystore_password = secret(v);
            Ok(())
        },
        get: |c| {
            c.security
                .ssl_keystore_password
                .as_ref()
                .map(|s| s.expose().to_string())
        },
    },
    Key {
        name: "KAFKA_SSL_KEY_PASSWORD",
        doc: "Password of the private key in the keystore (secret).",
        expected: "a password",
        secret: true,
        set: |c, v| {
            c.security.ssl_key_password = secret(v);
            Ok(())
        },
        get: |c| {
            c.security
                .ssl_key_password
                .as_ref()
                .map(|s| s.expose().to_string())
        },
    },
    Key {
        name: "KAFKA_SSL_TRUSTSTORE_LOCATION",
        doc: "Broker truststore for TLS (inter-broker and client authentication).",
        expected: "a file path",
        secret: false,
        set: |c, v| {
            c.security.ssl_truststore_location = optional(v);
            Ok(())
        },
        get: |c| c.security.ssl_truststore_location.clone(),
    },
    Key {
        name: "KAFKA_SSL_TRUSTSTORE_PASSWORD",
        doc: "Password of the truststore (secret).",
        expected: "a password",
        secret: true,
        set: |c, v| {
            c.security.ssl_truststore_password = secret(v);
            Ok(())
        },
        get: |c| {
            c.security
                .ssl_truststore_password
                .as_ref()
                .map(|s| s.expose().to_string())
        },
    },
    Key {
        name: "KAFKA_SSL_CA_LOCATION",
        doc: "PEM CA file our (librdkafka) clients use to verify the brokers.",
        expected: "a file path",
        secret: false,
        set: |c, v| {
            c.security.ssl_ca_location = optional(v);
            Ok(())
        },
        get: |c| c.security.ssl_ca_location.clone(),
    },
    Key {
        name: "KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM",
        doc: "https: clients check that the broker certificate names the host; empty turns that off (refused in production).",
        expected: "https or empty",
        secret: false,
        set: |c, v| {
            c.security.hostname_verification = match v.trim().to_ascii_lowercase().as_str() {
                "https" => HostnameVerification::Https,
                "" | "none" => HostnameVerification::None,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| {
            Some(match c.security.hostname_verification {
                HostnameVerification::Https => "https".into(),
                HostnameVerification::None => String::new(),
            })
        },
    },
    Key {
        name: "TDA_KAFKA_TLS_DIR",
        doc: "Directory of the CA the local provider generates when missing (ca.pem, ca.key); node certificates are issued from it at every start. Replaces the keystore/truststore keys.",
        expected: "a directory path",
        secret: false,
        set: |c, v| {
            c.security.tls_dir = optional(v);
            Ok(())
        },
        get: |c| c.security.tls_dir.clone(),
    },
    Key {
        name: "TDA_KAFKA_SCRAM_CREDENTIALS",
        doc: "SCRAM users created with the storage, besides KAFKA_SASL_USERNAME: user:password[,user:password...] (secret).",
        expected: "user:password pairs separated by commas",
        secret: true,
        set: |c, v| {
            c.security.scram_credentials = scram_credentials(v)?;
            Ok(())
        },
        get: |c| {
            let users = &c.security.scram_credentials;
            (!users.is_empty()).then(|| {
                users
                    .iter()
                    .map(|u| format!("{}:{}", u.name, u.password.expose()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        },
    },
    Key {
        name: "KAFKA_SASL_ENABLED_MECHANISMS",
        doc: "Comma-separated SASL mechanisms the brokers accept.",
        expected: "a comma-separated list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        secret: false,
        set: |c, v| {
            c.security.sasl_enabled_mechanisms = mechanisms(v)?;
            Ok(())
        },
        get: |c| {
            let m = &c.security.sasl_enabled_mechanisms;
            (!m.is_empty()).then(|| m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(","))
        },
    },
    Key {
        name: "KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL",
        doc: "SASL mechanism between brokers; must be one of the enabled mechanisms.",
        expected: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
        secret: false,
        set: |c, v| {
            c.security.sasl_mechanism_inter_broker_protocol = match optional(v) {
                None => None,
                Some(m) => Some(m.parse().map_err(|_| ())?),
            };
            Ok(())
        },
        get: |c| {
            c.security
                .sasl_mechanism_inter_broker_protocol
                .map(|m| m.to_string())
        },
    },
    Key {
        name: "KAFKA_SASL_USERNAME",
        doc: "SASL principal our clients log in as.",
        expected: "a user name",
        secret: false,
        set: |c, v| {
            c.security.sasl_username = optional(v);
            Ok(())
        },
        get: |c| c.security.sasl_username.clone(),
    },
    Key {
        name: "KAFKA_SASL_PASSWORD",
        doc: "SASL password of KAFKA_SASL_USERNAME (secret).",
        expected: "a password",
        secret: true,
        set: |c, v| {
            c.security.sasl_password = secret(v);
            Ok(())
        },
        get: |c| {
            c.security
                .sasl_password
                .as_ref()
                .map(|s| s.expose().to_string())
        },
    },
];

fn scram_credentials(v: &str) -> Result<Vec<ScramCredential>, ()> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, password) = p.split_once(':').ok_or(())?;
            if name.is_empty() || password.is_empty() {
                return Err(());
            }
            Ok(ScramCredential {
                name: name.to_owned(),
                password: SecretString::new(password),
            })
        })
        .collect()
}
