//! Schema Registry behaviour against a real registry: caching, evolution,
//! and an independent decoder.

mod common;

use std::sync::OnceLock;

use apache_avro::{AvroSchema, Schema};
use common::*;
use serde::{Deserialize, Serialize};
use tda_kafka_client::model::{samples, JobResult, UploadEvent};
use tda_kafka_client::{RegistryClient, TdaMessage};

#[tokio::test]
async fn schema_ids_are_cached_one_registry_call_per_subject() {
    let registry = RegistryClient::new(registry_url()).unwrap();
    let topic = unique("cache");
    let other = unique("cache-other");
    let v = samples::job_result("j");
    let mut frames = Vec::new();
    for _ in 0..500 {
        frames.push(registry.encode(&topic, &v).await.unwrap());
    }
    assert_eq!(
        registry.http_requests(),
        1,
        "one registration for {topic}-value"
    );
    for _ in 0..500 {
        registry
            .encode(&other, &samples::upload("u"))
            .await
            .unwrap();
    }
    assert_eq!(
        registry.http_requests(),
        2,
        "one registration for {other}-value"
    );
    // A fresh client (another process) decodes: one schema fetch per id.
    let reader = RegistryClient::new(registry_url()).unwrap();
    for f in &frames {
        assert_eq!(reader.decode::<JobResult>(f).await.unwrap(), v);
    }
    assert_eq!(reader.http_requests(), 1, "one fetch of the schema by id");
    // The subject is registered under TopicNameStrategy.
    let body = reqwest_get(&format!(
        "{}/subjects/{topic}-value/versions/latest",
        registry_url()
    ))
    .await;
    let id = u32::from_be_bytes(frames[0][1..5].try_into().unwrap());
    assert!(body.contains(&format!("\"id\":{id}")), "{body}");
}

async fn reqwest_get(url: &str) -> String {
    // A tiny HTTP/1.0 GET so the test needs no HTTP client of its own.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// Version 1 of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.test")]
#[serde(rename = "Evolving")]
struct EvolvingV1 {
    id: String,
    count: i32,
}

/// Version 2 adds an optional field (default null), following the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.test")]
#[serde(rename = "Evolving")]
struct EvolvingV2 {
    id: String,
    count: i32,
    #[serde(default)]
    note: Option<String>,
}

impl TdaMessage for EvolvingV1 {
    const SCHEMA_VERSION: u32 = 1;
    fn avro_schema() -> &'static Schema {
        static S: OnceLock<Schema> = OnceLock::new();
        S.get_or_init(Self::get_schema)
    }
}

impl TdaMessage for EvolvingV2 {
    const SCHEMA_VERSION: u32 = 2;
    fn avro_schema() -> &'static Schema {
        static S: OnceLock<Schema> = OnceLock::new();
        S.get_or_init(Self::get_schema)
    }
}

#[tokio::test]
async fn old_and_new_readers_read_each_others_records() {
    let topic = unique("evolve");
    let old = RegistryClient::new(registry_url()).unwrap();
    let new = RegistryClient::new(registry_url()).unwrap();
    let v1 = EvolvingV1 {
        id: "a".into(),
        count: 1,
    };
    let v2 = EvolvingV2 {
        id: "b".into(),
        count: 2,
        note: Some("new field".into()),
    };
    let from_old = old.encode(&topic, &v1).await.unwrap();
    let from_new = new.encode(&topic, &v2).await.unwrap();
    assert_ne!(
        from_old[1..5],
        from_new[1..5],
        "two schema versions, two ids"
    );
    // Old consumer, new record: the unknown field is skipped.
    assert_eq!(
        old.decode::<EvolvingV1>(&from_new).await.unwrap(),
        EvolvingV1 {
            id: "b".into(),
            count: 2
        }
    );
    // New consumer, old record: the missing field takes its default.
    assert_eq!(
        new.decode::<EvolvingV2>(&from_old).await.unwrap(),
        EvolvingV2 {
            id: "a".into(),
            count: 1,
            note: None
        }
    );
}

#[tokio::test]
async fn an_independent_client_decodes_our_avro_through_the_registry() {
    let settings = avro_settings();
    let topic = unique("python");
    create_topic(&topic, 1).await;
    let producer = tda_kafka_client::TdaProducer::new(&settings).unwrap();
    let t = tda_kafka_client::Topic::<tda_kafka_client::Uploads>::named(topic.clone());
    let sent: Vec<UploadEvent> = (0..3)
        .map(|i| samples::upload(&format!("up-{i}")))
        .collect();
    for u in &sent {
        producer.send(&t, &u.upload_id, u).await.unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/decode_avro.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(bootstrap())
        .arg(registry_url())
        .arg(&topic)
        .arg(sent.len().to_string())
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python decoder failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "AvroDeserializer used too: {}",
        decoded["avro_deserializer_used"]
    );
    let decoded: Vec<serde_json::Value> =
        serde_json::from_value(decoded["records"].clone()).unwrap();
    let ours: Vec<serde_json::Value> = sent
        .iter()
        .map(|u| serde_json::to_value(u).unwrap())
        .collect();
    assert_eq!(decoded, ours);
}
