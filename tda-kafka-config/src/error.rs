use std::path::PathBuf;

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
}
