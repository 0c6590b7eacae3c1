//! Consumer-error classification without a broker (librdkafka's mock
//! cluster): a fatal error from `recv` ends `TdaConsumer::run` with that
//! error instead of being logged and skipped forever.

use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use tda_kafka_client::{
    ClientError, ClientSettings, ConsumerOptions, Events, Received, TdaConsumer, Topic,
};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_authorization_failure_ends_the_run_with_the_error() {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic("mock_denied", 1, 3).unwrap();
    mock.topic_error(
        "mock_denied",
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
    )
    .unwrap();
    let settings = ClientSettings::new(mock.bootstrap_servers());
    let consumer = TdaConsumer::new(
        &settings,
        Topic::<Events>::named("mock_denied"),
        ConsumerOptions::new("mock-group"),
    )
    .unwrap();
    let token = CancellationToken::new();
    let mut run =
        tokio::spawn(consumer.run(|_r: Received<Events>| async { Ok(()) }, token.clone()));
    let r = match tokio::time::timeout(Duration::from_secs(60), &mut run).await {
        Ok(r) => r.unwrap(),
        Err(_) => {
            token.cancel();
            panic!("still running after 60 s: {:?}", run.await.unwrap());
        }
    };
    match r {
        Err(ClientError::Kafka {
            operation: "consume",
            source,
        }) => assert_eq!(
            source.rdkafka_error_code(),
            Some(RDKafkaErrorCode::TopicAuthorizationFailed),
            "{source}"
        ),
        other => panic!("expected the authorization error, got {other:?}"),
    }
}
