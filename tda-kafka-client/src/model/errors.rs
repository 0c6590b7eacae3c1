//! `tda_errors`: error records and dead letters.

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::tda_message;

/// Well-known values of [`ErrorRecord::error_kind`].
pub mod error_kind {
    /// The bytes could not be decoded (bad JSON, bad Avro, bad key).
    pub const UNDECODABLE: &str = "undecodable";
    /// An Avro record did not start with the Confluent magic byte 0.
    pub const WRONG_MAGIC_BYTE: &str = "wrong_magic_byte";
    /// The schema id of an Avro record is not known to the registry.
    pub const UNKNOWN_SCHEMA_ID: &str = "unknown_schema_id";
    /// The handler reported a permanent failure.
    pub const HANDLER_PERMANENT: &str = "handler_permanent";
    /// The handler kept failing with retriable errors until retries ran out.
    pub const RETRIES_EXHAUSTED: &str = "retries_exhausted";
}

/// Where a dead letter came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct ErrorOrigin {
    /// Topic of the original record.
    pub topic: String,
    /// Partition of the original record.
    pub partition: i32,
    /// Offset of the original record.
    pub offset: i64,
}

/// A message on `tda_errors` (key: the original key, or the source service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct ErrorRecord {
    /// The service that reports the error.
    pub source_service: String,
    /// Machine-readable kind, see [`error_kind`].
    pub error_kind: String,
    /// Human-readable message.
    pub message: String,
    /// The consumed record this error is about, if any.
    #[serde(default)]
    pub origin: Option<ErrorOrigin>,
    /// The original payload bytes of a poison message.
    #[serde(default, with = "apache_avro::serde::bytes_opt")]
    #[avro(with)]
    pub original_payload: Option<Vec<u8>>,
    /// When the error happened.
    pub occurred_at_ms: i64,
}

tda_message!(ErrorRecord, ErrorRecord, 1);
