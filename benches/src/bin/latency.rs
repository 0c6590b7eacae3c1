//! End-to-end latency: records sent at a fixed rate (default 1,000/s) with
//! acks=all to a topic with replication factor 3 and
//! `min.insync.replicas=2` (3 partitions), received by a consumer in the
//! same process; latency is from just before the send (before encoding) to
//! the handler (after decoding), on one monotonic clock. "typed" is
//! `TdaProducer::enqueue` → `TdaConsumer::run` (concurrency 1, Avro); "raw"
//! is an rdkafka `ThreadedProducer` → `StreamConsumer` with the same
//! librdkafka settings (`ClientSettings::producer_config()` /
//! `consumer_config()`), the pre-serialized value, the timestamp in a
//! header, decode and offset store in the loop. The first second of each
//! variant is warm-up and not counted.
//!
//! ```text
//! TDA_KAFKA_BENCH_BOOTSTRAP=127.0.0.1:21092,127.0.0.1:21093,127.0.0.1:21094 \
//! TDA_KAFKA_BENCH_REGISTRY_URL=http://127.0.0.1:21081/apis/ccompat/v7 \
//! cargo run --release -p tda-kafka-benches --bin latency -- 10 1000 5 3
//! ```
//! Arguments: seconds per variant and round (default 20), records per
//! second (default 1000), `linger.ms` (default or `-`: none set, i.e.
//! librdkafka's default of 5 ms; give 0 to send each record as soon as
//! possible), rounds (default 3; typed and raw alternate within each).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::Message;
use tda_kafka_benches::client::{
    bootstrap, create_topic, load_average, one_kb_event, quantile, registry_url, unique_suffix,
};
use tda_kafka_client::model::SystemEvent;
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, Events, Received, SendOptions, TdaConsumer, TdaMessage,
    TdaProducer, Topic,
};
use tokio_util::sync::CancellationToken;

/// The sequence number of the probes sent until the consumer is assigned.
const PROBE: u64 = u64::MAX;

/// Nanoseconds since the first call in this process (one monotonic clock).
fn clock_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Latencies in microseconds of the records after the warm-up.
#[derive(Default)]
struct Samples {
    us: Mutex<Vec<u64>>,
    /// Every record received, probes included.
    seen: AtomicU64,
    /// Records of the measured sequence received (warm-up included).
    data: AtomicU64,
}

impl Samples {
    /// Records one received record; `seq` `u64::MAX` is a probe.
    fn record(&self, seq: u64, sent_ns: u64, warmup: u64) {
        let lat = clock_ns().saturating_sub(sent_ns) / 1_000;
        if seq != PROBE {
            if seq >= warmup {
                self.us.lock().expect("samples").push(lat);
            }
            self.data.fetch_add(1, Ordering::Relaxed);
        }
        self.seen.fetch_add(1, Ordering::Relaxed);
    }

    fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    fn summary(&self, name: &str, sent: u64) -> String {
        summary(
            name,
            self.us.lock().expect("samples").clone(),
            sent,
            self.data.load(Ordering::Relaxed),
        )
    }
}

/// One line: how many were measured, p50, p99, p99.9 and the maximum.
fn summary(name: &str, mut v: Vec<u64>, sent: u64, received: u64) -> String {
    v.sort_unstable();
    format!(
            "{name}: {} records measured of {sent} sent ({received} received), p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            v.len(),
            quantile(&v, 0.5),
            quantile(&v, 0.99),
            quantile(&v, 0.999),
            v.last().copied().unwrap_or(0)
        )
}

