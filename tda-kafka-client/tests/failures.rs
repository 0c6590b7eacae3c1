//! Failure paths against a real cluster and real registries: registry
//! outages and misconfiguration never dead-letter valid records, every retry
//! loop is bounded and its exhaustion ends `run` with an error, a dead worker
//! fails the run, and a dropped pending delivery is counted.
//!
//! The second registry these tests start is an Apicurio JVM of their own on
//! 127.0.0.1:22082 (in-memory storage: a registry that "lost its schemas").

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rdkafka::message::OwnedHeaders;
use tda_kafka_client::consumer::committed_offsets;
use tda_kafka_client::model::samples;
use tda_kafka_client::{
    ClientError, ClientSettings, ConsumerOptions, ConsumerStats, Errors, Events, HandlerError,
    Received, RetryPolicy, TdaConsumer, TdaProducer, TdaTopic, Topic, Uploads,
};
use tokio_util::sync::CancellationToken;

/// A quick, small retry policy for tests.
fn quick(retries: u32) -> RetryPolicy {
    RetryPolicy::new(
        retries,
        Duration::from_millis(20),
        Duration::from_millis(100),
    )
}

/// Runs `consumer` with `handler` until it returns by itself (bounded by
/// [`WAIT`]); a run still going then is cancelled, and its result returned
/// with `false` (it did not stop on its own).
async fn run_until_it_returns<T, H, Fut>(
    consumer: TdaConsumer<T>,
    handler: H,
) -> (Result<ConsumerStats, ClientError>, bool)
where
    T: TdaTopic,
    H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let token = CancellationToken::new();
    let mut run = tokio::spawn(consumer.run(handler, token.clone()));
    match tokio::time::timeout(WAIT, &mut run).await {
        Ok(r) => (r.expect("run panicked"), true),
        Err(_) => {
            token.cancel();
            (run.await.expect("run panicked"), false)
        }
    }
}

