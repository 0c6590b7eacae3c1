//! The testcontainers fixtures, used the way another crate's tests use them.
//! Needs a Docker engine and the local images (`scripts/test.sh` ensures
//! both: `scripts/docker-engine.sh ensure`, `tda-kafka images build`); FAILS
//! without them.
//!
//! ```toml
//! [dev-dependencies]
//! tda-kafka-cluster = { version = "0.1", features = ["testcontainers"] }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tda_kafka_cluster::testcontainers::{KafkaBroker, KafkaCluster, SchemaRegistry};
use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-tc-{name}-{nanos}")
}

/// Runs a one-off container of the Kafka image on `network` and returns its
/// stdout once it exited with 0: how an application container would reach
/// the fixtures.
async fn run_on_network(network: &str, cmd: &[&str]) -> String {
    let c = GenericImage::new("tda-kafka/kafka", "4.4.0")
        .with_wait_for(WaitFor::exit(ExitWaitStrategy::new().with_exit_code(0)))
        .with_network(network)
        .with_cmd(cmd.iter().map(|s| s.to_string()))
        .with_startup_timeout(Duration::from_secs(120))
        .start()
        .await
        .unwrap_or_else(|e| panic!("container {cmd:?} on {network} failed: {e}"));
    let out = c.stdout_to_vec().await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

async fn produce(bootstrap: &str, topic: &str, payload: &str) {
    let p: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .create()
        .unwrap();
    p.send(
        FutureRecord::<str, str>::to(topic)
            .payload(payload)
            .partition(0),
        Duration::from_secs(30),
    )
    .await
    .map_err(|(e, _)| e)
    .expect("produce from the host");
}

async fn consume_one(bootstrap: &str, topic: &str) -> String {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", unique("g"))
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        c.assign(&tpl).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Some(m) = c.poll(Duration::from_millis(500)) {
                let m = m.expect("consume from the host");
                return String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            }
        }
        panic!("nothing consumed from {topic}");
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_broker_is_reachable_from_host_and_network() {
    let kafka = KafkaBroker::single()
        .await
        .expect("start a single KRaft broker (scripts/test.sh builds the images)");
    assert_eq!(kafka.len(), 1);
    let bootstrap = kafka.bootstrap_servers();
    assert!(bootstrap.starts_with("127.0.0.1:"), "{bootstrap}");

    // Host -> broker -> container on the network.
    let topic = unique("single");
    produce(&bootstrap, &topic, "hello-from-host").await;
    let out = run_on_network(
        kafka.network(),
        &[
            "kafka-console-consumer",
            "--bootstrap-server",
            &kafka.internal_bootstrap_servers(),
            "--topic",
            &topic,
            "--from-beginning",
            "--max-messages",
            "1",
            "--timeout-ms",
            "60000",
        ],
    )
    .await;
    assert!(out.contains("hello-from-host"), "consumer output: {out}");

    // Container on the network -> broker -> host.
    let topic2 = unique("single-back");
    // One partition, so the record is where the host reads.
    let admin = tda_kafka_admin::Admin::connect(
        &kafka.config().client_properties(),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    admin
        .ensure_topics(&[tda_kafka_config::TopicSpec::new(topic2.clone(), 1)])
        .await
        .unwrap();
    let script = format!(
        "echo hello-from-container | kafka-console-producer --bootstrap-server {} --topic {topic2}",
        kafka.internal_bootstrap_servers()
    );
    run_on_network(kafka.network(), &["bash", "-c", &script]).await;
    assert_eq!(
        consume_one(&bootstrap, &topic2).await,
        "hello-from-container"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_broker_cluster_with_schema_registry_on_one_network() {
    let kafka = KafkaCluster::start(3).await.expect("start 3 KRaft brokers");
    let registry = SchemaRegistry::start_on(kafka.network())
        .await
        .expect("start the schema registry");
    assert_eq!(kafka.len(), 3);
    assert_eq!(kafka.bootstrap_servers().split(',').count(), 3);

    // Every broker is in the metadata seen from the host, and a topic with
    // replication factor 3 takes acks=all writes.
    let admin = tda_kafka_admin::Admin::connect(
        &kafka.config().client_properties(),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(admin.metadata().await.unwrap().brokers.len(), 3);
    let topic = unique("rf3");
    let mut spec = tda_kafka_config::TopicSpec::new(topic.clone(), 1);
    spec.replication_factor = Some(3);
    admin.ensure_topics(&[spec]).await.unwrap();
    produce(&kafka.bootstrap_servers(), &topic, "replicated").await;
    assert_eq!(
        consume_one(&kafka.bootstrap_servers(), &topic).await,
        "replicated"
    );

    // The registry answers on the host and, by container name, on the network.
    let subjects = run_on_network(
        kafka.network(),
        &[
            "curl",
            "-fsS",
            &format!("{}/subjects", registry.internal_url()),
        ],
    )
    .await;
    assert_eq!(subjects.trim(), "[]");
    assert!(registry.url().starts_with("http://127.0.0.1:"));
    // Each broker is reachable inside the network through its own name.
    let out = run_on_network(
        kafka.network(),
        &[
            "kafka-broker-api-versions",
            "--bootstrap-server",
            &format!("{}:9092", kafka.container_names()[2]),
        ],
    )
    .await;
    assert_eq!(out.matches("(id: ").count(), 3, "{out}");
}
