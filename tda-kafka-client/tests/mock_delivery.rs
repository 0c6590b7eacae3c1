//! Delivery-error classification without a broker: librdkafka's mock cluster
//! injects produce errors; every send ends in exactly one outcome, and only a
//! definite rejection is `SendFailed` (not written); everything where the
//! broker may have written the record is `OutcomeUnknown`.

use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use tda_kafka_client::model::samples;
use tda_kafka_client::{ClientError, ClientSettings, Events, TdaProducer, Topic};

const TOPIC: &str = "mock_events";

/// Sends one record after `errors` were pushed for the next produce
/// requests; returns the outcome and the producer's counters.
async fn send_after(
    errors: &[RDKafkaRespErr],
) -> (Result<(), ClientError>, tda_kafka_client::ProducerStats) {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic(TOPIC, 1, 3).unwrap();
    let settings = ClientSettings::new(mock.bootstrap_servers())
        .with_delivery_timeout(Duration::from_secs(3))
        .with_property("retry.backoff.ms", "50");
    let producer = TdaProducer::new(&settings).unwrap();
    // Warm up: metadata and producer id, so the injected errors hit the send.
    producer
        .send(
            &Topic::<Events>::named(TOPIC),
            &"k".to_string(),
            &samples::system_event("warm"),
        )
        .await
        .unwrap();
    mock.request_errors(RDKafkaApiKey::Produce, errors);
    let r = producer
        .send(
            &Topic::<Events>::named(TOPIC),
            &"k".to_string(),
            &samples::system_event("x"),
        )
        .await
        .map(|_| ());
    producer.flush(Duration::from_secs(5)).await.unwrap();
    let stats = producer.stats();
    assert_eq!(
        stats.sent + stats.failed + stats.outcome_unknown,
        2,
        "every record has exactly one outcome: {stats:?}"
    );
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    (r, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definite_rejections_are_send_failed() {
    use RDKafkaRespErr as E;
    for err in [
        E::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        E::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        E::RD_KAFKA_RESP_ERR_INVALID_RECORD,
    ] {
        let (r, stats) = send_after(&[err]).await;
        assert!(
            matches!(r, Err(ClientError::SendFailed { .. })),
            "{err:?}: {r:?}"
        );
        assert_eq!(
            (stats.sent, stats.failed, stats.outcome_unknown),
            (1, 1, 0),
            "{err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_after_which_the_broker_may_have_written_are_outcome_unknown() {
    use RDKafkaRespErr as E;
    for errors in [
        // The connection drops after every produce request was sent.
        vec![E::RD_KAFKA_RESP_ERR__TRANSPORT; 200],
        // Written to the leader, not replicated in time.
        vec![E::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND; 200],
        vec![E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT; 200],
        // An idempotence sequence error: librdkafka cannot tell what landed.
        vec![E::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER],
    ] {
        let (r, stats) = send_after(&errors).await;
        match r {
            Err(ClientError::OutcomeUnknown { reason, .. }) => {
                eprintln!("{:?}: {reason}", errors[0])
            }
            other => panic!("{:?}: {other:?}", errors[0]),
        }
        assert_eq!(
            stats.failed, 0,
            "{:?}: nothing counted as not written: {stats:?}",
            errors[0]
        );
    }
}
