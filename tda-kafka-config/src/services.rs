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

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            connect_group_id: "tda-connect".into(),
            connect_plugin_path: Vec::new(),
            redis_password: None,
        }
    }
}
