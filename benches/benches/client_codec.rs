//! Typed JSON and Avro encode/decode per message, against bare apache-avro.
//!
//! Needs a Confluent-compatible registry for the Avro cases:
//! `TDA_KAFKA_BENCH_REGISTRY_URL` (or `TDA_KAFKA_TEST_REGISTRY_URL`).

use std::hint::black_box;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use criterion::{criterion_group, criterion_main, Criterion};
use tda_kafka_benches::client::{one_kb_event, registry_url};
use tda_kafka_client::model::{samples, JobResult, SystemEvent};
use tda_kafka_client::{Codec, RegistryClient, TdaMessage};

fn codec(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let event = one_kb_event(0);
    let result = samples::job_result("job-1");
    let json = Codec::Json;
    let registry = std::sync::Arc::new(RegistryClient::new(registry_url()).unwrap());
    let avro = Codec::Avro(registry.clone());
    let topic = format!("bench-codec-{}", std::process::id());
    let topic_r = format!("bench-codec-results-{}", std::process::id());

    let mut g = c.benchmark_group("encode");
    g.bench_function("json/system_event_1kb", |b| {
        b.to_async(&rt)
            .iter(|| json.encode(&topic, black_box(&event)))
    });
    g.bench_function("avro_typed_warm/system_event_1kb", |b| {
        b.to_async(&rt)
            .iter(|| avro.encode(&topic, black_box(&event)))
    });
    let writer = GenericDatumWriter::builder(SystemEvent::avro_schema())
        .build()
        .unwrap();
    g.bench_function("avro_bare_datum/system_event_1kb", |b| {
        b.iter(|| writer.write_ser_to_vec(black_box(&event)).unwrap())
    });
    // The same with the buffer pre-sized as the typed path does (the fairest
    // baseline for the 5-byte header + map look-up overhead).
    g.bench_function("avro_bare_datum_presized/system_event_1kb", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(256);
            writer.write_ser(&mut buf, black_box(&event)).unwrap();
            buf
        })
    });
    g.bench_function("json/job_result", |b| {
        b.to_async(&rt)
            .iter(|| json.encode(&topic_r, black_box(&result)))
    });
    g.bench_function("avro_typed_warm/job_result", |b| {
        b.to_async(&rt)
            .iter(|| avro.encode(&topic_r, black_box(&result)))
    });
    let rwriter = GenericDatumWriter::builder(JobResult::avro_schema())
        .build()
        .unwrap();
    g.bench_function("avro_bare_datum/job_result", |b| {
        b.iter(|| rwriter.write_ser_to_vec(black_box(&result)).unwrap())
    });
    g.finish();

    let json_bytes = rt.block_on(json.encode(&topic, &event)).unwrap();
    let avro_bytes = rt.block_on(avro.encode(&topic, &event)).unwrap();
    let mut g = c.benchmark_group("decode");
    g.bench_function("json/system_event_1kb", |b| {
        b.to_async(&rt)
            .iter(|| json.decode::<SystemEvent>(black_box(&json_bytes)))
    });
    g.bench_function("avro_typed_warm/system_event_1kb", |b| {
        b.to_async(&rt)
            .iter(|| avro.decode::<SystemEvent>(black_box(&avro_bytes)))
    });
    let schema = SystemEvent::avro_schema();
    let reader = GenericDatumReader::builder(schema)
        .reader_schema(schema)
        .build()
        .unwrap();
    g.bench_function("avro_bare_datum/system_event_1kb", |b| {
        b.iter(|| {
            let v = reader.read_value(&mut &avro_bytes[5..]).unwrap();
            apache_avro::from_value::<SystemEvent>(&v).unwrap()
        })
    });
    g.finish();
    assert_eq!(registry.http_requests(), 2, "one registration per subject");
}

criterion_group!(benches, codec);
criterion_main!(benches);
