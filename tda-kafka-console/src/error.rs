//! The crate's one error type.

use std::net::SocketAddr;

/// Everything that can go wrong in the console.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// The options cannot work (e.g. a non-loopback address without auth).
    #[error("invalid console options: {reason}")]
    Options {
        /// Why.
        reason: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while running.
    #[error("web console server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// A Kafka, schema registry or Kafka Connect call failed (the admin
    /// library's clients; a service's error carries its message and URL).
    #[error(transparent)]
    Admin(#[from] tda_kafka_admin::AdminError),
    /// A typed-client call (registry decode) failed.
    #[error(transparent)]
    Client(#[from] tda_kafka_client::ClientError),
    /// A service this page needs is not configured.
    #[error("{service} is not configured (start the console with {flag})")]
    NotConfigured {
        /// The service.
        service: &'static str,
        /// The option that configures it.
        flag: &'static str,
    },
    /// A service the console checks (not over HTTP: Redis) did not answer
    /// as it should.
    #[error("{service}: {problem}")]
    ServiceDown {
        /// The service.
        service: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// The request itself is wrong (a form field, a query parameter).
    #[error("invalid input: {0}")]
    Input(String),
    /// Refused: the console is read-only.
    #[error("the console is read-only: changes are disabled")]
    ReadOnly,
    /// Refused: the change form did not carry a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
}

impl ConsoleError {
    /// The HTTP status a page shows for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::ReadOnly | Self::Csrf => 403,
            Self::Input(_) => 400,
            Self::Admin(e) if e.is_invalid_input() => 400,
            Self::Admin(e) if e.is_not_found() => 404,
            Self::Admin(tda_kafka_admin::AdminError::Service { .. })
            | Self::NotConfigured { .. }
            | Self::ServiceDown { .. } => 502,
            _ => 500,
        }
    }

    /// Whether the error means a service could not be reached (versus refused the request).
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Admin(e) => {
                e.is_service_unreachable()
                    || matches!(e, tda_kafka_admin::AdminError::Unreachable { .. })
            }
            Self::NotConfigured { .. } | Self::ServiceDown { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn input(msg: impl Into<String>) -> Self {
        Self::Input(msg.into())
    }
}

/// Result type of this crate.
pub type Result<T, E = ConsoleError> = std::result::Result<T, E>;
