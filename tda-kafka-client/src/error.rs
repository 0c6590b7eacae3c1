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
    /// The registry does not know the frame's schema id.
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
    /// The broker rejected the record; it was not written.
    #[error("send to {topic} failed: {source}")]
    SendFailed {
        /// Target topic.
        topic: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The send timed out or the client went away before an answer: the record
    /// **may or may not** have been written. Resending can duplicate it.
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
            Self::DeadLetter { source, .. } => source.is_retriable(),
            Self::Encode { .. } | Self::Decode { .. } | Self::Config { .. } => false,
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
