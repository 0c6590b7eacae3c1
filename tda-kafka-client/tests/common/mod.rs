//! Shared helpers of the integration tests: the cluster and registry come from
//! `TDA_KAFKA_TEST_BOOTSTRAP` and `TDA_KAFKA_TEST_REGISTRY_URL` (set by
//! `scripts/test.sh`); a test without them fails.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, HandlerError, Received, TdaConsumer, TdaTopic, Topic,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The test cluster's brokers.
pub fn bootstrap() -> String {
    std::env::var("TDA_KAFKA_TEST_BOOTSTRAP").expect(
        "TDA_KAFKA_TEST_BOOTSTRAP is not set: run the tests through scripts/test.sh \
         (it starts a cluster) or export it, e.g. 127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094",
    )
}

/// The test registry.
pub fn registry_url() -> String {
    std::env::var("TDA_KAFKA_TEST_REGISTRY_URL").expect(
        "TDA_KAFKA_TEST_REGISTRY_URL is not set: run the tests through scripts/test.sh \
         (it starts a registry) or export it, e.g. http://127.0.0.1:38081/apis/ccompat/v7",
    )
}

/// A name no other test uses.
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-client-{name}-{nanos}")
}

/// Settings for JSON values.
pub fn json_settings() -> ClientSettings {
    ClientSettings::new(bootstrap())
        .with_service_name("client-it")
        .with_property("session.timeout.ms", "10000")
}

/// Settings for Avro values with the test registry.
pub fn avro_settings() -> ClientSettings {
    json_settings().with_avro(registry_url()).unwrap()
}

/// Creates `name` with `partitions` partitions and replication factor 3.
pub async fn create_topic(name: &str, partitions: i32) {
    create_topic_with(name, partitions, &[]).await
}

/// Creates `name` with replication factor 3 and topic `configs`.
pub async fn create_topic_with(name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(3));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let res = admin
        .create_topics(
            [&topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    for r in res {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// A topic of `Events` holding one record that is not JSON (poison), and a
/// dead-letter topic that accepts no record of a dead letter's size, so the
/// brokers reject every dead-letter write at once: `(topic, dead-letter topic)`.
pub async fn poison_with_unwritable_dead_letters(
    settings: &ClientSettings,
    name: &str,
) -> (Topic<tda_kafka_client::Events>, String) {
    let topic = Topic::named(unique(name));
    create_topic(topic.name(), 1).await;
    tda_kafka_client::TdaProducer::new(settings)
        .unwrap()
        .enqueue_raw(
            topic.name(),
            Some(b"k"),
            b"not json",
            rdkafka::message::OwnedHeaders::new(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let dlq = unique("dlq-tiny");
    create_topic_with(&dlq, 1, &[("max.message.bytes", "64")]).await;
    (topic, dlq)
}

pub const WAIT: Duration = Duration::from_secs(60);

/// Polls `cond` every 50 ms until it holds; fails after [`WAIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Consumes `topic` in a fresh group until `n` records were handled and
/// returns them in handling order.
pub async fn consume_n<T: TdaTopic>(
    settings: &ClientSettings,
    topic: &Topic<T>,
    options: ConsumerOptions,
    n: usize,
) -> Vec<Received<T>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer = TdaConsumer::new(settings, topic.clone(), options).unwrap();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(
        move |r: Received<T>| {
            let tx = tx.clone();
            async move {
                tx.send(r)
                    .map_err(|e| HandlerError::Permanent(e.to_string()))
            }
        },
        token.clone(),
    ));
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(r)) => got.push(r),
            _ => panic!(
                "only {} of {n} records arrived on {}",
                got.len(),
                topic.name()
            ),
        }
    }
    token.cancel();
    run.await.unwrap().unwrap();
    got
}
