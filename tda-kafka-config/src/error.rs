use std::path::PathBuf;

use crate::ValidationReport;

/// Errors of the configuration model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value could not be parsed.
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// The setting, e.g. `KAFKA_BROKER_COUNT`.
        key: String,
        /// The offending value (never a secret).
        value: String,
        /// What is expected instead.
        reason: String,
    },
    /// A configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration has errors; the report lists all of them (and the
    /// warnings).
    #[error("invalid configuration ({} error(s)):\n{report}", report.error_count())]
    Invalid {
        /// Every problem found.
        report: ValidationReport,
    },
}

impl ConfigError {
    /// The full report, when this is [`ConfigError::Invalid`].
    pub fn report(&self) -> Option<&ValidationReport> {
        match self {
            Self::Invalid { report } => Some(report),
            _ => None,
        }
    }

    /// Whether the error is in the user's input (a value or a file's content)
    /// rather than in reading a file.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidValue { .. } | Self::Invalid { .. })
    }
}
