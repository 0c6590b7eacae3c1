//! Unit tests of the topology builder.

use super::*;

fn seed() -> Topology {
    build(&ClusterConfig::default(), &StackOptions::default())
}

#[test]
fn local_topology_has_the_seed_names_and_ports() {
    let t = seed();
    assert_eq!(t.network, "tda-kafka-network");
    let names = t.container_names();
    for n in [
        "tda_kafka_1",
        "tda_kafka_2",
        "tda_kafka_3",
        "tda_schema_registry",
        "tda_kafka_connect",
        "tda_redis",
        "tda_kafka_ui",
    ] {
        assert!(names.contains(&n.to_string()), "{n} missing in {names:?}");
    }
    // No local image for ksqlDB: skipped, with the reason.
    assert!(t.service("ksqldb").is_none());
    assert_eq!(t.skipped.len(), 1, "{:?}", t.skipped);
    let k1 = t.service("kafka-1").unwrap();
    let host_ports: Vec<u16> = k1.ports.iter().map(|p| p.host_port).collect();
    assert_eq!(host_ports, vec![19092, 9101]);
    assert!(k1.ports.iter().all(|p| p.host_ip == "127.0.0.1"));
    assert_eq!(
        k1.environment["KAFKA_ADVERTISED_LISTENERS"],
        "INTERNAL://kafka-1:9092,EXTERNAL://127.0.0.1:19092"
    );
    assert_eq!(
        k1.environment["KAFKA_CONTROLLER_QUORUM_VOTERS"],
        "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    );
    assert_eq!(k1.environment["KAFKA_HEAP_OPTS"], "-Xmx512m -Xms512m");
    assert_eq!(
        t.internal_bootstrap_servers,
        "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    );
    // The registry at the seed's root URL, its H2 database on a volume.
    assert_eq!(t.registry_url().as_deref(), Some("http://127.0.0.1:8081"));
    let reg = t.service("schema-registry").unwrap();
    assert_eq!(reg.image, super::super::images::local::SCHEMA_REGISTRY);
    assert_eq!(reg.volumes[0].volume, "tda_schema_registry_data");
    assert!(t.volumes.contains(&"tda_schema_registry_data".to_string()));
    assert_eq!(reg.environment["QUARKUS_HTTP_HOST"], "127.0.0.1");
    // Every subject is listed (Apicurio's own default stops at 1000).
    assert_eq!(
        reg.environment["APICURIO_CCOMPAT_MAX_SUBJECTS"],
        crate::dist::REGISTRY_SETTINGS[0].1
    );
    // Connect: FileStream plugins on its plugin path, the profile's RF,
    // the configuration's group.
    let connect = t.service("kafka-connect").unwrap();
    assert_eq!(
        connect.environment["CONNECT_PLUGIN_PATH"],
        "/opt/kafka/plugins"
    );
    assert_eq!(connect.environment["CONNECT_GROUP_ID"], "tda-connect");
    assert_eq!(
        connect.environment["CONNECT_PLUGIN_DISCOVERY"],
        "service_load"
    );
    assert_eq!(
        connect.environment["CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR"],
        "3"
    );
    // The console: in-network names, published on loopback only.
    let ui = t.service("kafka-ui").unwrap();
    assert_eq!(ui.image, super::super::images::local::CONSOLE);
    assert_eq!(
        ui.command,
        [
            "--listen=0.0.0.0:8080",
            "--published=127.0.0.1:8080",
            "--bootstrap=kafka-1:9092,kafka-2:9092,kafka-3:9092",
            "--connect=http://kafka-connect:8083",
            "--redis=redis:6379",
            "--registry=http://schema-registry:8081",
        ]
    );
    assert_eq!(ui.ports[0].host_ip, "127.0.0.1");
    assert_eq!(ui.ports[0].host_port, 8080);
    assert!(ui.environment.is_empty());
}

#[test]
fn connect_replication_is_fitted_to_one_broker() {
    let c = ClusterConfig {
        broker_count: 1,
        ..ClusterConfig::default()
    };
    let t = build(&c, &StackOptions::default());
    let connect = t.service("kafka-connect").unwrap();
    assert_eq!(
        connect.environment["CONNECT_STATUS_STORAGE_REPLICATION_FACTOR"],
        "1"
    );
}

#[test]
fn brokers_profile_has_no_service_container() {
    let opts = StackOptions {
        services: Services::profile("brokers").unwrap(),
        ..StackOptions::default()
    };
    let t = build(&ClusterConfig::default(), &opts);
    assert!(t.services.iter().all(|s| matches!(s.role, Role::Broker(_))));
    assert!(t.skipped.is_empty());
    let core = StackOptions {
        services: Services::profile("core").unwrap(),
        ..StackOptions::default()
    };
    let keys: Vec<String> = build(&ClusterConfig::default(), &core)
        .services
        .iter()
        .map(|s| s.key.clone())
        .collect();
    assert_eq!(keys, ["kafka-1", "kafka-2", "kafka-3", "schema-registry"]);
}

fn zookeeper_mode() -> ClusterConfig {
    ClusterConfig {
        metadata: tda_kafka_config::MetadataMode::Zookeeper,
        ..ClusterConfig::default()
    }
}

#[test]
fn confluent_set_runs_zookeeper_mode_and_every_service() {
    let opts = StackOptions {
        image_set: ImageSet::Confluent,
        ..StackOptions::default()
    };
    let t = build(&zookeeper_mode(), &opts);
    assert!(t.skipped.is_empty());
    for key in ["zookeeper-1", "zookeeper-3", "kafka-ui", "ksqldb"] {
        assert!(t.service(key).is_some(), "{key}");
    }
    let zk = t.service("zookeeper-2").unwrap();
    assert_eq!(zk.image, "confluentinc/cp-zookeeper:7.5.0");
    assert_eq!(
        zk.environment["ZOOKEEPER_SERVERS"],
        "zookeeper-1:2888:3888;zookeeper-2:2888:3888;zookeeper-3:2888:3888"
    );
    assert_eq!(
        zk.environment["KAFKA_OPTS"],
        "-Dzookeeper.4lw.commands.whitelist=ruok,srvr,mntr"
    );
    let k2 = t.service("kafka-2").unwrap();
    assert_eq!(k2.image, "confluentinc/cp-kafka:7.5.0");
    assert_eq!(k2.environment["KAFKA_BROKER_ID"], "2");
    assert!(!k2.environment.contains_key("KAFKA_PROCESS_ROLES"));
    assert_eq!(
        k2.environment["KAFKA_ZOOKEEPER_CONNECT"],
        "zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181/tda-kafka"
    );
    assert_eq!(k2.depends_on.len(), 3);
    // The mode is the configuration's: KRaft on the same images.
    let kraft = build(&ClusterConfig::default(), &opts);
    assert!(kraft.service("zookeeper-1").is_none());
    assert!(kraft.zookeeper.is_none());
    let k2 = kraft.service("kafka-2").unwrap();
    assert_eq!(k2.environment["KAFKA_PROCESS_ROLES"], "broker,controller");
    assert!(k2.environment.contains_key("CLUSTER_ID"));
}

#[test]
fn local_set_runs_zookeeper_mode_with_its_zookeeper_image() {
    let mut config = zookeeper_mode();
    config.zookeeper.client_port_base = 36181;
    let t = build(&config, &StackOptions::default());
    let zk_image = super::super::images::local::KAFKA_ZOOKEEPER;
    assert_eq!(t.zookeeper.as_ref(), Some(&config.zookeeper));
    let keys: Vec<&str> = t.services.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys[..6],
        [
            "zookeeper-1",
            "zookeeper-2",
            "zookeeper-3",
            "kafka-1",
            "kafka-2",
            "kafka-3"
        ]
    );
    for n in 1..=3u16 {
        let zk = t.service(&format!("zookeeper-{n}")).unwrap();
        assert_eq!(zk.role, Role::Zookeeper(n));
        assert_eq!(zk.container_name, format!("tda_zookeeper_{n}"));
        assert_eq!(zk.image, zk_image);
        // The host port is the configuration's, 2181 inside the network.
        assert_eq!(zk.ports.len(), 1);
        assert_eq!(
            (zk.ports[0].host_port, zk.ports[0].container_port),
            (36180 + n, 2181)
        );
        assert_eq!(zk.ports[0].host_ip, "127.0.0.1");
        assert_eq!(zk.environment["TDA_ZOOKEEPER_MYID"], n.to_string());
        assert_eq!(zk.volumes[0].volume, format!("tda_zookeeper_{n}_data"));
        assert_eq!(zk.volumes[0].target, "/var/lib/zookeeper/data");
        assert!(t.volumes.contains(&zk.volumes[0].volume));
        assert!(zk.depends_on.is_empty());
        // The entrypoint's `zookeeper` mode, with zoo.cfg's lines.
        assert_eq!(zk.command[0], "zookeeper");
        for line in [
            "clientPort=2181",
            "clientPortAddress=0.0.0.0",
            "dataDir=/var/lib/zookeeper/data",
            "4lw.commands.whitelist=ruok,srvr,mntr",
            "admin.enableServer=false",
            "server.1=zookeeper-1:2888:3888",
            "server.2=zookeeper-2:2888:3888",
            "server.3=zookeeper-3:2888:3888",
        ] {
            assert!(
                zk.command.iter().any(|l| l == line),
                "{line} in {:?}",
                zk.command
            );
        }
        assert!(zk.command.iter().all(|l| !l.starts_with('#')));
        let test = &zk.healthcheck.as_ref().unwrap().test;
        assert!(
            test.iter().any(|p| p.contains("/dev/tcp/127.0.0.1/2181")),
            "{test:?}"
        );
    }
    for n in 1..=3u16 {
        let k = t.service(&format!("kafka-{n}")).unwrap();
        let env = &k.environment;
        assert_eq!(k.image, zk_image);
        assert_eq!(env["KAFKA_BROKER_ID"], n.to_string());
        assert_eq!(
            env["KAFKA_ZOOKEEPER_CONNECT"],
            "zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181/tda-kafka"
        );
        assert_eq!(
            env["KAFKA_LISTENERS"],
            format!("INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:{}", 19091 + n)
        );
        assert_eq!(
            env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"],
            "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
        );
        assert_eq!(env["KAFKA_INTER_BROKER_LISTENER_NAME"], "INTERNAL");
        // No KRaft: no cluster id to format with, no roles, no controller.
        for kraft_only in [
            "CLUSTER_ID",
            "KAFKA_NODE_ID",
            "KAFKA_PROCESS_ROLES",
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
            "KAFKA_CONTROLLER_LISTENER_NAMES",
        ] {
            assert!(!env.contains_key(kraft_only), "{kraft_only} on kafka-{n}");
        }
        assert!(env.values().all(|v| !v.contains("CONTROLLER")), "{env:?}");
        assert_eq!(k.depends_on, ["zookeeper-1", "zookeeper-2", "zookeeper-3"]);
    }
    // The console's overview shows the ensemble by its in-network names.
    let ui = t.service("kafka-ui").unwrap();
    assert!(
        ui.command
            .contains(&"--zookeeper=zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181".into()),
        "{:?}",
        ui.command
    );
    // The same stack in KRaft mode has no ensemble and the KRaft image.
    let kraft = seed();
    let ui = kraft.service("kafka-ui").unwrap();
    assert!(ui.command.iter().all(|a| !a.starts_with("--zookeeper")));
    assert!(kraft.zookeeper.is_none());
    assert!(kraft.service("zookeeper-1").is_none());
    assert_eq!(
        kraft.service("kafka-1").unwrap().image,
        super::super::images::local::KAFKA
    );
}

#[test]
fn apache_set_has_no_ensemble_and_says_so() {
    let opts = StackOptions {
        image_set: ImageSet::Apache,
        ..StackOptions::default()
    };
    let t = build(&zookeeper_mode(), &opts);
    assert!(t.service("zookeeper-1").is_none());
    assert!(
        t.skipped
            .iter()
            .any(|s| s.contains("zookeeper") && s.contains("KRaft only")),
        "{:?}",
        t.skipped
    );
}

#[test]
fn env_names_follow_the_image_convention() {
    assert_eq!(property_env_name("KAFKA_", "log.dirs"), "KAFKA_LOG_DIRS");
    assert_eq!(property_env_name("KAFKA_", "a_b.c-d"), "KAFKA_A__B_C___D");
}

#[test]
fn cluster_id_is_stable_22_chars_and_per_stack() {
    let a = StackOptions::default().cluster_id();
    assert_eq!(a.len(), 22);
    assert_eq!(a, StackOptions::default().cluster_id());
    let b = StackOptions {
        name: "other".into(),
        ..StackOptions::default()
    }
    .cluster_id();
    assert_ne!(a, b);
}

#[test]
fn profiles_select_services() {
    let core = Services::profile("core").unwrap();
    assert!(core.schema_registry && !core.connect && !core.redis);
    let mut s = Services::all();
    assert!(s.disable("ksqldb"));
    assert!(!s.ksqldb);
    assert!(!s.disable("nope"));
}

fn ssl(password: &str) -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.security.protocol = tda_kafka_config::SecurityProtocol::Ssl;
    c.security.ssl_keystore_location = Some("/certs/k.jks".into());
    c.security.ssl_keystore_password = Some(SecretString::new(password));
    c.security.ssl_key_password = Some(SecretString::new(password));
    c.security.ssl_truststore_location = Some("/certs/t.jks".into());
    c.security.ssl_truststore_password = Some(SecretString::new(password));
    c
}

