use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Errors of admin operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The cluster did not answer within the timeout.
    #[error("cannot reach Kafka at {bootstrap} within {timeout_ms} ms: {reason}")]
    Unreachable {
        /// The bootstrap servers tried.
        bootstrap: String,
        /// The bound that expired.
        timeout_ms: u64,
        /// What librdkafka said.
        reason: String,
    },
    /// The broker rejected an operation on a topic.
    #[error("{operation} of topic {topic} failed: {code:?}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Topic {
        /// What was attempted, e.g. `create`.
        operation: &'static str,
        /// The topic.
        topic: String,
        /// Kafka's error code.
        code: RDKafkaErrorCode,
        /// Extra text, e.g. the config key at fault.
        detail: Option<String>,
    },
    /// A topic does not exist.
    #[error("topic {topic} does not exist")]
    TopicNotFound {
        /// The topic.
        topic: String,
    },
    /// Any other librdkafka error, with the operation that failed.
    #[error("{operation} failed: {source}")]
    Kafka {
        /// What was attempted.
        operation: &'static str,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
}

impl AdminError {
    /// Whether retrying the same call may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Topic { code, .. } => matches!(
                code,
                RDKafkaErrorCode::RequestTimedOut
                    | RDKafkaErrorCode::NotController
                    | RDKafkaErrorCode::LeaderNotAvailable
                    | RDKafkaErrorCode::BrokerNotAvailable
            ),
            Self::TopicNotFound { .. } => false,
            Self::Kafka { source, .. } => source.rdkafka_error_code().is_some_and(|c| {
                matches!(
                    c,
                    RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut
                )
            }),
        }
    }

    pub(crate) fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> Self {
        move |source| Self::Kafka { operation, source }
    }
}
