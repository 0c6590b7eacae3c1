//! The Docker provider for real: the full local-image topology on a running
//! engine. Needs a Docker engine (`scripts/docker-engine.sh ensure`, done by
//! `scripts/test.sh` and `.ci/run`); FAILS when there is none.
//!
//! One test walks the whole lifecycle because a 3-broker stack takes about a
//! minute to start on two cores. It uses its own stack name (`tdait`) and
//! ports below the ephemeral range (26092-26094, registry 26081, Connect
//! 26083, Redis 26379, JMX 26101-26103), so it never touches the user's `tda`
//! stack or other clusters; a failing run removes what it created.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tda_kafka_cluster::docker::{self, images, BuildOptions, DockerProvider, StackOptions};
use tda_kafka_cluster::ops::{self, StopRequest};
use tda_kafka_cluster::{
    ClusterProvider, ClusterState, NoProgress, ServiceKind, StartOptions, StopMode, StopOptions,
};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

fn test_config() -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.network.kafka_base_port = 26092;
    c.network.controller_base_port = 26192;
    c.network.jmx_base_port = 26101;
    c.network.schema_registry_port = 26081;
    c.network.connect_port = 26083;
    c.network.ui_port = 26080;
    c.network.ksqldb_port = 26088;
    c.network.redis_port = 26379;
    c.group_initial_rebalance_delay_ms = 0;
    c
}

fn stack() -> StackOptions {
    StackOptions {
        name: "tdait".into(),
        ..StackOptions::default()
    }
}

async fn engine() -> bollard::Docker {
    docker::connect().await.unwrap_or_else(|e| {
        panic!("these tests need a Docker engine; run them through scripts/test.sh (it runs scripts/docker-engine.sh ensure): {e}")
    })
}

fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-docker-{name}-{nanos}")
}

async fn produce(bootstrap: &str, topic: &str, payload: &str) {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::<str, str>::to(topic)
                .key("k")
                .payload(payload)
                .partition(0),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce through the host listeners");
}

/// Reads partition 0 of `topic` from the beginning until `count` records arrived.
async fn consume_all(bootstrap: &str, topic: &str, count: usize) -> Vec<String> {
    let bootstrap = bootstrap.to_string();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", unique("g"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while out.len() < count && std::time::Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(500)) {
                let m = m.expect("consume");
                out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
        }
        out
    })
    .await
    .unwrap()
}

/// Removes every container, volume and network of the test stack when the
/// test fails, so a failed run leaves nothing of its own behind.
struct RemoveOnFailure;

impl Drop for RemoveOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let cleanup = std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                if let Ok(p) = DockerProvider::connect(test_config(), stack()).await {
                    let all = StopOptions {
                        mode: StopMode::Force,
                        remove_data: true,
                        remove_containers: true,
                        ..StopOptions::default()
                    };
                    let _ = p.stop(&all, &NoProgress).await;
                }
            })
        });
        let _ = cleanup.join();
    }
}

/// Committed offsets of `group` on `topic` and the topic's retention, read by
/// python confluent_kafka (an independent client).
fn independent_view(bootstrap: &str, topic: &str, group: &str) -> serde_json::Value {
    let script = format!(
        r#"
import json
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({{"bootstrap.servers": "{bootstrap}"}})
md = a.list_topics(timeout=30)
res = ConfigResource("topic", "{topic}")
cfg = a.describe_configs([res])[res].result(timeout=30)
c = Consumer({{"bootstrap.servers": "{bootstrap}", "group.id": "{group}"}})
parts = [TopicPartition("{topic}", p) for p in sorted(md.topics["{topic}"].partitions)]
committed = c.committed(parts, timeout=30)
print(json.dumps({{"partitions": len(parts), "retention.ms": cfg["retention.ms"].value,
                  "offsets": [tp.offset for tp in committed]}}))
c.close()
"#
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 with confluent_kafka (installed by .ci/run)");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Commits `offset` for every partition of `topic` in `group`.
fn commit_offsets(bootstrap: &str, topic: &str, group: &str, partitions: i32, offset: i64) {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Offset(offset))
            .unwrap();
    }
    consumer
        .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
        .expect("commit offsets");
}

