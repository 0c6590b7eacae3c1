//! TDA Kafka examples.