/// Waits until `samples` has received the `sent` measured records (or 10 s
/// passed).
async fn drain(samples: &Samples, sent: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples.data.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the consumer has its partitions: probes are sent until one
/// arrives (seq [`PROBE`]).
async fn until_assigned(samples: &Samples, mut probe: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while samples.seen() == 0 {
        assert!(Instant::now() < deadline, "the consumer never got a record");
        probe();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn typed(
    settings: &ClientSettings,
    topic: &Topic<Events>,
    secs: u64,
    rate: u64,
) -> Arc<Samples> {
    let samples = Arc::new(Samples::default());
    let consumer = TdaConsumer::new(
        settings,
        topic.clone(),
        ConsumerOptions::new(format!("lat-typed-{}", unique_suffix())),
    )
    .expect("consumer");
    let token = CancellationToken::new();
    let s2 = samples.clone();
    let run = tokio::spawn(consumer.run(
        move |r: Received<Events>| {
            let a = &r.value.attributes;
            let sent: u64 = a["sent_ns"].parse().expect("sent_ns");
            let seq: u64 = a["seq"].parse().expect("seq");
            s2.record(seq, sent, rate);
            std::future::ready(Ok(()))
        },
        token.clone(),
    ));
    let producer = TdaProducer::new(settings).expect("producer");
    let mut template = one_kb_event(0);
    let opts = SendOptions::default();
    let mut pending = Vec::new();
    let stamp = |e: &mut SystemEvent, seq: u64| {
        e.attributes.insert("seq".into(), seq.to_string());
        e.attributes
            .insert("sent_ns".into(), clock_ns().to_string());
    };
    // Probes (seq PROBE) until the consumer is assigned; not counted.
    let deadline = Instant::now() + Duration::from_secs(60);
    while samples.seen() == 0 {
        assert!(Instant::now() < deadline, "the consumer never got a record");
        stamp(&mut template, PROBE);
        producer
            .send(topic, &"probe".to_owned(), &template)
            .await
            .expect("probe");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = secs * rate;
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    for seq in 0..total {
        tick.tick().await;
        stamp(&mut template, seq);
        let key = format!("k{}", seq % 64);
        pending.push(
            producer
                .enqueue(topic, &key, &template, &opts)
                .await
                .expect("enqueue"),
        );
    }
    for p in pending {
        p.await.expect("delivery");
    }
    drain(&samples, total).await;
    token.cancel();
    run.await.expect("consumer task").expect("consumer run");
    samples
}

async fn raw(
    settings: &ClientSettings,
    topic: &str,
    secs: u64,
    rate: u64,
    payload: &[u8],
) -> Arc<Samples> {
    use apache_avro::reader::datum::GenericDatumReader;
    let samples = Arc::new(Samples::default());
    let consumer: StreamConsumer = settings
        .consumer_config(&format!("lat-raw-{}", unique_suffix()))
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let token = CancellationToken::new();
    let (s2, t2) = (samples.clone(), token.clone());
    let run = tokio::spawn(async move {
        let schema = SystemEvent::avro_schema();
        let reader = GenericDatumReader::builder(schema)
            .reader_schema(schema)
            .build()
            .expect("reader");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                biased;
                _ = t2.cancelled() => break,
                _ = tick.tick() => { let _ = consumer.commit_consumer_state(CommitMode::Async); }
                m = consumer.recv() => {
                    let m = m.expect("recv");
                    let h = m.headers().expect("headers");
                    let num = |i: usize| -> u64 {
                        let v = h.get(i).value.expect("value");
                        u64::from_be_bytes(v.try_into().expect("8 bytes"))
                    };
                    let (seq, sent) = (num(0), num(1));
                    let v = reader.read_value(&mut &m.payload().expect("payload")[5..]).expect("datum");
                    let e: SystemEvent = apache_avro::from_value(&v).expect("event");
                    assert!(!e.message.is_empty());
                    consumer.store_offset_from_message(&m).expect("store");
                    s2.record(seq, sent, rate);
                }
            }
        }
        let _ = consumer.commit_consumer_state(CommitMode::Sync);
    });
    let producer: ThreadedProducer<_> = settings.producer_config().create().expect("producer");
    let send = |seq: u64, key: &str| {
        let headers = OwnedHeaders::new_with_capacity(2)
            .insert(Header {
                key: "seq",
                value: Some(&seq.to_be_bytes()[..]),
            })
            .insert(Header {
                key: "sent_ns",
                value: Some(&clock_ns().to_be_bytes()[..]),
            });
        producer
            .send(
                BaseRecord::to(topic)
                    .key(key)
                    .payload(payload)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)
            .expect("send");
    };
    until_assigned(&samples, || send(PROBE, "probe")).await;
    let total = secs * rate;
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    for seq in 0..total {
        tick.tick().await;
        send(seq, &format!("k{}", seq % 64));
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
    drain(&samples, total).await;
    token.cancel();
    run.await.expect("consumer task");
    samples
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).map_or(20, |s| s.parse().expect("seconds"));
    let rate: u64 = args.get(2).map_or(1000, |s| s.parse().expect("rate"));
    let linger: Option<String> = args.get(3).filter(|l| *l != "-").cloned();
    let rounds: u64 = args.get(4).map_or(3, |s| s.parse().expect("rounds"));
    let mut settings = ClientSettings::new(bootstrap())
        .with_service_name("latency-bench")
        .with_avro(registry_url())
        .expect("registry client");
    if let Some(l) = &linger {
        settings = settings.with_property("linger.ms", l.clone());
    }
    // Fresh topics per round and variant: a new group never sees records of
    // an earlier round.
    let topic_of = |variant: &str, round: u64| format!("lat-{variant}-{round}-{}", unique_suffix());
    let payload = settings
        .codec()
        .encode("lat-payload", &one_kb_event(0))
        .await
        .expect("encode");
    println!(
        "setup: {} brokers, RF 3, min.insync.replicas 2, 3 partitions, acks=all, {rate} records/s for {secs} s per variant and round (first second warm-up), {rounds} rounds, variants interleaved, value ~{} bytes Avro, linger.ms {}, load average {}",
        bootstrap().split(',').count(),
        payload.len(),
        linger.as_deref().unwrap_or("librdkafka default (5)"),
        load_average()
    );
    // Interleaved, the order alternating per round, so both variants see
    // the same machine; the last lines pool every round's samples.
    let mut pooled: [(Vec<u64>, u64, u64); 2] = Default::default();
    for round in 0..rounds {
        for variant in [round % 2, 1 - round % 2] {
            let name = ["typed", "raw"][variant as usize];
            let topic = topic_of(name, round);
            create_topic(&topic, 3, 3, 2).await;
            let samples = if variant == 0 {
                typed(&settings, &Topic::named(topic), secs, rate).await
            } else {
                raw(&settings, &topic, secs, rate, &payload).await
            };
            println!(
                "round {}: {} (load {})",
                round + 1,
                samples.summary(name, secs * rate),
                load_average()
            );
            let p = &mut pooled[variant as usize];
            p.0.extend(samples.us.lock().expect("samples").iter());
            p.1 += secs * rate;
            p.2 += samples.data.load(Ordering::Relaxed);
        }
    }
    for (name, (us, sent, received)) in ["typed (all rounds)", "raw (all rounds)"]
        .into_iter()
        .zip(pooled)
    {
        println!("{}", summary(name, us, sent, received));
    }
    println!("load average at end {}", load_average());
}
