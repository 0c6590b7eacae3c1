use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The deployment profile (`ENVIRONMENT` in `kafka.env`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Laptop and CI: the seed's defaults.
    #[default]
    Development,
    /// Pre-production: production safety, smaller resources.
    Staging,
    /// The seed's production overrides.
    Production,
}

impl Environment {
    /// All profiles, in order.
    pub const ALL: [Environment; 3] = [Self::Development, Self::Staging, Self::Production];

    /// The lowercase name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "staging" | "stage" => Ok(Self::Staging),
            "production" | "prod" => Ok(Self::Production),
            _ => Err(ConfigError::InvalidValue {
                key: "ENVIRONMENT".into(),
                value: s.into(),
                reason: "expected development, staging or production".into(),
            }),
        }
    }
}
