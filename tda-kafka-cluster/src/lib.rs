//! TDA Kafka cluster (under construction).
