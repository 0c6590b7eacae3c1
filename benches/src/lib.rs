//! TDA Kafka benches.

/// Shared pieces of the tda-kafka-client benches.
pub mod client {
    use std::collections::HashMap;

    use tda_kafka_client::model::{EventSeverity, SystemEvent};

    /// A system event whose JSON and Avro encodings are about 1 KB.
    pub fn one_kb_event(i: u64) -> SystemEvent {
        SystemEvent {
            event_id: format!("evt-{i:012}"),
            event_type: "bench.payload".into(),
            source: "bench".into(),
            severity: EventSeverity::Info,
            message: "x".repeat(880),
            attributes: HashMap::from([("seq".to_string(), i.to_string())]),
            occurred_at_ms: 1_700_000_000_000 + i as i64,
        }
    }

    /// Registry URL: `TDA_KAFKA_BENCH_REGISTRY_URL` or `TDA_KAFKA_TEST_REGISTRY_URL`.
    pub fn registry_url() -> String {
        std::env::var("TDA_KAFKA_BENCH_REGISTRY_URL")
            .or_else(|_| std::env::var("TDA_KAFKA_TEST_REGISTRY_URL"))
            .expect(
                "set TDA_KAFKA_BENCH_REGISTRY_URL (e.g. http://127.0.0.1:38081/apis/ccompat/v7)",
            )
    }

    /// Brokers: `TDA_KAFKA_BENCH_BOOTSTRAP` or `TDA_KAFKA_TEST_BOOTSTRAP`.
    pub fn bootstrap() -> String {
        std::env::var("TDA_KAFKA_BENCH_BOOTSTRAP")
            .or_else(|_| std::env::var("TDA_KAFKA_TEST_BOOTSTRAP"))
            .expect("set TDA_KAFKA_BENCH_BOOTSTRAP (e.g. 127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094)")
    }
}
