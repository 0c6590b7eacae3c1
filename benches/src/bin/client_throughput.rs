//! What tda-kafka-client costs over the best raw rdkafka usage with the same
//! librdkafka settings (`ClientSettings::producer_config()` /
//! `consumer_config()`: acks=all, idempotence, lz4, max.in.flight 5,
//! librdkafka's default linger/batch/queue/fetch sizes; explicit offset
//! stores), ~1 KB Avro values. Every phase reports wall throughput and the
//! CPU time of this whole process per record (`getrusage(RUSAGE_SELF)`: all
//! threads, librdkafka's included). Variants are interleaved in each round
//! (the order alternates); medians over the rounds and their ratios are
//! printed.
//!
//! ```text
//! TDA_KAFKA_BENCH_BOOTSTRAP=127.0.0.1:21092,127.0.0.1:21093,127.0.0.1:21094 \
//! TDA_KAFKA_BENCH_REGISTRY_URL=http://127.0.0.1:21081/apis/ccompat/v7 \
//! cargo run --release -p tda-kafka-benches --bin client-throughput -- 50000 5 1
//! ```
//! Arguments: records per phase (default 50000), rounds (default 5),
//! replication factor of the bench topics (default 1, with
//! `min.insync.replicas=1`, so the brokers leave the client headroom; 3
//! partitions). `client-throughput codec` instead compares warm typed Avro
//! encoding with bare apache-avro datum encoding.
//!
//! Producers (every one sends the same 200 000 distinct values, so the same
//! bytes reach the compressor): "raw" is an rdkafka `ThreadedProducer` whose
//! delivery callback counts acknowledgements, sending the values
//! pre-serialized before the phase, without headers; "raw+headers" adds the
//! four headers a typed send carries (a fresh message id, content type,
//! schema version, produce time), built per record; "raw+encode" also
//! encodes each value in the loop with a prepared apache-avro datum writer
//! behind the 5-byte Confluent frame, i.e. what a careful hand-written Avro
//! producer does; "typed" is `TdaProducer::enqueue` (encodes each value,
//! builds the headers, one `PendingDelivery` per record, all awaited at the
//! end). Raw producers serve delivery reports from the sending loop every 64
//! records, as `TdaProducer` does. `TDA_KAFKA_BENCH_VARIANTS=typed` (a
//! comma-separated list) runs only some variants, e.g. under a profiler.
//!
//! Consumers all read the typed producer's topic from the start in a fresh
//! group: "raw stream" is a `StreamConsumer` that decodes each value with a
//! prepared apache-avro reader and stores its offset (commits every second
//! like the typed consumer); "raw base" does the same on a `BaseConsumer`
//! polled in a plain thread; "typed cN" is `TdaConsumer::run` with
//! concurrency N and a handler that counts. Throughput runs from the first
//! record to the N-th; CPU from the consumer's creation to the N-th record.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message};
use tda_kafka_benches::client::{
    bootstrap, create_topic, load_average, median, one_kb_event, registry_url, unique_suffix, Mark,
    Phase,
};
use tda_kafka_client::headers::{self, new_message_id};
use tda_kafka_client::model::{now_ms, SystemEvent};
use tda_kafka_client::producer::SERVE_DELIVERIES_EVERY;
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, Events, Received, SendOptions, TdaConsumer, TdaMessage,
    TdaProducer, Topic,
};
use tokio_util::sync::CancellationToken;

/// Counts acknowledgements and failures in librdkafka's delivery callback.
#[derive(Default)]
struct Counting {
    acked: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// The headers a typed Avro send of a `SystemEvent` carries, built fresh.
fn typed_headers() -> OwnedHeaders {
    let id = new_message_id();
    let version = SystemEvent::SCHEMA_VERSION.to_string();
    let produced = now_ms().to_string();
    OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: headers::MESSAGE_ID,
            value: Some(id.as_str()),
        })
        .insert(Header {
            key: headers::CONTENT_TYPE,
            value: Some(headers::CONTENT_TYPE_AVRO),
        })
        .insert(Header {
            key: headers::SCHEMA_VERSION,
            value: Some(version.as_str()),
        })
        .insert(Header {
            key: headers::PRODUCED_AT,
            value: Some(produced.as_str()),
        })
}

