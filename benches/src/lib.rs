//! TDA Kafka benches.
