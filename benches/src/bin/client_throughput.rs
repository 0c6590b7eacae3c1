//! Producer and consumer throughput of tda-kafka-client against raw rdkafka
//! on the same cluster with the same settings (acks=all, idempotence, lz4),
//! 1 KB values. Prints messages per second and the typed/raw ratios.
//!
//! ```text
//! TDA_KAFKA_BENCH_BOOTSTRAP=127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094 \
//! TDA_KAFKA_BENCH_REGISTRY_URL=http://127.0.0.1:38081/apis/ccompat/v7 \
//! cargo run --release -p tda-kafka-benches --bin client-throughput -- 50000 3
//! ```
//! Arguments: messages per run (default 50000), rounds (default 3; median and
//! best round of each variant are reported). `client-throughput codec` instead
//! compares warm typed Avro encoding with bare apache-avro datum encoding.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use tda_kafka_benches::client::{bootstrap, one_kb_event, registry_url};
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, Events, Received, SendOptions, TdaConsumer, TdaProducer, Topic,
};
use tokio_util::sync::CancellationToken;

async fn create_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    for r in admin
        .create_topics(
            [&NewTopic::new(name, 3, TopicReplication::Fixed(3))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap()
    {
        r.unwrap();
    }
}

/// Raw FutureProducer, pre-serialized bytes, pipelined.
async fn raw_produce(
    settings: &ClientSettings,
    topic: &str,
    payload: &[u8],
    headers: Option<&OwnedHeaders>,
    n: usize,
) -> f64 {
    let p: FutureProducer = settings.producer_config().create().unwrap();
    let keys: Vec<String> = (0..n).map(|i| format!("k{}", i % 64)).collect();
    let t = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for k in &keys {
        let mut rec = FutureRecord::to(topic).key(k.as_bytes()).payload(payload);
        if let Some(h) = headers {
            rec = rec.headers(h.clone());
        }
        loop {
            match p.send_result(rec) {
                Ok(f) => break pending.push(f),
                Err((_, back)) => {
                    rec = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    for f in pending {
        f.await.unwrap().unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Typed producer: encodes every value (JSON or Avro) and adds the headers.
async fn typed_produce(settings: &ClientSettings, topic: &Topic<Events>, n: usize) -> f64 {
    let p = TdaProducer::new(settings).unwrap();
    let values: Vec<_> = (0..n as u64).map(one_kb_event).collect();
    let keys: Vec<String> = (0..n).map(|i| format!("k{}", i % 64)).collect();
    // Warm the schema cache outside the timed part (one registry call).
    p.send(topic, &keys[0], &values[0]).await.unwrap();
    let t = Instant::now();
    let mut pending = Vec::with_capacity(n);
    let opts = SendOptions::default();
    for (k, v) in keys.iter().zip(&values) {
        pending.push(p.enqueue(topic, k, v, &opts).await.unwrap());
    }
    for f in pending {
        f.await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

async fn raw_consume(settings: &ClientSettings, topic: &str, n: usize) -> f64 {
    let c: StreamConsumer = settings
        .consumer_config(&format!("bench-raw-{}", rand_seed()))
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let first = c
        .recv()
        .await
        .unwrap()
        .payload()
        .map(<[u8]>::len)
        .unwrap_or(0);
    let t = Instant::now();
    let mut bytes = first;
    for _ in 1..n {
        bytes += c
            .recv()
            .await
            .unwrap()
            .payload()
            .map(<[u8]>::len)
            .unwrap_or(0);
    }
    assert!(bytes > 0);
    (n - 1) as f64 / t.elapsed().as_secs_f64()
}

/// Raw StreamConsumer doing the same work by hand: decode the Avro datum
/// with a prepared apache-avro reader and store the offset.
async fn raw_consume_decode(settings: &ClientSettings, topic: &str, n: usize) -> f64 {
    use apache_avro::reader::datum::GenericDatumReader;
    use tda_kafka_client::model::SystemEvent;
    use tda_kafka_client::TdaMessage;
    let schema = SystemEvent::avro_schema();
    let reader = GenericDatumReader::builder(schema)
        .reader_schema(schema)
        .build()
        .unwrap();
    let c: StreamConsumer = settings
        .consumer_config(&format!("bench-rawd-{}", rand_seed()))
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut t = None;
    for i in 0..n {
        let m = c.recv().await.unwrap();
        if i == 0 {
            t = Some(Instant::now());
        }
        let v = reader.read_value(&mut &m.payload().unwrap()[5..]).unwrap();
        let e: SystemEvent = apache_avro::from_value(&v).unwrap();
        assert!(!e.message.is_empty());
        c.store_offset_from_message(&m).unwrap();
    }
    (n - 1) as f64 / t.unwrap().elapsed().as_secs_f64()
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn typed_consume(
    settings: &ClientSettings,
    topic: &Topic<Events>,
    n: usize,
    concurrency: usize,
) -> f64 {
    let c = TdaConsumer::new(
        settings,
        topic.clone(),
        ConsumerOptions::new(format!("bench-typed-{}", rand_seed())).with_concurrency(concurrency),
    )
    .unwrap();
    let token = CancellationToken::new();
    let count = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let (t2, c2, s2) = (token.clone(), count.clone(), start.clone());
    let stats = c
        .run(
            move |r: Received<Events>| {
                let (t2, c2, s2) = (t2.clone(), c2.clone(), s2.clone());
                async move {
                    assert!(!r.value.message.is_empty());
                    let seen = c2.fetch_add(1, Ordering::SeqCst) + 1;
                    if seen == 1 {
                        *s2.lock().unwrap() = Some(Instant::now());
                    }
                    if seen >= n {
                        t2.cancel();
                    }
                    Ok(())
                }
            },
            token,
        )
        .await
        .unwrap();
    let elapsed = start.lock().unwrap().unwrap().elapsed();
    assert!(stats.processed as usize >= n);
    (n - 1) as f64 / elapsed.as_secs_f64()
}

/// Warm typed Avro encode vs bare apache-avro datum encoding, interleaved in
/// small batches so machine noise hits both alike; the fastest batch of each
/// is compared (`client-throughput codec`).
async fn codec_ratio() {
    use apache_avro::writer::datum::GenericDatumWriter;
    use tda_kafka_client::model::SystemEvent;
    use tda_kafka_client::TdaMessage;
    const BATCH: u32 = 2_000;
    let registry = tda_kafka_client::RegistryClient::new(registry_url()).unwrap();
    let topic = format!("bench-ratio-{}", rand_seed());
    let event = one_kb_event(7);
    registry.encode(&topic, &event).await.unwrap();
    let writer = GenericDatumWriter::builder(SystemEvent::avro_schema())
        .build()
        .unwrap();
    let (mut typed, mut bare, mut presized) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..300 {
        let t = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(
                registry
                    .encode(&topic, std::hint::black_box(&event))
                    .await
                    .unwrap(),
            );
        }
        typed = typed.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        let t = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(
                writer
                    .write_ser_to_vec(std::hint::black_box(&event))
                    .unwrap(),
            );
        }
        bare = bare.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        let t = Instant::now();
        for _ in 0..BATCH {
            let mut buf = Vec::with_capacity(256);
            writer
                .write_ser(&mut buf, std::hint::black_box(&event))
                .unwrap();
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

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn report(what: &str, raw: &[f64], typed: &[(&str, &[f64])]) {
    let mut line = format!(
        "{what}: raw median {:.0}/s best {:.0}/s",
        median(raw),
        best(raw)
    );
    for (name, v) in typed {
        line += &format!(
            " | {name} median {:.0}/s ({:.2}x) best {:.0}/s ({:.2}x)",
            median(v),
            median(v) / median(raw),
            best(v),
            best(v) / best(raw)
        );
    }
    println!("{line}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("codec") {
        return codec_ratio().await;
    }
    let n: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(50_000);
    let rounds: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(3);
    let json = ClientSettings::new(bootstrap()).with_service_name("bench");
    let avro = json.clone().with_avro(registry_url()).unwrap();
    let registry = avro.codec().registry().unwrap().clone();
    let id = rand_seed();

    let raw_topic = format!("bench-raw-{id}");
    let json_topic = Topic::<Events>::named(format!("bench-json-{id}"));
    let avro_topic = Topic::<Events>::named(format!("bench-avro-{id}"));
    for t in [
        &raw_topic,
        &json_topic.name().to_owned(),
        &avro_topic.name().to_owned(),
    ] {
        create_topic(t).await;
    }
    let payload = avro
        .codec()
        .encode(avro_topic.name(), &one_kb_event(0))
        .await
        .unwrap();
    println!(
        "value size: avro {} bytes, json {} bytes",
        payload.len(),
        json.codec()
            .encode("x", &one_kb_event(0))
            .await
            .unwrap()
            .len()
    );

    // The standard headers the typed producer adds, pre-built once.
    let headers = tda_kafka_client::StandardHeaders {
        message_id: tda_kafka_client::headers::new_message_id(),
        correlation_id: None,
        content_type: tda_kafka_client::headers::CONTENT_TYPE_AVRO.into(),
        schema_version: 1,
        produced_at_ms: 1_700_000_000_000,
    }
    .to_kafka(&[]);
    let (mut raw, mut rawh, mut tj, mut ta) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        // Alternate the order so no variant always runs first.
        let (r, h, j, a) = if round % 2 == 0 {
            let r = raw_produce(&json, &raw_topic, &payload, None, n).await;
            let h = raw_produce(&json, &raw_topic, &payload, Some(&headers), n).await;
            let a = typed_produce(&avro, &avro_topic, n).await;
            let j = typed_produce(&json, &json_topic, n).await;
            (r, h, j, a)
        } else {
            let j = typed_produce(&json, &json_topic, n).await;
            let a = typed_produce(&avro, &avro_topic, n).await;
            let h = raw_produce(&json, &raw_topic, &payload, Some(&headers), n).await;
            let r = raw_produce(&json, &raw_topic, &payload, None, n).await;
            (r, h, j, a)
        };
        println!(
            "produce round {round}: raw {r:.0}/s, raw+headers {h:.0}/s, typed json {j:.0}/s, typed avro {a:.0}/s"
        );
        raw.push(r);
        rawh.push(h);
        tj.push(j);
        ta.push(a);
    }
    report(
        "PRODUCE vs raw",
        &raw,
        &[("typed json", &tj), ("typed avro", &ta)],
    );
    report(
        "PRODUCE vs raw+headers",
        &rawh,
        &[("typed json", &tj), ("typed avro", &ta)],
    );

    let (mut craw, mut crd, mut cj, mut ca, mut ci) = (vec![], vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let r = raw_consume(&json, &raw_topic, n).await;
        let d = raw_consume_decode(&json, &raw_topic, n).await;
        let j = typed_consume(&json, &json_topic, n, 3).await;
        let a = typed_consume(&avro, &avro_topic, n, 3).await;
        let i = typed_consume(&avro, &avro_topic, n, 1).await;
        println!(
            "consume round {round}: raw recv {r:.0}/s, raw recv+decode+store {d:.0}/s, typed json {j:.0}/s, typed avro {a:.0}/s, typed avro inline (concurrency 1) {i:.0}/s"
        );
        craw.push(r);
        crd.push(d);
        cj.push(j);
        ca.push(a);
        ci.push(i);
    }
    report(
        "CONSUME vs raw recv",
        &craw,
        &[("typed json", &cj), ("typed avro", &ca)],
    );
    report(
        "CONSUME vs raw recv+decode+store",
        &crd,
        &[("typed avro", &ca), ("typed avro inline", &ci)],
    );
    println!(
        "registry HTTP calls in this process: {} (subjects registered: 1, {}-value)",
        registry.http_requests(),
        avro_topic.name()
    );
}