/// What a raw producer sends per record.
#[derive(Clone, Copy)]
enum RawSend {
    /// The pre-serialized value, no headers.
    Bare,
    /// The pre-serialized value and the four headers of a typed send.
    Headers,
    /// The headers, and the value Avro-encoded per record by hand: the
    /// 5-byte Confluent frame, then a prepared apache-avro datum writer.
    Encode,
}

/// Raw `ThreadedProducer` with a counting delivery callback. Like
/// `TdaProducer`, it serves the queued delivery reports on the sending
/// thread every [`SERVE_DELIVERIES_EVERY`] records (librdkafka's own
/// advice: poll from the producing loop), which costs less CPU than leaving
/// them all to the polling thread.
fn raw_produce(settings: &ClientSettings, topic: &str, records: &Records, how: RawSend) -> Phase {
    let p: ThreadedProducer<Counting> = settings
        .producer_config()
        .create_with_context(Counting::default())
        .expect("raw producer");
    let writer =
        apache_avro::writer::datum::GenericDatumWriter::builder(SystemEvent::avro_schema())
            .build()
            .expect("avro writer");
    // Connect, fetch metadata and the producer id outside the timed part,
    // as the typed run does with its warm-up send.
    p.send(
        BaseRecord::to(topic)
            .key("warm-up")
            .payload(&records.payloads[0]),
    )
    .map_err(|(e, _)| e)
    .expect("warm-up send");
    p.flush(Duration::from_secs(30)).expect("warm-up flush");
    let warm = p.context().acked.swap(0, Ordering::Relaxed);
    assert_eq!(warm, 1, "warm-up record not acknowledged");
    let frame = &records.payloads[0][..5];
    let start = Mark::now();
    for (i, k) in records.keys.iter().enumerate() {
        let encoded;
        let payload: &[u8] = match how {
            RawSend::Encode => {
                let mut buf = Vec::with_capacity(records.payloads[i].len());
                buf.extend_from_slice(frame);
                writer
                    .write_ser(&mut buf, &records.values[i])
                    .expect("encode");
                encoded = buf;
                &encoded
            }
            RawSend::Bare | RawSend::Headers => &records.payloads[i],
        };
        let mut rec = BaseRecord::to(topic).key(k.as_str()).payload(payload);
        if !matches!(how, RawSend::Bare) {
            rec = rec.headers(typed_headers());
        }
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    // Queue full: let the deliveries drain it.
                    rec = back;
                    p.poll(Duration::from_millis(1));
                }
            }
        }
        if (i as u64).is_multiple_of(SERVE_DELIVERIES_EVERY) {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(60)).expect("flush");
    let end = Mark::now();
    let ctx = p.context();
    assert_eq!(
        ctx.failed.load(Ordering::Relaxed),
        0,
        "raw deliveries failed"
    );
    assert_eq!(ctx.acked.load(Ordering::Relaxed), records.len() as u64);
    Phase::between(start, start, end, records.len())
}

/// The records of every producer phase: keys, values, and the values
/// serialized by the typed codec beforehand (the same bytes the typed
/// producer sends, so the raw producers send identical data).
struct Records {
    keys: Vec<String>,
    values: Vec<SystemEvent>,
    payloads: Vec<Vec<u8>>,
}

impl Records {
    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Typed producer: encodes every value and adds the standard headers.
async fn typed_produce(
    settings: &ClientSettings,
    topic: &Topic<Events>,
    records: &Records,
) -> Phase {
    let (keys, values) = (&records.keys, &records.values);
    let p = TdaProducer::new(settings).expect("typed producer");
    // Warm the schema cache outside the timed part (one registry call).
    p.send(topic, &keys[0], &values[0])
        .await
        .expect("warm-up send");
    let start = Mark::now();
    let opts = SendOptions::default();
    let mut pending = Vec::with_capacity(keys.len());
    for (k, v) in keys.iter().zip(values) {
        pending.push(p.enqueue(topic, k, v, &opts).await.expect("enqueue"));
    }
    for f in pending {
        f.await.expect("delivery");
    }
    let end = Mark::now();
    Phase::between(start, start, end, keys.len())
}

/// A prepared Avro reader for `SystemEvent` datums.
fn avro_reader() -> apache_avro::reader::datum::GenericDatumReader<'static> {
    let schema = SystemEvent::avro_schema();
    apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .reader_schema(schema)
        .build()
        .expect("avro reader")
}

