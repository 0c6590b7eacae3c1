//! The companion services of the stack: schema registry, Kafka Connect,
//! ksqlDB, the UI (Kafka UI, or our console in the `local` set) and Redis
//! (those the options select and the image set has).

use std::collections::BTreeMap;

use tda_kafka_config::SecretString;

use super::{
    env, health, Cx, Parts, PortSpec, Role, SecretFile, ServiceSpec, VolumeMount, SECRETS_MOUNT_DIR,
};
use crate::dist::registry_env;
use crate::docker::images::{ImageSet, APICURIO_INTERNAL_PORT, PLUGIN_DIR, REGISTRY_DATA_DIR};

/// The file name of Redis's secret configuration (`requirepass`), in
/// [`SECRETS_MOUNT_DIR`] and in the service's host directory.
const REDIS_SECRETS_FILE: &str = "redis-secrets.conf";

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
        let mut volumes = Vec::new();
        let (mut environment, check) = match cx.set {
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
            // Apicurio behind the root-path proxy on 8081 (the image's
            // entrypoint), its H2 database on a named volume.
            ImageSet::Local => {
                let data = cx.vol(&key, "data");
                out.volumes.push(data.clone());
                volumes.push(VolumeMount {
                    volume: data,
                    target: REGISTRY_DATA_DIR.into(),
                });
                (
                    env(&[
                        ("QUARKUS_HTTP_HOST", "127.0.0.1".into()),
                        ("QUARKUS_HTTP_PORT", APICURIO_INTERNAL_PORT.to_string()),
                        (
                            "APICURIO_DATASOURCE_URL",
                            format!("jdbc:h2:file:{REGISTRY_DATA_DIR}/db/registry"),
                        ),
                        ("JAVA_TOOL_OPTIONS", format!("-Xmx{}", cx.options.heap)),
                    ]),
                    "curl -fsS http://localhost:8081/subjects",
                )
            }
            ImageSet::Apache => (
                env(&[
                    ("QUARKUS_HTTP_HOST", "0.0.0.0".into()),
                    ("QUARKUS_HTTP_PORT", "8081".into()),
                    ("JAVA_TOOL_OPTIONS", format!("-Xmx{}", cx.options.heap)),
                ]),
                "curl -fsS http://localhost:8081/apis/ccompat/v7/subjects",
            ),
        };
        if cx.set != ImageSet::Confluent {
            environment.extend(registry_env());
        }
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::SchemaRegistry,
            image: image.clone(),
            command: Vec::new(),
            environment,
            ports: vec![cx.port(cx.config.network.schema_registry_port, 8081)],
            volumes,
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
            (
                "CONNECT_GROUP_ID",
                cx.config.services.connect_group_id.clone(),
            ),
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
            (
                "CONNECT_PLUGIN_PATH",
                match cx.set {
                    ImageSet::Local => PLUGIN_DIR,
                    _ => "/usr/share/java",
                }
                .into(),
            ),
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
        if cx.set == ImageSet::Local {
            // Only the image's own plugins (Kafka's, with manifests).
            environment.insert(
                "CONNECT_PLUGIN_DISCOVERY".into(),
                cx.config.services.connect_plugin_discovery().into(),
            );
        }
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
        let published = cx.port(cx.config.network.ui_port, 8080);
        let mut service = match cx.set {
            ImageSet::Local => console(cx, registry_image.is_some(), &published),
            _ => kafka_ui(
                cx,
                registry_image.is_some(),
                connect_image.is_some(),
                ksql_image.is_some(),
            ),
        };
        service.image = image.clone();
        service.ports = vec![published];
        let mut depends_on = broker_keys.to_vec();
        if registry_image.is_some() {
            depends_on.push("schema-registry".into());
        }
        if connect_image.is_some() {
            depends_on.push("kafka-connect".into());
        }
        service.depends_on = depends_on;
        out.services.push(service);
    }

    if let Some(image) = &redis_image {
        let key = "redis".to_string();
        let data = cx.vol(&key, "data");
        out.volumes.push(data.clone());
        // A password reaches Redis only in a mounted 0600 config file
        // (`requirepass`), given as redis-server's first argument.
        let (config_file, secret_files) = match &cx.config.services.redis_password {
            Some(pw) => {
                let target = format!("{SECRETS_MOUNT_DIR}/{REDIS_SECRETS_FILE}");
                let file = SecretFile {
                    host_file: format!("{key}/{REDIS_SECRETS_FILE}"),
                    target_path: target.clone(),
                    contents: SecretString::new(format!("requirepass {}\n", pw.expose())),
                };
                (vec![target], vec![file])
            }
            None => (Vec::new(), Vec::new()),
        };
        let options = ["--appendonly", "yes", "--dir", "/data"].map(String::from);
        out.services.push(ServiceSpec {
            container_name: cx.options.container_name(&key),
            key,
            role: Role::Redis,
            image: image.clone(),
            command: match cx.set {
                // The local image's entrypoint is redis-server itself.
                ImageSet::Local => config_file
                    .into_iter()
                    .chain(["--bind", "0.0.0.0", "--protected-mode", "no"].map(String::from))
                    .chain(options)
                    .collect(),
                _ => std::iter::once("redis-server".to_string())
                    .chain(config_file)
                    .chain(options)
                    .collect(),
            },
            environment: BTreeMap::new(),
            ports: vec![cx.port(cx.config.network.redis_port, 6379)],
            volumes: vec![VolumeMount {
                volume: data,
                target: "/data".into(),
            }],
            healthcheck: health(&["CMD", "redis-cli", "ping"], 5, 10, 5),
            depends_on: Vec::new(),
            secret_files,
        });
    }
}