fn committed(
    settings: &ClientSettings,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Vec<(i32, Option<i64>)> {
    committed_offsets(settings, group, topic, partitions, Duration::from_secs(10)).unwrap()
}

/// Produces one Avro upload to a fresh topic through the test registry.
async fn one_avro_upload(kind: &str) -> (Topic<Uploads>, Topic<Errors>) {
    let topic = Topic::<Uploads>::named(unique(kind));
    let dlq = Topic::<Errors>::named(unique(&format!("{kind}-dlq")));
    create_topic(topic.name(), 1).await;
    create_topic(dlq.name(), 1).await;
    TdaProducer::new(&avro_settings())
        .unwrap()
        .send(&topic, &"u".to_string(), &samples::upload("u"))
        .await
        .unwrap();
    (topic, dlq)
}

/// Consumes `topic` with a registry at `registry`, a decode policy of
/// `retries`; returns the result, whether it returned by itself, and the
/// group.
async fn consume_with_registry(
    topic: &Topic<Uploads>,
    dlq: &Topic<Errors>,
    registry: &str,
    retries: u32,
) -> (Result<ConsumerStats, ClientError>, bool, String) {
    let group = unique("g");
    let consumer = TdaConsumer::new(
        &json_settings().with_avro(registry).unwrap(),
        topic.clone(),
        ConsumerOptions::new(group.clone())
            .with_dead_letter_topic(dlq.name())
            .with_decode_retry(quick(retries))
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let (r, returned) =
        run_until_it_returns(consumer, |_r: Received<Uploads>| async { Ok(()) }).await;
    (r, returned, group)
}

/// The run failed because decoding ran out of retries on a registry error,
/// nothing was dead-lettered or committed, and a consumer of the same group
/// with the right registry then gets the record (nothing lost).
async fn assert_waited_not_dead_lettered(
    topic: &Topic<Uploads>,
    dlq: &Topic<Errors>,
    outcome: (Result<ConsumerStats, ClientError>, bool, String),
) {
    let (r, returned, group) = outcome;
    assert!(
        returned,
        "the run must end by itself when its decode retries run out"
    );
    match r {
        Err(ClientError::RetriesExhausted {
            what,
            attempts,
            ref source,
            ..
        }) => {
            assert_eq!(what, "decoding");
            assert_eq!(attempts, 4);
            assert!(
                matches!(
                    **source,
                    ClientError::Registry {
                        retriable: true,
                        ..
                    }
                ),
                "{source:?}"
            );
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let settings = avro_settings();
    assert_eq!(
        committed(&settings, &group, topic.name(), &[0]),
        vec![(0, None)]
    );
    // Nothing in the dead-letter topic: a fresh group reads it from the start.
    let probe = TdaConsumer::new(
        &settings,
        dlq.clone(),
        ConsumerOptions::new(unique("dlq-probe")),
    )
    .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let token = CancellationToken::new();
    let run = tokio::spawn(probe.run(
        move |_r: Received<Errors>| {
            s2.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        },
        token.clone(),
    ));
    // The same group with the right registry: the record arrives.
    let got = Arc::new(AtomicUsize::new(0));
    let g2 = got.clone();
    let consumer = TdaConsumer::new(
        &settings,
        topic.clone(),
        ConsumerOptions::new(group.clone()),
    )
    .unwrap();
    let t2 = CancellationToken::new();
    let run2 = tokio::spawn(consumer.run(
        move |r: Received<Uploads>| {
            assert_eq!(r.value, samples::upload("u"));
            g2.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        },
        t2.clone(),
    ));
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.load(Ordering::SeqCst) < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the record never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t2.cancel();
    let stats = run2.await.unwrap().unwrap();
    assert_eq!((stats.processed, stats.dead_lettered), (1, 0));
    // The dead-letter probe had the same time to see anything.
    token.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 0, "nothing was dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_registry_url_is_waited_out_never_dead_lettered() {
    let (topic, dlq) = one_avro_upload("wrong-url").await;
    // The real registry, but not its Confluent API: every look-up is a 404
    // that is not Confluent's 40403.
    let wrong = registry_url().replace("/apis/ccompat/v7", "/apis/nothing-here/v7");
    assert_ne!(wrong, registry_url());
    let outcome = consume_with_registry(&topic, &dlq, &wrong, 3).await;
    assert_waited_not_dead_lettered(&topic, &dlq, outcome).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_registry_ends_the_run_after_its_retries() {
    let (topic, dlq) = one_avro_upload("closed-port").await;
    let outcome =
        consume_with_registry(&topic, &dlq, "http://127.0.0.1:22083/apis/ccompat/v7", 3).await;
    assert_waited_not_dead_lettered(&topic, &dlq, outcome).await;
}

/// A second, empty Apicurio registry of this test (killed on drop).
struct SecondRegistry(Child);

impl Drop for SecondRegistry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SECOND_REGISTRY: &str = "http://127.0.0.1:22082/apis/ccompat/v7";

async fn start_second_registry() -> SecondRegistry {
    let home = std::env::var("HOME").unwrap();
    let jar = std::path::Path::new(&home)
        .join(".cache/tda-kafka/apicurio-registry-3.0.9/apicurio-registry-app-3.0.9-runner.jar");
    assert!(
        jar.is_file(),
        "{} missing: start the test cluster first (it fetches Apicurio)",
        jar.display()
    );
    let log =
        std::fs::File::create(std::env::temp_dir().join("tda-client-second-registry.log")).unwrap();
    let child = Command::new("java")
        .args([
            "-Xmx256m",
            "-Dquarkus.http.port=22082",
            "-Dquarkus.http.host=127.0.0.1",
            "-jar",
        ])
        .arg(&jar)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let reg = SecondRegistry(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        if http_status(&format!("{SECOND_REGISTRY}/subjects")).await == Some(200) {
            return reg;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "second registry not ready in 180 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The HTTP status of a GET (a tiny HTTP/1.0 client), `None` when nothing answers.
async fn http_status(url: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_lost_its_schemas_is_waited_out_but_a_missing_id_is_poison() {
    let _second = start_second_registry().await;
    let (topic, dlq) = one_avro_upload("lost-schemas").await;
    // The empty registry answers 40403 for the id: it holds nothing at all,
    // so that says nothing about the record.
    let outcome = consume_with_registry(&topic, &dlq, SECOND_REGISTRY, 3).await;
    assert_waited_not_dead_lettered(&topic, &dlq, outcome).await;

    // Once that registry holds schemas, its 40403 is definite: the record
    // whose id it does not have is poison and dead-lettered (and committed).
    let (topic2, dlq2) = one_avro_upload("missing-id").await;
    let other = json_settings().with_avro(SECOND_REGISTRY).unwrap();
    other
        .codec()
        .registry()
        .unwrap()
        .register_value_schema::<tda_kafka_client::model::SystemEvent>(&unique("filler"))
        .await
        .unwrap();
    let group = unique("g");
    let consumer = TdaConsumer::new(
        &other,
        topic2.clone(),
        ConsumerOptions::new(group.clone())
            .with_dead_letter_topic(dlq2.name())
            .with_decode_retry(quick(3))
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let live = consumer.stats_handle();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(|_r: Received<Uploads>| async { Ok(()) }, token.clone()));
    let deadline = tokio::time::Instant::now() + WAIT;
    while live.snapshot().dead_lettered < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not dead-lettered: {:?}",
            live.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    let stats = run.await.unwrap().unwrap();
    assert_eq!(
        (stats.processed, stats.dead_lettered, stats.decode_retries),
        (0, 1, 0),
        "{stats:?}"
    );
    assert_eq!(
        committed(&other, &group, topic2.name(), &[0]),
        vec![(0, Some(1))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fails_when_dead_letter_writes_run_out_and_commits_nothing_for_it() {
    let settings = json_settings();
    let (topic, dlq) = poison_with_unwritable_dead_letters(&settings, "dlq-exhausted").await;
    let group = unique("g");
    let consumer = TdaConsumer::new(
        &settings
            .clone()
            .with_delivery_timeout(Duration::from_secs(2)),
        topic.clone(),
        ConsumerOptions::new(group.clone())
            .with_dead_letter_topic(dlq.clone())
            .with_dead_letter_retry(quick(2))
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let live = consumer.stats_handle();
    let (r, returned) =
        run_until_it_returns(consumer, |_r: Received<Events>| async { Ok(()) }).await;
    assert!(returned, "run must not retry the dead-letter write forever");
    match r {
        Err(ClientError::RetriesExhausted {
            what,
            attempts,
            ref source,
            offset,
            ..
        }) => {
            assert_eq!((what, attempts, offset), ("dead-letter write", 3, 0));
            assert!(
                matches!(**source, ClientError::DeadLetter { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(live.snapshot().dead_letter_failures, 3);
    assert_eq!(
        committed(&settings, &group, topic.name(), &[0]),
        vec![(0, None)]
    );
}

/// Five records per partition on two partitions; the handler panics on
/// partition 0's third record (offset 2).
async fn run_with_a_panicking_handler(concurrency: usize) {
    let settings = json_settings();
    let topic = Topic::<Events>::named(unique("panic"));
    create_topic(topic.name(), 2).await;
    let raw: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    for p in 0..2 {
        for i in 0..5 {
            let e = samples::system_event(&format!("p{p}-{i}"));
            let bytes = serde_json::to_vec(&e).unwrap();
            let mut rec = rdkafka::producer::FutureRecord::<str, [u8]>::to(topic.name())
                .payload(&bytes)
                .key("k")
                .partition(p);
            rec = rec.headers(OwnedHeaders::new());
            raw.send(rec, Duration::from_secs(10)).await.unwrap();
        }
    }
    let group = unique("g");
    let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
    let h2 = handled.clone();
    let consumer = TdaConsumer::new(
        &settings,
        topic.clone(),
        ConsumerOptions::new(group.clone())
            .with_concurrency(concurrency)
            .with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    let (r, returned) = run_until_it_returns(consumer, move |r: Received<Events>| {
        if r.partition == 0 && r.offset == 2 {
            panic!("handler bug on {}", r.offset);
        }
        h2.lock().unwrap().push((r.partition, r.offset));
        async { Ok(()) }
    })
    .await;
    assert!(returned, "a panicking handler must end the run");
    match r {
        Err(ClientError::HandlerPanicked {
            partition,
            ref detail,
            ..
        }) => {
            assert_eq!(partition, 0);
            assert!(detail.contains("handler bug on 2"), "{detail}");
        }
        other => panic!("expected HandlerPanicked, got {other:?}"),
    }
    let handled = handled.lock().unwrap().clone();
    assert!(
        !handled.contains(&(0, 3)) && !handled.contains(&(0, 4)),
        "{handled:?}"
    );
    // Partition 0 is committed up to the failed record, never past it.
    let c = committed(&settings, &group, topic.name(), &[0, 1]);
    assert!(matches!(c[0], (0, None) | (0, Some(0..=2))), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_the_run_at_concurrency_2() {
    run_with_a_panicking_handler(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_the_run_at_concurrency_1() {
    run_with_a_panicking_handler(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_pending_delivery_is_counted_as_outcome_unknown() {
    let settings = json_settings();
    let topic = Topic::<Events>::named(unique("dropped"));
    create_topic(topic.name(), 1).await;
    let producer = TdaProducer::new(&settings).unwrap();
    let opts = tda_kafka_client::SendOptions::default();
    let kept = producer
        .enqueue(&topic, &"k".to_string(), &samples::system_event("a"), &opts)
        .await
        .unwrap();
    let dropped = producer
        .enqueue(&topic, &"k".to_string(), &samples::system_event("b"), &opts)
        .await
        .unwrap();
    drop(dropped);
    kept.await.unwrap();
    producer.flush(Duration::from_secs(10)).await.unwrap();
    let s = producer.stats();
    assert_eq!(
        (s.sent, s.failed, s.outcome_unknown, s.dropped, s.in_flight),
        (1, 0, 1, 1, 0),
        "{s:?}"
    );
}
