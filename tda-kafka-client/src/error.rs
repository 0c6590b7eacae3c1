//! The error type of the client.

use rdkafka::error::KafkaError;

/// Why bytes could not be turned into a typed message. Every kind is a
/// *poison* message: retrying cannot help, so the consumer dead-letters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not valid JSON / Avro for the type, a truncated frame, or a bad key.
    Undecodable,
    /// An Avro frame that does not start with the Confluent magic byte 0.
    WrongMagicByte,
    /// The registry definitely does not know the frame's schema id (it
    /// answered Confluent error 40403 while holding other schemas). An
    /// unreachable, misconfigured or emptied registry is not this kind: that
    /// is a retriable [`ClientError::Registry`].
    UnknownSchemaId,
}

impl DecodeErrorKind {
    /// The [`crate::model::error_kind`] string of this kind.
    pub fn as_str(self) -> &'static str {
        use crate::model::error_kind::*;
        match self {
            Self::Undecodable => UNDECODABLE,
            Self::WrongMagicByte => WRONG_MAGIC_BYTE,
            Self::UnknownSchemaId => UNKNOWN_SCHEMA_ID,
        }
    }
}

/// Errors of `tda-kafka-client`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A Kafka client call failed.
    #[error("kafka {operation} failed: {source}")]
    Kafka {
        /// What was being done.
        operation: &'static str,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The record was definitely not written (rejected for a reason that does
    /// not depend on timing, or never sent); resending cannot duplicate it.
    #[error("send to {topic} failed: {source}")]
    SendFailed {
        /// Target topic.
        topic: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The record **may or may not** have been written: the send timed out,
    /// the connection failed after the request went out, the client went away
    /// before an answer, or any error that is not a definite rejection.
    /// Resending can duplicate it.
    #[error("send to {topic} has an unknown outcome (it may have been written): {reason}")]
    OutcomeUnknown {
        /// Target topic.
        topic: String,
        /// Why the outcome is unknown.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("encoding a value for {topic} failed: {detail}")]
    Encode {
        /// Target topic.
        topic: String,
        /// What went wrong.
        detail: String,
    },
    /// Bytes could not be decoded into a typed message (a poison message).
    #[error("decoding failed ({}): {detail}", kind.as_str())]
    Decode {
        /// The poison class.
        kind: DecodeErrorKind,
        /// What went wrong.
        detail: String,
    },
    /// A Schema Registry call failed.
    #[error("schema registry call for {subject} failed: {detail}")]
    Registry {
        /// Subject or schema id the call was about.
        subject: String,
        /// What went wrong.
        detail: String,
        /// Whether trying again later may succeed (network, 5xx).
        retriable: bool,
    },
    /// The client was configured wrongly.
    #[error("invalid client configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// A record could not be finished within its retry policy (decoding while
    /// the registry is unavailable, or its dead-letter write); its offset was
    /// not committed, so it is redelivered to the next run.
    #[error("{what} of {topic}-{partition}@{offset} still failing after {attempts} attempt(s), offset not committed: {source}")]
    RetriesExhausted {
        /// What was retried, e.g. `decoding` or `dead-letter write`.
        what: &'static str,
        /// Topic of the record.
        topic: String,
        /// Partition of the record.
        partition: i32,
        /// Offset of the record.
        offset: i64,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<ClientError>,
    },
    /// The handler panicked on a record of this partition. Nothing from that
    /// record on was committed for the partition.
    #[error("partition {partition} of {topic} stopped: {detail}")]
    HandlerPanicked {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// What happened.
        detail: String,
    },
    /// Writing a dead letter failed, so the poison record's offset was not committed.
    #[error("dead-letter write to {topic} failed: {source}")]
    DeadLetter {
        /// The dead-letter topic.
        topic: String,
        /// The send error.
        #[source]
        source: Box<ClientError>,
    },
}

impl ClientError {
    /// Whether trying the same operation again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Kafka { source, .. } | Self::SendFailed { source, .. } => source
                .rdkafka_error_code()
                .map(is_retriable_code)
                .unwrap_or(false),
            Self::OutcomeUnknown { .. } => true,
            Self::Registry { retriable, .. } => *retriable,
            Self::DeadLetter { source, .. } | Self::RetriesExhausted { source, .. } => {
                source.is_retriable()
            }
            Self::Encode { .. }
            | Self::Decode { .. }
            | Self::Config { .. }
            | Self::HandlerPanicked { .. } => false,
        }
    }

    /// Whether a send may have been written although it reported an error.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The poison class, if this error means a consumed record can never be decoded.
    pub fn poison_kind(&self) -> Option<DecodeErrorKind> {
        match self {
            Self::Decode { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

fn is_retriable_code(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        code,
        C::QueueFull
            | C::MessageTimedOut
            | C::RequestTimedOut
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::NetworkException
    )
}

/// Result alias of the crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
