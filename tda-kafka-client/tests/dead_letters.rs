//! Poison records and dead letters against a real cluster and a real Schema
//! Registry: what is dead-lettered, what is not, and what blocks the commit.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rdkafka::message::OwnedHeaders;
use tda_kafka_client::consumer::committed_offsets;
use tda_kafka_client::headers::{self};
use tda_kafka_client::model::{error_kind, samples};
use tda_kafka_client::{
    ConsumerOptions, Errors, Events, HandlerError, Received, RetryPolicy, TdaConsumer, TdaProducer,
    Topic, Uploads,
};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_land_in_the_dead_letter_topic_and_the_consumer_moves_on() {
    let settings = avro_settings();
    let topic = Topic::<Uploads>::named(unique("poison"));
    let dlq = Topic::<Errors>::named(unique("poison-dlq"));
    create_topic(topic.name(), 1).await;
    create_topic(dlq.name(), 1).await;
    let producer = TdaProducer::new(&settings).unwrap();
    let good = |id: &str| samples::upload(id);
    // offset 0: good
    producer
        .send(&topic, &"ok-0".to_string(), &good("ok-0"))
        .await
        .unwrap();
    // A valid frame to cut short: magic + schema id + truncated datum.
    let valid = settings
        .codec()
        .encode(topic.name(), &good("x"))
        .await
        .unwrap();
    let raw = |payload: Vec<u8>, key: &'static str| {
        let producer = producer.clone();
        let topic = topic.name().to_owned();
        async move {
            producer
                .enqueue_raw(&topic, Some(key.as_bytes()), &payload, OwnedHeaders::new())
                .await
                .unwrap()
                .await
                .unwrap()
        }
    };
    let truncated = valid[..valid.len() / 2].to_vec();
    let d1 = raw(truncated.clone(), "undecodable").await; // offset 1
    let d2 = raw(br#"{"upload_id":"json"}"#.to_vec(), "wrong-magic").await; // offset 2
    let mut unknown = vec![0u8];
    unknown.extend_from_slice(&0x7fff_fff0u32.to_be_bytes());
    unknown.extend_from_slice(&valid[5..]);
    let d3 = raw(unknown.clone(), "unknown-id").await; // offset 3
    let d4 = producer
        .send(&topic, &"reject".to_string(), &good("reject"))
        .await
        .unwrap(); // 4
    let d5 = producer
        .send(&topic, &"flaky".to_string(), &good("flaky"))
        .await
        .unwrap(); // 5
    producer
        .send(&topic, &"ok-6".to_string(), &good("ok-6"))
        .await
        .unwrap(); // 6

    let handled = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let consumer = TdaConsumer::new(
        &settings,
        topic.clone(),
        ConsumerOptions::new(unique("gp"))
            .with_dead_letter_topic(dlq.name())
            .with_retry(RetryPolicy {
                max_retries: 2,
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(50),
            }),
    )
    .unwrap();
    let token = CancellationToken::new();
    let (h, a, t) = (handled.clone(), attempts.clone(), token.clone());
    let run = tokio::spawn(consumer.run(
        move |r: Received<Uploads>| {
            let (h, a, t) = (h.clone(), a.clone(), t.clone());
            async move {
                let key = r.key.clone().unwrap();
                *a.lock().unwrap().entry(key.clone()).or_default() += 1;
                match key.as_str() {
                    "reject" => Err(HandlerError::Permanent("rejected by test".into())),
                    "flaky" => Err(HandlerError::Retriable("always busy".into())),
                    _ => {
                        h.lock().unwrap().push(r.offset);
                        if key == "ok-6" {
                            t.cancel();
                        }
                        Ok(())
                    }
                }
            }
        },
        token.clone(),
    ));
    let stats = tokio::time::timeout(WAIT, run)
        .await
        .expect("consumer stalled")
        .unwrap()
        .unwrap();
    assert_eq!(
        *handled.lock().unwrap(),
        vec![0, 6],
        "the consumer moved past every poison record"
    );
    assert_eq!(
        attempts.lock().unwrap()["flaky"],
        3,
        "1 attempt + 2 retries"
    );
    assert_eq!(stats.dead_lettered, 5);

    let dead = consume_n(
        &avro_settings(),
        &dlq,
        ConsumerOptions::new(unique("gd")),
        5,
    )
    .await;
    let expect = [
        (d1.offset, error_kind::UNDECODABLE, Some(truncated)),
        (
            d2.offset,
            error_kind::WRONG_MAGIC_BYTE,
            Some(br#"{"upload_id":"json"}"#.to_vec()),
        ),
        (d3.offset, error_kind::UNKNOWN_SCHEMA_ID, Some(unknown)),
        (d4.offset, error_kind::HANDLER_PERMANENT, None),
        (d5.offset, error_kind::RETRIES_EXHAUSTED, None),
    ];
    for (r, (offset, kind, payload)) in dead.iter().zip(expect) {
        let e = &r.value;
        assert_eq!(e.error_kind, kind, "{e:?}");
        let origin = e.origin.as_ref().unwrap();
        assert_eq!(
            (origin.topic.as_str(), origin.partition, origin.offset),
            (topic.name(), 0, offset)
        );
        assert_eq!(e.source_service, "client-it");
        if let Some(p) = payload {
            assert_eq!(e.original_payload.as_ref(), Some(&p));
        } else {
            assert!(
                e.original_payload.as_ref().is_some_and(|p| p[0] == 0),
                "original frame kept"
            );
        }
    }
    // The origin headers are on the dead letters too.
    let mut c = rdkafka::ClientConfig::new();
    c.set("bootstrap.servers", bootstrap())
        .set("group.id", unique("raw"))
        .set("auto.offset.reset", "earliest");
    let raw_consumer: rdkafka::consumer::StreamConsumer = c.create().unwrap();
    use rdkafka::consumer::Consumer;
    use rdkafka::Message;
    raw_consumer.subscribe(&[dlq.name()]).unwrap();
    let m = tokio::time::timeout(WAIT, raw_consumer.recv())
        .await
        .unwrap()
        .unwrap();
    let h = m.headers().unwrap();
    assert_eq!(
        headers::header_str(h, headers::ORIGIN_TOPIC),
        Some(topic.name())
    );
    assert_eq!(headers::header_str(h, headers::ORIGIN_PARTITION), Some("0"));
    assert_eq!(headers::header_str(h, headers::ORIGIN_OFFSET), Some("1"));
    assert_eq!(
        headers::header_str(h, headers::ERROR_KIND),
        Some(error_kind::UNDECODABLE)
    );
    assert!(headers::header_str(h, headers::ERROR_MESSAGE).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dead_letter_write_blocks_the_commit() {
    let settings = json_settings();
    let (topic, dlq) = poison_with_unwritable_dead_letters(&settings, "dlq-fail").await;
    let group = unique("gf");
    let consumer = TdaConsumer::new(
        &settings
            .clone()
            .with_delivery_timeout(Duration::from_secs(2)),
        topic.clone(),
        ConsumerOptions::new(group.clone())
            .with_dead_letter_topic(dlq.clone())
            .with_retry(RetryPolicy {
                max_retries: 0,
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(100),
            })
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let live = consumer.stats_handle();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(|_r: Received<Events>| async { Ok(()) }, token.clone()));
    // Wait until the consumer has tried (and failed) to dead-letter twice.
    wait_until("two failed dead-letter writes", || {
        live.snapshot().dead_letter_failures >= 2
    })
    .await;
    token.cancel();
    let stats = run.await.unwrap().unwrap();
    assert!(stats.dead_letter_failures >= 1, "{stats:?}");
    assert_eq!(stats.dead_lettered, 0);
    let committed = committed_offsets(
        &settings,
        &group,
        topic.name(),
        &[0],
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(
        committed,
        vec![(0, None)],
        "the poison record's offset was not committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_registry_is_retried_not_dead_lettered() {
    let settings = avro_settings();
    let topic = Topic::<Uploads>::named(unique("no-registry"));
    let dlq = Topic::<Errors>::named(unique("no-registry-dlq"));
    create_topic(topic.name(), 1).await;
    create_topic(dlq.name(), 1).await;
    let producer = TdaProducer::new(&settings).unwrap();
    producer
        .send(&topic, &"u".to_string(), &samples::upload("u"))
        .await
        .unwrap();
    // A consumer whose registry is down cannot learn the schema id: that is
    // not the record's fault, so it retries and neither dead-letters nor commits.
    let down = json_settings()
        .with_avro("http://127.0.0.1:9/apis/ccompat/v7")
        .unwrap();
    let group = unique("gnr");
    let consumer = TdaConsumer::new(
        &down,
        topic.clone(),
        ConsumerOptions::new(group.clone())
            .with_dead_letter_topic(dlq.name())
            .with_retry(RetryPolicy {
                max_retries: 1,
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(50),
            })
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let live = consumer.stats_handle();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(|_r: Received<Uploads>| async { Ok(()) }, token.clone()));
    wait_until("three decode retries", || {
        live.snapshot().decode_retries >= 3
    })
    .await;
    token.cancel();
    let stats = run.await.unwrap().unwrap();
    assert_eq!((stats.processed, stats.dead_lettered), (0, 0), "{stats:?}");
    assert_eq!(
        committed_offsets(
            &settings,
            &group,
            topic.name(),
            &[0],
            Duration::from_secs(10)
        )
        .unwrap(),
        vec![(0, None)]
    );
}