/// Decodes a Confluent-framed `SystemEvent` the way a careful hand-written
/// consumer would: skip the 5-byte frame, read the datum, deserialize.
fn raw_decode(
    reader: &apache_avro::reader::datum::GenericDatumReader<'_>,
    payload: &[u8],
) -> SystemEvent {
    let v = reader.read_value(&mut &payload[5..]).expect("datum");
    apache_avro::from_value(&v).expect("SystemEvent")
}

/// Raw `StreamConsumer`: recv, decode, store the offset; commit every second.
async fn raw_stream_consume(settings: &ClientSettings, topic: &str, n: usize) -> Phase {
    let reader = avro_reader();
    let created = Mark::now();
    let c: StreamConsumer = settings
        .consumer_config(&format!("bench-raws-{}", unique_suffix()))
        .create()
        .expect("raw consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let mut first = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seen = 0;
    while seen < n {
        tokio::select! {
            biased;
            _ = tick.tick() => { let _ = c.commit_consumer_state(CommitMode::Async); }
            m = c.recv() => {
                let m = m.expect("recv");
                first.get_or_insert_with(Mark::now);
                let e = raw_decode(&reader, m.payload().expect("payload"));
                assert!(!e.message.is_empty());
                c.store_offset_from_message(&m).expect("store");
                seen += 1;
            }
        }
    }
    let end = Mark::now();
    let _ = c.commit_consumer_state(CommitMode::Sync);
    Phase::between(first.expect("first record"), created, end, n - 1)
}

/// Raw `BaseConsumer` polled in a plain thread: the same work, no async.
fn raw_base_consume(settings: &ClientSettings, topic: &str, n: usize) -> Phase {
    let reader = avro_reader();
    let created = Mark::now();
    let c: BaseConsumer = settings
        .consumer_config(&format!("bench-rawb-{}", unique_suffix()))
        .create()
        .expect("raw consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let mut first = None;
    let mut last_commit = std::time::Instant::now();
    let mut seen = 0;
    while seen < n {
        let Some(m) = c.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("poll");
        first.get_or_insert_with(Mark::now);
        let e = raw_decode(&reader, m.payload().expect("payload"));
        assert!(!e.message.is_empty());
        c.store_offset_from_message(&m).expect("store");
        seen += 1;
        if last_commit.elapsed() >= Duration::from_secs(1) {
            let _ = c.commit_consumer_state(CommitMode::Async);
            last_commit = std::time::Instant::now();
        }
    }
    let end = Mark::now();
    let _ = c.commit_consumer_state(CommitMode::Sync);
    Phase::between(first.expect("first record"), created, end, n - 1)
}

/// `TdaConsumer::run` with `concurrency`, a handler that checks and counts.
async fn typed_consume(
    settings: &ClientSettings,
    topic: &Topic<Events>,
    n: usize,
    concurrency: usize,
) -> Phase {
    let created = Mark::now();
    let c = TdaConsumer::new(
        settings,
        topic.clone(),
        ConsumerOptions::new(format!("bench-typed-{}", unique_suffix()))
            .with_concurrency(concurrency),
    )
    .expect("typed consumer");
    let token = CancellationToken::new();
    let count = Arc::new(AtomicUsize::new(0));
    let marks = Arc::new(Mutex::new((None::<Mark>, None::<Mark>)));
    let (t2, c2, m2) = (token.clone(), count.clone(), marks.clone());
    let stats = c
        .run(
            move |r: Received<Events>| {
                assert!(!r.value.message.is_empty());
                let seen = c2.fetch_add(1, Ordering::Relaxed) + 1;
                if seen == 1 {
                    m2.lock().expect("marks").0 = Some(Mark::now());
                }
                if seen == n {
                    m2.lock().expect("marks").1 = Some(Mark::now());
                    t2.cancel();
                }
                std::future::ready(Ok(()))
            },
            token,
        )
        .await
        .expect("typed run");
    assert!(stats.processed as usize >= n);
    let (first, end) = *marks.lock().expect("marks");
    Phase::between(first.expect("first"), created, end.expect("end"), n - 1)
}

/// Warm typed Avro encode vs bare apache-avro datum encoding, interleaved in
/// small batches so machine noise hits both alike; the fastest batch of each
/// is compared (`client-throughput codec`).
async fn codec_ratio() {
    use apache_avro::writer::datum::GenericDatumWriter;
    const BATCH: u32 = 2_000;
    let registry = tda_kafka_client::RegistryClient::new(registry_url()).expect("registry");
    let topic = format!("bench-ratio-{}", unique_suffix());
    let event = one_kb_event(7);
    registry.encode(&topic, &event).await.expect("register");
    let writer = GenericDatumWriter::builder(SystemEvent::avro_schema())
        .build()
        .expect("writer");
    let (mut typed, mut bare, mut presized) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..300 {
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(
                registry
                    .encode(&topic, std::hint::black_box(&event))
                    .await
                    .expect("encode"),
            );
        }
        typed = typed.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(
                writer
                    .write_ser_to_vec(std::hint::black_box(&event))
                    .expect("encode"),
            );
        }
        bare = bare.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            let mut buf = Vec::with_capacity(256);
            writer
                .write_ser(&mut buf, std::hint::black_box(&event))
                .expect("encode");
            std::hint::black_box(buf);
        }
        presized = presized.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
    }
    println!(
        "AVRO ENCODE (1 KB SystemEvent, best of 300 batches of {BATCH}): typed warm {typed:.0} ns | bare write_ser_to_vec {bare:.0} ns ({:.2}x) | bare pre-sized buffer {presized:.0} ns ({:.2}x)",
        typed / bare,
        typed / presized
    );
    println!(
        "registry HTTP calls: {} (one registration)",
        registry.http_requests()
    );
}

