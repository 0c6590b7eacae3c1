//! The companion services of the stack: schema registry, Kafka Connect,
//! ksqlDB, Kafka UI and Redis (those the options select and the image set has).

use std::collections::BTreeMap;

use super::{env, health, Cx, Parts, Role, ServiceSpec, VolumeMount};
use crate::docker::images::ImageSet;

/// Adds the selected companion services, which depend on `broker_keys`.
pub(super) fn companions(cx: &Cx<'_>, broker_keys: &[String], out: &mut Parts) {
    let sv = cx.options.services;
    let mut want = |on: bool, image: &Option<String>, name: &str| -> Option<String> {
        if !on {
            return None;
        }
        match image {
            Some(i) => Some(i.clone()),
            None => {
                out.skipped.push(format!(
                    "{name}: the {set} image set has no image for it (public images only; use --images confluent or apache)",
                    set = cx.set
                ));
                None
            }
        }
    };
    let registry_image = want(
        sv.schema_registry,
        &cx.images.schema_registry,
        "schema-registry",
    );
    let connect_image = want(sv.connect, &cx.images.connect, "kafka-connect");
    let ksql_image = want(sv.ksqldb, &cx.images.ksqldb, "ksqldb");
    let ui_image = want(sv.ui, &cx.images.ui, "kafka-ui");
    let redis_image = want(sv.redis, &cx.images.redis, "redis");

    if let Some(image) = &registry_image {
        let key = "schema-registry".to_string();
        let (environment, check) = match cx.set {
            ImageSet::Confluent => (
                env(&[
                    ("SCHEMA_REGISTRY_HOST_NAME", key.clone()),
                    (
                        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS",
                        cx.internal_bootstrap.clone(),
                    ),
                    ("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081".into()),
                    ("SCHEMA_REGISTRY_HEAP_OPTS", cx.heap.clone()),
                ]),
                "curl -fsS http://localhost:8081/subjects",
            ),
            _ => (
                env(&[
                    ("QUARKUS_HTTP_HOST", "0.0.0.0".into()),
                    ("QUARKUS_HTTP_PORT", "8081".into()),
                    ("JAVA_TOOL_OPTIONS", format!("-Xmx{}", cx.options.heap)),
                ]),
                "curl -fsS http://localhost:8081/apis/ccompat/v7/subjects",
            ),
        };
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::SchemaRegistry,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![cx.port(cx.config.network.schema_registry_port, 8081)],
            volumes: Vec::new(),
            healthcheck: health(&["CMD-SHELL", check], 5, 30, 10),
            depends_on: broker_keys.to_vec(),
            secret_files: Vec::new(),
        });
    }

    if let Some(image) = &connect_image {
        let key = "kafka-connect".to_string();
        let rf = cx.config.replication_for(cx.config.broker_count).factor;
        let mut environment = env(&[
            ("CONNECT_BOOTSTRAP_SERVERS", cx.internal_bootstrap.clone()),
            ("CONNECT_LISTENERS", "http://0.0.0.0:8083".into()),
            ("CONNECT_REST_ADVERTISED_HOST_NAME", key.clone()),
            ("CONNECT_GROUP_ID", format!("{}-connect", cx.options.name)),
            ("CONNECT_CONFIG_STORAGE_TOPIC", "_connect-configs".into()),
            ("CONNECT_OFFSET_STORAGE_TOPIC", "_connect-offsets".into()),
            ("CONNECT_STATUS_STORAGE_TOPIC", "_connect-status".into()),
            ("CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            ("CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            ("CONNECT_STATUS_STORAGE_REPLICATION_FACTOR", rf.to_string()),
            (
                "CONNECT_KEY_CONVERTER",
                "org.apache.kafka.connect.json.JsonConverter".into(),
            ),
            (
                "CONNECT_VALUE_CONVERTER",
                "org.apache.kafka.connect.json.JsonConverter".into(),
            ),
            ("CONNECT_PLUGIN_PATH", "/usr/share/java".into()),
            ("KAFKA_HEAP_OPTS", cx.heap.clone()),
        ]);
        let mut command = Vec::new();
        if cx.set == ImageSet::Apache {
            // apache/kafka has no Connect entrypoint: write the worker
            // properties from CONNECT_* (same convention) and run it.
            command = vec![
                "/bin/sh".into(),
                "-c".into(),
                "env | sed -n 's/^CONNECT_//p' | while IFS='=' read -r k v; do echo \"$(echo \"$k\" | tr 'A-Z_' 'a-z.')=$v\"; done > /tmp/connect.properties && exec /opt/kafka/bin/connect-distributed.sh /tmp/connect.properties".into(),
            ];
        }
        environment.insert(
            "CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE".into(),
            "false".into(),
        );
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::Connect,
            image: image.clone(),
            command,
            environment,
            ports: vec![cx.port(cx.config.network.connect_port, 8083)],
            volumes: Vec::new(),
            healthcheck: health(
                &["CMD-SHELL", "curl -fsS http://localhost:8083/"],
                10,
                30,
                20,
            ),
            depends_on: broker_keys.to_vec(),
            secret_files: Vec::new(),
        });
    }

    if let Some(image) = &ksql_image {
        let key = "ksqldb".to_string();
        let mut environment = env(&[
            ("KSQL_BOOTSTRAP_SERVERS", cx.internal_bootstrap.clone()),
            ("KSQL_LISTENERS", "http://0.0.0.0:8088".into()),
            ("KSQL_KSQL_SERVICE_ID", format!("{}_ksql_", cx.options.name)),
            ("KSQL_HEAP_OPTS", cx.heap.clone()),
        ]);
        if registry_image.is_some() {
            environment.insert(
                "KSQL_KSQL_SCHEMA_REGISTRY_URL".into(),
                "http://schema-registry:8081".into(),
            );
        }
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::Ksqldb,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![cx.port(cx.config.network.ksqldb_port, 8088)],
            volumes: Vec::new(),
            healthcheck: health(
                &["CMD-SHELL", "curl -fsS http://localhost:8088/info"],
                10,
                30,
                30,
            ),
            depends_on: broker_keys.to_vec(),
            secret_files: Vec::new(),
        });
    }

    if let Some(image) = &ui_image {
        let key = "kafka-ui".to_string();
        let mut environment = env(&[
            (
                "KAFKA_CLUSTERS_0_NAME",
                format!("{}-cluster", cx.options.name),
            ),
            (
                "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS",
                cx.internal_bootstrap.clone(),
            ),
            ("DYNAMIC_CONFIG_ENABLED", "true".into()),
        ]);
        let mut depends_on = broker_keys.to_vec();
        if registry_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_SCHEMAREGISTRY".into(),
                "http://schema-registry:8081".into(),
            );
            depends_on.push("schema-registry".into());
        }
        if connect_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME".into(),
                "connect".into(),
            );
            environment.insert(
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS".into(),
                "http://kafka-connect:8083".into(),
            );
            depends_on.push("kafka-connect".into());
        }
        if ksql_image.is_some() {
            environment.insert(
                "KAFKA_CLUSTERS_0_KSQLDBSERVER".into(),
                "http://ksqldb:8088".into(),
            );
        }
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::Ui,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![cx.port(cx.config.network.ui_port, 8080)],
            volumes: Vec::new(),
            healthcheck: health(
                &[
                    "CMD-SHELL",
                    "wget -qO- http://localhost:8080/actuator/health",
                ],
                10,
                30,
                30,
            ),
            depends_on,
            secret_files: Vec::new(),
        });
    }

    if let Some(image) = &redis_image {
        let key = "redis".to_string();
        let data = cx.vol(&key, "data");
        out.volumes.push(data.clone());
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::Redis,
            image: image.clone(),
            command: match cx.set {
                // The local image's entrypoint is redis-server itself.
                ImageSet::Local => ["--bind", "0.0.0.0", "--protected-mode", "no"]
                    .into_iter()
                    .chain(["--appendonly", "yes", "--dir", "/data"])
                    .map(String::from)
                    .collect(),
                _ => ["redis-server", "--appendonly", "yes", "--dir", "/data"]
                    .map(String::from)
                    .to_vec(),
            },
            environment: BTreeMap::new(),
            ports: vec![cx.port(cx.config.network.redis_port, 6379)],
            volumes: vec![VolumeMount {
                volume: data,
                target: "/data".into(),
            }],
            healthcheck: health(&["CMD", "redis-cli", "ping"], 5, 10, 5),
            depends_on: Vec::new(),
            secret_files: Vec::new(),
        });
    }
}
