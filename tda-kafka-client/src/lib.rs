//! TDA Kafka client (under construction).
