use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// A secret (password). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: call only where it is handed to Kafka.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL authentication without TLS.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether TLS is used.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether SASL is used.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityProtocol {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err(ConfigError::InvalidValue {
                key: "KAFKA_SECURITY_PROTOCOL".into(),
                value: s.into(),
                reason: "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".into(),
            }),
        }
    }
}

/// A SASL mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SaslMechanism {
    /// `PLAIN`.
    #[serde(rename = "PLAIN")]
    Plain,
    /// `SCRAM-SHA-256` (the seed's choice).
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// `SCRAM-SHA-512`.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// Kafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SaslMechanism {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err(ConfigError::InvalidValue {
                key: "sasl.mechanism".into(),
                value: s.into(),
                reason: "expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512".into(),
            }),
        }
    }
}

/// Whether TLS clients check that the broker's certificate names the host
/// they connected to (`KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostnameVerification {
    /// `https`: the certificate must name the host (Kafka's default).
    #[default]
    Https,
    /// Empty: any certificate signed by a trusted CA is accepted.
    None,
}

/// A SCRAM user the local provider creates when it formats the storage
/// (`TDA_KAFKA_SCRAM_CREDENTIALS`). `Debug` hides the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    /// The user name (principal `User:<name>`).
    pub name: String,
    /// Its password.
    pub password: SecretString,
}

/// Characters a generated cluster's SCRAM user name or password must not
/// contain: they would break the `--add-scram` syntax or the JAAS entry.
pub const SCRAM_FORBIDDEN: &[char] = &[',', '[', ']', '"', '=', '\\', '\'', ';'];

/// Why `value` (a SCRAM user name or password) cannot be used, if it cannot.
pub fn scram_value_error(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains white space or a control character".into());
    }
    value
        .chars()
        .find(|c| SCRAM_FORBIDDEN.contains(c))
        .map(|c| format!("contains {c:?} (not allowed: , [ ] \" = \\ ' ;)"))
}

/// Security settings (`KAFKA_SECURITY_PROTOCOL`, `KAFKA_SSL_*`, `KAFKA_SASL_*`,
/// `TDA_KAFKA_TLS_DIR`, `TDA_KAFKA_SCRAM_CREDENTIALS`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityConfig {
    /// `KAFKA_SECURITY_PROTOCOL`.
    pub protocol: SecurityProtocol,
    /// `KAFKA_SSL_KEYSTORE_LOCATION`.
    pub ssl_keystore_location: Option<String>,
    /// `KAFKA_SSL_KEYSTORE_PASSWORD`.
    pub ssl_keystore_password: Option<SecretString>,
    /// `KAFKA_SSL_KEY_PASSWORD`.
    pub ssl_key_password: Option<SecretString>,
    /// `KAFKA_SSL_TRUSTSTORE_LOCATION`.
    pub ssl_truststore_location: Option<String>,
    /// `KAFKA_SSL_TRUSTSTORE_PASSWORD`.
    pub ssl_truststore_password: Option<SecretString>,
    /// `KAFKA_SSL_CA_LOCATION`: PEM CA file for librdkafka clients.
    pub ssl_ca_location: Option<String>,
    /// `KAFKA_SASL_ENABLED_MECHANISMS`.
    pub sasl_enabled_mechanisms: Vec<SaslMechanism>,
    /// `KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL`.
    pub sasl_mechanism_inter_broker_protocol: Option<SaslMechanism>,
    /// `KAFKA_SASL_USERNAME`: the client principal.
    pub sasl_username: Option<String>,
    /// `KAFKA_SASL_PASSWORD`.
    pub sasl_password: Option<SecretString>,
    /// `KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM`.
    #[serde(default)]
    pub hostname_verification: HostnameVerification,
    /// `TDA_KAFKA_TLS_DIR`: where the local provider keeps the CA it
    /// generates (`ca.pem`, `ca.key`); node certificates are issued from it at
    /// every start. Replaces the keystore and truststore settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_dir: Option<String>,
    /// `TDA_KAFKA_SCRAM_CREDENTIALS`: SCRAM users besides
    /// `KAFKA_SASL_USERNAME`, created at storage format time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scram_credentials: Vec<ScramCredential>,
}

impl SecurityConfig {
    /// Whether the local provider generates the TLS material and the SCRAM
    /// users (`TDA_KAFKA_TLS_DIR` set).
    pub fn generated(&self) -> bool {
        self.tls_dir.is_some()
    }

    /// The CA file clients verify the brokers with: `KAFKA_SSL_CA_LOCATION`,
    /// else the generated CA in `TDA_KAFKA_TLS_DIR`.
    pub fn ca_location(&self) -> Option<String> {
        self.ssl_ca_location.clone().or_else(|| {
            self.tls_dir
                .as_ref()
                .map(|d| format!("{}/{GENERATED_CA_FILE}", d.trim_end_matches('/')))
        })
    }

    /// Every SCRAM user of a generated cluster: `KAFKA_SASL_USERNAME` (the
    /// admin and inter-broker principal) first, then the credentials.
    pub fn scram_users(&self) -> Vec<ScramCredential> {
        let admin = match (&self.sasl_username, &self.sasl_password) {
            (Some(name), Some(password)) => Some(ScramCredential {
                name: name.clone(),
                password: password.clone(),
            }),
            _ => None,
        };
        admin
            .into_iter()
            .chain(self.scram_credentials.iter().cloned())
            .collect()
    }

    /// The mechanism clients log in with: the first enabled one, else the
    /// inter-broker one.
    pub fn client_sasl_mechanism(&self) -> Option<SaslMechanism> {
        self.sasl_enabled_mechanisms
            .first()
            .copied()
            .or(self.sasl_mechanism_inter_broker_protocol)
    }

    /// The SCRAM mechanisms enabled (PLAIN is never used by a generated cluster).
    pub fn scram_mechanisms(&self) -> impl Iterator<Item = SaslMechanism> + '_ {
        self.sasl_enabled_mechanisms
            .iter()
            .copied()
            .filter(|m| *m != SaslMechanism::Plain)
    }
}

/// The file name of the generated CA certificate in `TDA_KAFKA_TLS_DIR`.
pub const GENERATED_CA_FILE: &str = "ca.pem";
/// The file name of the generated CA's private key (0600) in `TDA_KAFKA_TLS_DIR`.
pub const GENERATED_CA_KEY_FILE: &str = "ca.key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_debug_output() {
        let sec = SecurityConfig {
            sasl_password: Some(SecretString::new("hunter2")),
            ..Default::default()
        };
        let shown = format!("{sec:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }
}