#[test]
fn broker_secrets_are_files_never_environment() {
    let sentinel = "Sentinel-Pa55-topology";
    for set in ImageSet::ALL {
        let opts = StackOptions {
            image_set: set,
            ..StackOptions::default()
        };
        let t = build(&ssl(sentinel), &opts);
        for shown in [
            format!("{t:?}"),
            format!("{t:#?}"),
            serde_json::to_string(&t).unwrap(),
        ] {
            assert!(!shown.contains(sentinel), "{set}: {shown}");
        }
        for s in &t.services {
            assert!(
                s.environment.values().all(|v| !v.contains(sentinel)),
                "{set} {}",
                s.key
            );
        }
        let k1 = t.service("kafka-1").unwrap();
        assert_eq!(
            k1.environment["KAFKA_SSL_KEYSTORE_LOCATION"],
            "/certs/k.jks"
        );
        let [file] = k1.secret_files.as_slice() else {
            panic!("{set}: one secret file expected: {:?}", k1.secret_files);
        };
        assert_eq!(file.host_file, "kafka-1/server-secrets.properties");
        assert_eq!(
            file.target_path,
            "/run/secrets/tda-kafka/server-secrets.properties"
        );
        assert!(file
            .host_path("tda")
            .ends_with("docker/tda/secrets/kafka-1/server-secrets.properties"));
        assert!(file
            .contents
            .expose()
            .contains(&format!("ssl.keystore.password={sentinel}\n")));
        let reference = k1.environment.get("KAFKA_SSL_KEYSTORE_PASSWORD");
        match set {
            ImageSet::Local => {
                assert_eq!(reference, None);
                assert_eq!(
                    k1.environment[SECRET_PROPERTIES_ENV],
                    file.target_path
                );
            }
            _ => assert_eq!(
                reference.map(String::as_str),
                Some("${file:/run/secrets/tda-kafka/server-secrets.properties:ssl.keystore.password}")
            ),
        }
    }
    // No secrets, no file.
    assert!(seed().services.iter().all(|s| s.secret_files.is_empty()));
}

#[test]
fn a_redis_password_is_a_mounted_config_file_never_an_argument() {
    let sentinel = "Sentinel-Redis-Pa55";
    let mut config = ClusterConfig::default();
    config.services.redis_password = Some(SecretString::new(sentinel));
    for set in ImageSet::ALL {
        let opts = StackOptions {
            image_set: set,
            ..StackOptions::default()
        };
        let t = build(&config, &opts);
        let Some(redis) = t.service("redis") else {
            continue;
        };
        let shown = serde_json::to_string(&t).unwrap() + &format!("{t:?}");
        assert!(!shown.contains(sentinel), "{set}: {shown}");
        let [file] = redis.secret_files.as_slice() else {
            panic!("{set}: one secret file expected: {:?}", redis.secret_files);
        };
        assert_eq!(file.contents.expose(), format!("requirepass {sentinel}\n"));
        // The config file is redis-server's first argument.
        let first = match set {
            ImageSet::Local => &redis.command[0],
            _ => &redis.command[1],
        };
        assert_eq!(first, &file.target_path, "{set}: {:?}", redis.command);
    }
    let plain = seed();
    let redis = plain.service("redis").unwrap();
    assert!(redis.secret_files.is_empty());
    assert_eq!(redis.command[0], "--bind");
}
