//! Settings of the stack's companion services that are not ports: the
//! Kafka Connect worker's group and plugin path, the Redis password.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::SecretString;

/// Kafka Connect and Redis settings (`TDA_CONNECT_*`, `TDA_REDIS_PASSWORD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServicesConfig {
    /// `TDA_CONNECT_GROUP_ID`: the Connect worker group (the seed's `tda-connect`).
    pub connect_group_id: String,
    /// `TDA_CONNECT_PLUGIN_PATH`: the user's own plugin directories, searched
    /// after the stack's own plugin directory.
    pub connect_plugin_path: Vec<PathBuf>,
    /// `TDA_REDIS_PASSWORD`: Redis `requirepass`; none means no password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_password: Option<SecretString>,
}

impl ServicesConfig {
    /// The Connect worker's `plugin.discovery`: `service_load` (ServiceLoader
    /// manifests only; Kafka's own plugins all have them, and a reflection
    /// scan of them cost the worker over 3 s of its start) when only the
    /// stack's plugins are on the path; Kafka's default `hybrid_warn` (scan,
    /// warn about plugins without manifests) once the user adds directories.
    pub fn connect_plugin_discovery(&self) -> &'static str {
        if self.connect_plugin_path.is_empty() {
            "service_load"
        } else {
            "hybrid_warn"
        }
    }
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            connect_group_id: "tda-connect".into(),
            connect_plugin_path: Vec::new(),
            redis_password: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_plugin_directories_get_the_scanning_discovery() {
        let mut s = ServicesConfig::default();
        assert_eq!(s.connect_plugin_discovery(), "service_load");
        s.connect_plugin_path.push("/opt/plugins".into());
        assert_eq!(s.connect_plugin_discovery(), "hybrid_warn");
    }
}