/// Per-variant phases over the rounds.
#[derive(Default)]
struct Series(Vec<(&'static str, Vec<Phase>)>);

impl Series {
    fn push(&mut self, name: &'static str, p: Phase) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(p),
            None => self.0.push((name, vec![p])),
        }
    }

    /// Median rate and CPU per record of `name`, if it ran.
    fn medians(&self, name: &str) -> Option<(f64, f64)> {
        let v = &self.0.iter().find(|(n, _)| *n == name)?.1;
        let rate: Vec<f64> = v.iter().map(|p| p.rate).collect();
        let cpu: Vec<f64> = v.iter().map(|p| p.cpu_us).collect();
        Some((median(&rate), median(&cpu)))
    }

    /// One line per typed variant: median rate and CPU, ratios to `base`
    /// (for the variants that ran).
    fn report(&self, what: &str, base: &str, others: &[&str]) {
        let Some((br, bc)) = self.medians(base) else {
            return;
        };
        println!("{what}: {base} median {br:.0}/s, {bc:.2} CPU-us/record");
        for o in others {
            let Some((r, c)) = self.medians(o) else {
                continue;
            };
            println!(
                "  {o}: median {r:.0}/s ({:.2}x {base}), {c:.2} CPU-us/record ({:.2}x {base})",
                r / br,
                c / bc
            );
        }
    }
}

/// The producer variants, in the order of even rounds.
const PRODUCERS: [&str; 4] = ["raw", "raw+headers", "raw+encode", "typed"];
/// The consumer variants, in the order of even rounds.
const CONSUMERS: [&str; 4] = ["raw stream", "raw base", "typed c1", "typed c3"];

/// `TDA_KAFKA_BENCH_VARIANTS`: a comma-separated subset of the variants to
/// run (e.g. `typed` alone under a profiler); all when unset.
fn selected_variants() -> Option<Vec<String>> {
    let v = std::env::var("TDA_KAFKA_BENCH_VARIANTS").ok()?;
    let names: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
    for n in &names {
        assert!(
            PRODUCERS.contains(&n.as_str()) || CONSUMERS.contains(&n.as_str()),
            "TDA_KAFKA_BENCH_VARIANTS: unknown variant {n:?}; known: {PRODUCERS:?} {CONSUMERS:?}"
        );
    }
    Some(names)
}

fn round_line(what: &str, round: usize, phases: &[(&str, Phase)]) {
    let parts: Vec<String> = phases
        .iter()
        .map(|(n, p)| format!("{n} {:.0}/s {:.2}us", p.rate, p.cpu_us))
        .collect();
    println!("{what} round {round}: {}", parts.join(" | "));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("codec") {
        return codec_ratio().await;
    }
    let arg = |i: usize, default: usize| {
        args.get(i)
            .map(|s| s.parse().expect("a number"))
            .unwrap_or(default)
    };
    let (n, rounds, rf) = (arg(1, 50_000), arg(2, 5), arg(3, 1) as i32);
    let settings = ClientSettings::new(bootstrap())
        .with_service_name("bench")
        .with_avro(registry_url())
        .expect("registry client");
    let registry = settings.codec().registry().expect("avro").clone();
    let id = unique_suffix();
    let raw_topic = format!("bench-raw-{id}");
    let typed_topic = Topic::<Events>::named(format!("bench-typed-{id}"));
    for t in [raw_topic.as_str(), typed_topic.name()] {
        create_topic(t, 3, rf, rf.min(2)).await;
    }
    let keys: Vec<String> = (0..n).map(|i| format!("k{}", i % 64)).collect();
    let values: Vec<SystemEvent> = (0..n as u64).map(one_kb_event).collect();
    let mut payloads = Vec::with_capacity(n);
    for v in &values {
        let bytes = settings.codec().encode(typed_topic.name(), v).await;
        payloads.push(bytes.expect("encode"));
    }
    let records = Records {
        keys,
        values,
        payloads,
    };
    let only = selected_variants();
    println!(
        "setup: brokers {}, topics RF {rf} (min.insync.replicas {}), 3 partitions, value {} bytes Avro, {n} records per phase, {rounds} rounds, variants {}, load average at start {}",
        bootstrap().split(',').count(),
        rf.min(2),
        records.payloads[0].len(),
        only.as_deref().map_or("all".to_string(), |v| v.join(",")),
        load_average()
    );
    let runs = |name: &str| only.as_ref().is_none_or(|v| v.iter().any(|o| o == name));

    let mut prod = Series::default();
    for round in 0..rounds {
        let mut phases = Vec::new();
        let mut order = PRODUCERS;
        if round % 2 == 1 {
            order.reverse();
        }
        for name in order.into_iter().filter(|n| runs(n)) {
            let p = match name {
                "raw" => raw_produce(&settings, &raw_topic, &records, RawSend::Bare),
                "raw+headers" => raw_produce(&settings, &raw_topic, &records, RawSend::Headers),
                "raw+encode" => raw_produce(&settings, &raw_topic, &records, RawSend::Encode),
                _ => typed_produce(&settings, &typed_topic, &records).await,
            };
            prod.push(name, p);
            phases.push((name, p));
        }
        round_line("produce", round, &phases);
    }
    if !runs("typed") && CONSUMERS.iter().any(|c| runs(c)) {
        // The consumers read the typed producer's topic.
        typed_produce(&settings, &typed_topic, &records).await;
    }

    let mut cons = Series::default();
    for round in 0..rounds {
        let mut phases = Vec::new();
        let mut order = CONSUMERS;
        if round % 2 == 1 {
            order.reverse();
        }
        for name in order.into_iter().filter(|n| runs(n)) {
            let p = match name {
                "raw stream" => raw_stream_consume(&settings, typed_topic.name(), n).await,
                "raw base" => {
                    let s = settings.clone();
                    let t = typed_topic.name().to_owned();
                    tokio::task::spawn_blocking(move || raw_base_consume(&s, &t, n))
                        .await
                        .expect("raw base thread")
                }
                "typed c1" => typed_consume(&settings, &typed_topic, n, 1).await,
                _ => typed_consume(&settings, &typed_topic, n, 3).await,
            };
            cons.push(name, p);
            phases.push((name, p));
        }
        round_line("consume", round, &phases);
    }

    prod.report("PRODUCE", "raw", &["raw+headers", "raw+encode", "typed"]);
    prod.report("PRODUCE", "raw+headers", &["typed"]);
    prod.report("PRODUCE", "raw+encode", &["typed"]);
    cons.report(
        "CONSUME",
        "raw stream",
        &["raw base", "typed c1", "typed c3"],
    );
    cons.report("CONSUME", "raw base", &["typed c1", "typed c3"]);
    println!(
        "registry HTTP calls in this process: {} (one registration, {}-value); load average at end {}",
        registry.http_requests(),
        typed_topic.name(),
        load_average()
    );
}
