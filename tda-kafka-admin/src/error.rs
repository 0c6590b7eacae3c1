use std::path::PathBuf;

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
    /// A change was accepted but is not yet visible on every broker (a new
    /// topic without leaders, or a config change not yet in every broker's
    /// cache) when the timeout passed.
    #[error("{what} not visible on every broker within {timeout_ms} ms: {}", pending.join("; "))]
    NotPropagated {
        /// What was waited for, e.g. `topics` or `config change of topic t`.
        what: String,
        /// The bound that expired.
        timeout_ms: u64,
        /// What was still missing, per broker or topic.
        pending: Vec<String>,
    },
    /// A topic name breaks Kafka's naming rules.
    #[error("invalid topic name {topic:?}: {reason}")]
    InvalidTopicName {
        /// The name given.
        topic: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A consumer group does not exist (no members and no committed offsets).
    #[error("consumer group {group} does not exist")]
    GroupNotFound {
        /// The group.
        group: String,
    },
    /// The group has active members, so its offsets cannot be changed.
    #[error("consumer group {group} has {members} active member(s); stop its consumers first")]
    GroupActive {
        /// The group.
        group: String,
        /// Number of members.
        members: usize,
    },
    /// The broker rejected an operation on a group.
    #[error("{operation} of group {group} failed: {code:?}")]
    Group {
        /// What was attempted.
        operation: &'static str,
        /// The group.
        group: String,
        /// Kafka's error code.
        code: RDKafkaErrorCode,
    },
    /// The operation is refused by policy (internal topic, deletion disabled).
    #[error("refusing to {operation} {target}: {reason}")]
    Refused {
        /// What was asked.
        operation: &'static str,
        /// The topic or group.
        target: String,
        /// Why it is refused.
        reason: String,
    },
    /// An argument is malformed (config syntax, reset spec, offsets).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was parsed, e.g. `topic config "retention.ms=abc"`.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A backup or architecture file is malformed.
    #[error("{}: {field}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The field at fault (a path like `topics[2].partitions`), or `-`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A consumed message could not be handed on (written out); it and every
    /// later message were left uncommitted.
    #[error("handing on message {topic}-{partition}@{offset} failed ({committed} message(s) before it were handed on): {source}")]
    Output {
        /// Topic of the message.
        topic: String,
        /// Partition of the message.
        partition: i32,
        /// Offset of the message (not committed).
        offset: i64,
        /// Messages handed on (and, with a group, committed) before it.
        committed: usize,
        /// The write error.
        #[source]
        source: std::io::Error,
    },
    /// The broker refused our SASL login (wrong user or password, or a
    /// mechanism it does not accept). Never retried: the same credentials
    /// fail again.
    #[error("SASL {mechanism} authentication as {user:?} at {broker} failed: {reason} (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)")]
    Authentication {
        /// The broker address.
        broker: String,
        /// The user we logged in as.
        user: String,
        /// The mechanism.
        mechanism: &'static str,
        /// The broker's answer.
        reason: String,
    },
    /// The TLS handshake with a broker failed: its certificate is not signed
    /// by the configured CA, does not name the host we connected to, or the
    /// listener does not speak TLS. Never retried.
    #[error("TLS handshake with {broker} failed: {reason} (check KAFKA_SSL_CA_LOCATION / TDA_KAFKA_TLS_DIR and that you connect with a host name the broker certificate names)")]
    TlsHandshake {
        /// The broker address.
        broker: String,
        /// rustls' reason.
        reason: String,
    },
    /// A raw Kafka protocol call failed (see the crate docs on the protocol client).
    #[error("Kafka protocol call to {broker} failed: {reason}")]
    Protocol {
        /// The broker address.
        broker: String,
        /// What went wrong.
        reason: String,
    },
    /// A REST service (schema registry, Kafka Connect) could not be reached
    /// or refused the request: its own message (Connect's `message`, the
    /// registry's `error_code` and `message`), the URL (never credentials)
    /// and a hint.
    #[error("{}", service_message(*service, url, *status, *code, message))]
    Service {
        /// Which service.
        service: crate::RestService,
        /// The URL called, without credentials.
        url: String,
        /// The HTTP status; none when no answer came.
        status: Option<u16>,
        /// The registry's `error_code`, when it sent one.
        code: Option<i64>,
        /// The service's message, or why there was no answer.
        message: String,
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

fn service_message(
    service: crate::RestService,
    url: &str,
    status: Option<u16>,
    code: Option<i64>,
    message: &str,
) -> String {
    use crate::RestService::{Connect, Registry};
    let hint = match (status, service) {
        (None, _) => format!("is {service} running at this address?"),
        (Some(401 | 403), _) => format!("{service} refused the credentials: check the user and password"),
        (Some(404), Registry) => "no such subject or version: list them with `schemas list`".to_owned(),
        (Some(404), Connect) => "no such connector or plugin: list them with `connect list` / `connect plugins`".to_owned(),
        (Some(409), Registry) => "the schema is not compatible with the subject's compatibility level: check with `schemas compat`".to_owned(),
        (Some(409), Connect) => "the worker is rebalancing or the connector already exists: try again, or use `connect update`".to_owned(),
        (Some(s), _) if s >= 500 => format!("{service} failed internally: see its log"),
        _ => "check the request against the message above".to_owned(),
    };
    let status = status.map(|s| format!("HTTP {s}: ")).unwrap_or_default();
    let code = code
        .map(|c| format!(" (error code {c})"))
        .unwrap_or_default();
    format!("{service} at {url}: {status}{message}{code} (hint: {hint})")
}

fn retriable_code(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::BrokerNotAvailable
            | RDKafkaErrorCode::CoordinatorLoadInProgress
            | RDKafkaErrorCode::CoordinatorNotAvailable
            | RDKafkaErrorCode::NotCoordinator
            | RDKafkaErrorCode::NotLeaderForPartition
            | RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::NotEnoughReplicas
    )
}

impl AdminError {
    /// Whether retrying the same call may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Protocol { .. } | Self::NotPropagated { .. } => true,
            Self::Service { status, .. } => status.is_none_or(|s| s >= 500 || s == 409),
            Self::Topic { code, .. } | Self::Group { code, .. } => retriable_code(*code),
            Self::Kafka { source, .. } => source.rdkafka_error_code().is_some_and(retriable_code),
            _ => false,
        }
    }

    /// Whether the error is caused by the caller's input (name, config, file).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::InvalidTopicName { .. } | Self::InvalidInput { .. } | Self::File { .. } => true,
            Self::Service {
                status: Some(s), ..
            } => matches!(s, 400 | 409 | 422),
            Self::Topic { code, .. } => matches!(
                code,
                RDKafkaErrorCode::InvalidConfig
                    | RDKafkaErrorCode::InvalidTopic
                    | RDKafkaErrorCode::InvalidPartitions
                    | RDKafkaErrorCode::InvalidReplicationFactor
                    | RDKafkaErrorCode::PolicyViolation
            ),
            _ => false,
        }
    }

    /// Whether a topic or group named by the caller does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::TopicNotFound { .. }
                | Self::GroupNotFound { .. }
                | Self::Service {
                    status: Some(404),
                    ..
                }
        ) || matches!(
            self,
            Self::Topic {
                code: RDKafkaErrorCode::UnknownTopicOrPartition,
                ..
            }
        )
    }

    /// Whether a REST service did not answer at all (not running, wrong
    /// address, timeout), as opposed to refusing the request.
    pub fn is_service_unreachable(&self) -> bool {
        matches!(self, Self::Service { status: None, .. })
    }

    /// Whether handing messages on failed because the reader went away
    /// (a closed pipe, e.g. `| head`), not because of the cluster.
    pub fn is_output_closed(&self) -> bool {
        matches!(self, Self::Output { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> Self {
        move |source| Self::Kafka { operation, source }
    }

    pub(crate) fn input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
