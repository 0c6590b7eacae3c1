//! TDA Kafka admin (under construction).