fn ui_service(cx: &Cx<'_>) -> ServiceSpec {
    let key = "kafka-ui".to_string();
    ServiceSpec {
        container_name: cx.options.container_name(&key),
        key,
        role: Role::Ui,
        image: String::new(),
        command: Vec::new(),
        environment: BTreeMap::new(),
        ports: Vec::new(),
        volumes: Vec::new(),
        healthcheck: None,
        depends_on: Vec::new(),
        secret_files: Vec::new(),
    }
}

/// Our web console (`tda-kafka ui`, the `local` set): it reaches the stack
/// by its in-network names and listens on every address of the container.
/// Its port is published on `published` (the host address, 127.0.0.1 by
/// default), which it is told: the console's rule (authentication off
/// loopback) applies to that address, so a stack published beyond loopback
/// gets a console that refuses to start without credentials.
fn console(cx: &Cx<'_>, registry: bool, published: &PortSpec) -> ServiceSpec {
    let mut command = vec![
        "--listen=0.0.0.0:8080".to_string(),
        format!("--published={}:{}", published.host_ip, published.host_port),
        format!("--bootstrap={}", cx.internal_bootstrap),
        "--connect=http://kafka-connect:8083".into(),
        "--redis=redis:6379".into(),
    ];
    command.push(if registry {
        "--registry=http://schema-registry:8081".into()
    } else {
        "--no-registry".into()
    });
    if cx.config.uses_zookeeper() {
        // The overview shows the ensemble, reached by its in-network names.
        let nodes = super::zookeeper::addresses(cx);
        command.push(format!("--zookeeper={}", nodes.join(",")));
    }
    ServiceSpec {
        command,
        healthcheck: health(
            &["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:8080/"],
            5,
            30,
            5,
        ),
        ..ui_service(cx)
    }
}

/// provectuslabs/kafka-ui (the public image sets), configured by environment.
fn kafka_ui(cx: &Cx<'_>, registry: bool, connect: bool, ksqldb: bool) -> ServiceSpec {
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
    if registry {
        environment.insert(
            "KAFKA_CLUSTERS_0_SCHEMAREGISTRY".into(),
            "http://schema-registry:8081".into(),
        );
    }
    if connect {
        environment.insert(
            "KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME".into(),
            "connect".into(),
        );
        environment.insert(
            "KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS".into(),
            "http://kafka-connect:8083".into(),
        );
    }
    if ksqldb {
        environment.insert(
            "KAFKA_CLUSTERS_0_KSQLDBSERVER".into(),
            "http://ksqldb:8088".into(),
        );
    }
    ServiceSpec {
        environment,
        healthcheck: health(
            &[
                "CMD-SHELL",
                "wget -qO- http://localhost:8080/actuator/health",
            ],
            10,
            30,
            30,
        ),
        ..ui_service(cx)
    }
}