async fn all_volumes(engine: &bollard::Docker) -> Vec<String> {
    engine
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_image_stack_lifecycle() {
    let engine = engine().await;
    let _cleanup = RemoveOnFailure;
    // Backups go to the data root: keep them out of the user's.
    let data_root = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_DATA_HOME", data_root.path());
    let volumes_before = all_volumes(&engine).await;
    // Cached: a no-op when `tda-kafka images build` already ran.
    images::build_local_images(&engine, &BuildOptions::default(), &NoProgress)
        .await
        .expect("build the local images");

    let config = test_config();
    let p = DockerProvider::connect(config.clone(), stack())
        .await
        .unwrap();
    let options = StartOptions {
        clean: true,
        ready_timeout: Duration::from_secs(360),
        ..StartOptions::default()
    };

    // 1. Fresh start of the full local topology, health-gated.
    let report = p
        .start(&config, &options, &NoProgress, CancellationToken::new())
        .await
        .expect("start the stack");
    assert!(!report.already_running);
    assert_eq!(report.started_nodes, vec![1, 2, 3]);
    assert!(report.formatted);
    let mut started = report.started_services.clone();
    started.sort();
    assert_eq!(
        started,
        [
            ServiceKind::SchemaRegistry,
            ServiceKind::Connect,
            ServiceKind::Ui,
            ServiceKind::Redis
        ]
    );
    assert_eq!(
        report.topics.len(),
        config.topics.len(),
        "{:?}",
        report.topics
    );
    assert_eq!(report.status.state, ClusterState::Running);
    let containers = p.containers().await.unwrap();
    let names: Vec<&str> = containers.iter().map(|c| c.container.as_str()).collect();
    assert_eq!(
        names,
        [
            "tdait_kafka_1",
            "tdait_kafka_2",
            "tdait_kafka_3",
            "tdait_schema_registry",
            "tdait_kafka_connect",
            "tdait_kafka_ui",
            "tdait_redis"
        ]
    );
    for c in &containers {
        assert!(c.healthy(), "{c:?}");
    }
    let registry = report.status.endpoints.schema_registry_url.clone().unwrap();
    assert_eq!(registry, "http://127.0.0.1:26081");
    // Health checks every service of the Docker stack for real.
    let health = ops::health(&p, &config, None).await.unwrap();
    assert!(health.healthy, "{:?}", health.problems);
    let mut checked: Vec<ServiceKind> = health.services.iter().map(|s| s.kind).collect();
    checked.sort();
    assert_eq!(
        checked,
        [
            ServiceKind::SchemaRegistry,
            ServiceKind::Connect,
            ServiceKind::Ui,
            ServiceKind::Redis
        ]
    );
    assert_eq!(health.kafka.as_ref().unwrap().brokers.len(), 3);

    // 2. Host listeners: produce and consume through 127.0.0.1:5909x.
    let bootstrap = config.bootstrap_servers();
    let topic = unique("rt");
    // One partition, so the order of the two records is defined.
    let admin =
        tda_kafka_admin::Admin::connect(&config.client_properties(), Duration::from_secs(30))
            .await
            .unwrap();
    let mut spec = tda_kafka_config::TopicSpec::new(topic.clone(), 1);
    spec.replication_factor = Some(3);
    admin.ensure_topics(&[spec]).await.unwrap();
    produce(&bootstrap, &topic, "from-host").await;

    // 3. Internal listeners: a container on the stack network reads what the
    //    host wrote, through kafka-N:9092, and writes a record the host reads.
    let image = images::local::KAFKA;
    let (code, out) = p
        .run_in_network(
            image,
            &[
                "kafka-console-consumer",
                "--bootstrap-server",
                "kafka-1:9092,kafka-2:9092",
                "--topic",
                &topic,
                "--from-beginning",
                "--max-messages",
                "1",
                "--timeout-ms",
                "60000",
            ],
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "console consumer in the network failed:\n{out}");
    assert!(out.contains("from-host"), "consumer output:\n{out}");
    let script = format!(
        "echo from-container | kafka-console-producer --bootstrap-server kafka-3:9092 --topic {topic} --producer-property acks=all"
    );
    let (code, out) = p
        .run_in_network(image, &["bash", "-c", &script], Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(code, 0, "console producer in the network failed:\n{out}");
    let got = consume_all(&bootstrap, &topic, 2).await;
    assert_eq!(got, ["from-host", "from-container"]);

    // 4. Idempotent: starting a running stack starts nothing.
    let again = p
        .start(
            &config,
            &StartOptions {
                create_topics: false,
                ..options.clone()
            }
            .with_clean(false),
            &NoProgress,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(again.already_running, "{again:?}");
    assert!(again.started_nodes.is_empty());

    // 5. Stop (graceful) keeps the data; start again and read it back.
    let stopped = p.stop(&StopOptions::default(), &NoProgress).await.unwrap();
    assert!(stopped.removed.is_empty());
    assert_eq!(p.status().await.unwrap().state, ClusterState::Stopped);
    let restarted = p
        .start(
            &config,
            &StartOptions {
                create_topics: false,
                ..options.clone()
            }
            .with_clean(false),
            &NoProgress,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(!restarted.formatted);
    assert_eq!(restarted.started_nodes, vec![1, 2, 3]);
    assert_eq!(
        consume_all(&bootstrap, &topic, 2).await,
        ["from-host", "from-container"]
    );

    // 6. Half-started: one broker killed; start brings back only what is missing.
    engine
        .kill_container(
            "tdait_kafka_2",
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    assert_eq!(p.status().await.unwrap().state, ClusterState::Partial);
    let healed = p
        .start(
            &config,
            &StartOptions {
                create_topics: false,
                ..options.clone()
            }
            .with_clean(false),
            &NoProgress,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(healed.started_nodes, vec![2]);

    // 7. The seed's backup and data recovery on Docker: `stop --backup`, then
    //    `RECOVERY_MODE=true start --clean` brings back a topic (partitions,
    //    configs) and a group's offsets, checked by an independent client.
    let kept = unique("kept");
    let mut spec = tda_kafka_config::TopicSpec::new(kept.clone(), 2);
    spec.replication_factor = Some(3);
    spec.retention_ms = Some(7_200_000);
    admin.ensure_topics(&[spec]).await.unwrap();
    let group = unique("grp");
    for p in 0..2 {
        for i in 0..3 {
            let producer: FutureProducer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .create()
                .unwrap();
            producer
                .send(
                    FutureRecord::<str, str>::to(&kept)
                        .payload(&format!("{p}-{i}"))
                        .partition(p),
                    Duration::from_secs(30),
                )
                .await
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }
    commit_offsets(&bootstrap, &kept, &group, 2, 2);
    let before = independent_view(&bootstrap, &kept, &group);
    assert_eq!(before["offsets"], serde_json::json!([2, 2]), "{before}");
    let stop = ops::stop(
        &p,
        &config,
        &StopRequest {
            backup: Some(None),
            ..StopRequest::default()
        },
        &NoProgress,
    )
    .await
    .unwrap();
    let backup = stop.backup.expect("a backup was written");
    assert!(
        backup.file.starts_with(p.backups_dir()),
        "{:?} not in {:?}",
        backup.file,
        p.backups_dir()
    );
    let recovering = tda_kafka_config::ClusterConfig {
        recovery_mode: true,
        ..config.clone()
    };
    let recovered = ops::start(
        &p,
        &recovering,
        &options,
        &NoProgress,
        CancellationToken::new(),
    )
    .await
    .expect("RECOVERY_MODE start --clean");
    assert!(recovered.report.formatted, "--clean wiped the volumes");
    let recovery = recovered.recovery.expect("recovery ran");
    assert_eq!(recovery.file, backup.file);
    assert!(recovery.restore.success(), "{:?}", recovery.restore);
    // --clean wiped the records: the group is back, its offsets clamped to
    // the recreated (empty) log so its first new records are not skipped.
    let (_, group_status) = recovery
        .restore
        .groups
        .iter()
        .find(|(g, _)| *g == group)
        .expect("the group was restored");
    assert!(group_status.starts_with("ok (clamped"), "{group_status}");
    let after = independent_view(&bootstrap, &kept, &group);
    assert_eq!(after["partitions"], 2, "{after}");
    assert_eq!(after["retention.ms"], "7200000", "{after}");
    assert_eq!(after["offsets"], serde_json::json!([0, 0]), "{after}");

    // 8. --clean-all leaves no container, network or volume of ours.
    let cleaned = p
        .stop(
            &StopOptions {
                mode: StopMode::Force,
                remove_data: true,
                remove_containers: true,
                ..StopOptions::default()
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(cleaned.removed.iter().any(|r| r.starts_with("volume ")));
    assert_eq!(p.leftovers().await.unwrap(), Vec::<String>::new());
    // Not even anonymous volumes (image VOLUMEs of Connect and one-off runs).
    let new_volumes: Vec<String> = all_volumes(&engine)
        .await
        .into_iter()
        .filter(|v| !volumes_before.contains(v))
        .collect();
    assert!(
        new_volumes.is_empty(),
        "volumes left behind: {new_volumes:?}"
    );
    assert_eq!(p.status().await.unwrap().state, ClusterState::NotCreated);
    // Stopping what is gone is not an error.
    p.stop(&StopOptions::default(), &NoProgress).await.unwrap();
}

/// `clean: false` helper for readability.
trait WithClean {
    fn with_clean(self, clean: bool) -> Self;
}

impl WithClean for StartOptions {
    fn with_clean(mut self, clean: bool) -> Self {
        self.clean = clean;
        self
    }
}
