//! The Kafka brokers of the stack, KRaft or ZooKeeper mode as the
//! configuration says: listeners, broker properties as `KAFKA_*` variables,
//! and their secret properties as a mounted file, never as variables.

use std::collections::BTreeMap;

use tda_kafka_config::Properties;

use super::{
    health, Cx, Parts, Role, SecretFile, ServiceSpec, VolumeMount, CONTROLLER_PORT,
    INTERNAL_KAFKA_PORT,
};
use crate::docker::images::ImageSet;

/// Where a service's secret files are mounted in its container.
pub const SECRETS_MOUNT_DIR: &str = "/run/secrets/tda-kafka";
/// The file name of a broker's secret properties (in [`SECRETS_MOUNT_DIR`]
/// and in the service's host directory).
pub const SECRET_PROPERTIES_FILE: &str = "server-secrets.properties";
/// The variable that tells the local image's entrypoint which mounted file
/// of secret properties to append to the broker's properties.
pub const SECRET_PROPERTIES_ENV: &str = "TDA_KAFKA_SECRET_PROPERTIES";

/// `log.dirs` -> `KAFKA_LOG_DIRS`: the apache/kafka and cp-kafka convention
/// (`.` -> `_`, `_` -> `__`, `-` -> `___`, upper case).
pub fn property_env_name(prefix: &str, key: &str) -> String {
    let mut out = String::from(prefix);
    for c in key.chars() {
        match c {
            '.' => out.push('_'),
            '_' => out.push_str("__"),
            '-' => out.push_str("___"),
            c => out.push(c.to_ascii_uppercase()),
        }
    }
    out
}

/// The secret file of broker `key` holding the `secret` properties, and the
/// variables that make the image read it: the local image's entrypoint
/// appends the file named by [`SECRET_PROPERTIES_ENV`]; the public images get
/// Kafka's `FileConfigProvider` and a `${file:...}` reference per secret key
/// (a reference, not the value).
fn secret_properties(
    cx: &Cx<'_>,
    key: &str,
    secret: &Properties,
    environment: &mut BTreeMap<String, String>,
) -> Vec<SecretFile> {
    if !secret.has_secrets() {
        return Vec::new();
    }
    let target = format!("{SECRETS_MOUNT_DIR}/{SECRET_PROPERTIES_FILE}");
    match cx.set {
        ImageSet::Local => {
            environment.insert(SECRET_PROPERTIES_ENV.into(), target.clone());
        }
        ImageSet::Apache | ImageSet::Confluent => {
            environment.insert("KAFKA_CONFIG_PROVIDERS".into(), "file".into());
            environment.insert(
                "KAFKA_CONFIG_PROVIDERS_FILE_CLASS".into(),
                "org.apache.kafka.common.config.provider.FileConfigProvider".into(),
            );
            for (k, _) in secret.secrets() {
                environment.insert(
                    property_env_name("KAFKA_", k),
                    format!("${{file:{target}:{k}}}"),
                );
            }
        }
    }
    vec![SecretFile {
        host_file: format!("{key}/{SECRET_PROPERTIES_FILE}"),
        target_path: target,
        contents: secret.to_secret_text(),
    }]
}

/// Adds the Kafka brokers: internal listener kafka-N:9092 for containers,
/// external 127.0.0.1:1909x for the host, controller listener kafka-N:9093
/// (KRaft) or `broker.id` and `zookeeper.connect` to the ensemble `zk_keys`
/// (ZooKeeper mode: no controller listener, no storage format).
pub(super) fn brokers(cx: &Cx<'_>, zk_keys: &[String], out: &mut Parts) {
    let host = &cx.host;
    let zookeeper = cx.config.uses_zookeeper();
    let image = cx
        .images
        .kafka_for(cx.config.metadata)
        .unwrap_or(cx.images.kafka.as_str())
        .to_string();
    for n in &cx.brokers {
        let key = format!("kafka-{n}");
        let external = cx.config.network.kafka_port(*n);
        let data = cx.vol(&key, "data");
        out.volumes.push(data.clone());
        let mut props = cx.config.broker_properties(*n, "/var/lib/kafka/data");
        props.set(
            "listeners",
            format!(
                "INTERNAL://0.0.0.0:{INTERNAL_KAFKA_PORT},EXTERNAL://0.0.0.0:{external}{}",
                if zookeeper {
                    String::new()
                } else {
                    format!(",CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")
                }
            ),
        );
        props.set(
            "advertised.listeners",
            format!("INTERNAL://{key}:{INTERNAL_KAFKA_PORT},EXTERNAL://{host}:{external}"),
        );
        let protocol = cx.config.security.protocol.as_str();
        props.set(
            "listener.security.protocol.map",
            format!(
                "INTERNAL:{protocol},EXTERNAL:{protocol}{}",
                if zookeeper {
                    ""
                } else {
                    ",CONTROLLER:PLAINTEXT"
                }
            ),
        );
        props.set("inter.broker.listener.name", "INTERNAL");
        super::security::broker(cx, *n, &mut props);
        if zookeeper {
            // The configuration's ZooKeeper-mode properties name the host's
            // ports; inside the stack network the nodes are `zookeeper-N`.
            props.set("zookeeper.connect", super::zookeeper::connect(cx));
        } else {
            props.set(
                "controller.quorum.voters",
                cx.brokers
                    .iter()
                    .map(|id| format!("{id}@kafka-{id}:{CONTROLLER_PORT}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let (public, secret) = props.split_secrets();
        let mut environment: BTreeMap<String, String> = public
            .iter()
            .map(|(k, v)| (property_env_name("KAFKA_", k), v.to_string()))
            .collect();
        let mut secret_files = secret_properties(cx, &key, &secret, &mut environment);
        secret_files.extend(super::security::format_args(cx, &key, &mut environment));
        environment.insert("KAFKA_HEAP_OPTS".into(), cx.heap.clone());
        environment.insert(
            "KAFKA_JVM_PERFORMANCE_OPTS".into(),
            cx.config.jvm_performance_opts.clone(),
        );
        if !zookeeper {
            environment.insert("CLUSTER_ID".into(), cx.options.cluster_id());
        }
        let mut ports = vec![cx.port(external, external)];
        if let Some(jmx) = cx.config.network.jmx_port(*n) {
            environment.insert("KAFKA_JMX_PORT".into(), jmx.to_string());
            environment.insert("KAFKA_JMX_HOSTNAME".into(), cx.host.clone());
            ports.push(cx.port(jmx, jmx));
        }
        let healthcheck = match cx.set {
            ImageSet::Confluent => health(
                &[
                    "CMD-SHELL",
                    "kafka-broker-api-versions --bootstrap-server localhost:9092",
                ],
                30,
                5,
                30,
            ),
            ImageSet::Apache => health(&["CMD-SHELL", "nc -z localhost 9092"], 5, 30, 10),
            ImageSet::Local => health(
                &["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9092"],
                5,
                30,
                10,
            ),
        };
        out.services.push(ServiceSpec {
            key: key.clone(),
            role: Role::Broker(*n),
            container_name: cx.options.container_name(&key),
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports,
            volumes: vec![VolumeMount {
                volume: data,
                target: "/var/lib/kafka/data".into(),
            }],
            healthcheck,
            depends_on: zk_keys.to_vec(),
            secret_files,
        });
    }
}
