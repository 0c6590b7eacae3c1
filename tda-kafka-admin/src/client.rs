use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use serde::Serialize;
use tda_kafka_config::ClientProperties;

use crate::{AdminError, Result};

/// A connected admin client.
pub struct Admin {
    pub(crate) inner: Arc<AdminClient<DefaultClientContext>>,
    pub(crate) config: ClientConfig,
    pub(crate) bootstrap: String,
    pub(crate) timeout: Duration,
    pub(crate) wire: crate::wire::WireOptions,
}

/// One broker as the metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BrokerInfo {
    /// Broker (node) id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
}

/// Brokers and topic names of the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterMetadata {
    /// Brokers, sorted by id.
    pub brokers: Vec<BrokerInfo>,
    /// All topic names, sorted, internal ones included.
    pub topics: Vec<String>,
}

/// Lowers our client properties into an rdkafka configuration.
pub fn lower(props: &ClientProperties) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in props.iter() {
        cfg.set(k, v);
    }
    cfg
}

impl Admin {
    /// Default bound on every admin call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Builds an admin client and checks, within `timeout`, that the cluster answers.
    pub async fn connect(props: &ClientProperties, timeout: Duration) -> Result<Self> {
        let bootstrap = props
            .get("bootstrap.servers")
            .unwrap_or_default()
            .to_owned();
        let wire = crate::wire::WireOptions::from_props(props, timeout)?;
        if wire.secured() {
            // A refused certificate or login fails here at once with the
            // reason; librdkafka would only retry until the timeout.
            crate::wire::check_login(&bootstrap, &wire).await?;
        }
        let mut config = lower(props);
        config.set("socket.timeout.ms", timeout.as_millis().max(10).to_string());
        let inner: AdminClient<DefaultClientContext> = config
            .create()
            .map_err(AdminError::kafka("create admin client"))?;
        let admin = Self {
            inner: Arc::new(inner),
            config,
            bootstrap,
            timeout,
            wire,
        };
        admin.metadata().await?;
        Ok(admin)
    }

    /// The bootstrap servers this client was built with.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The bootstrap servers as a list of `host:port`.
    pub(crate) fn bootstrap_addrs(&self) -> Vec<String> {
        self.bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The configuration, for building further clients (consumers) against the same cluster.
    pub fn client_config(&self) -> &ClientConfig {
        &self.config
    }

    /// librdkafka's metadata of all topics (never auto-creates), fetched off
    /// the async runtime with the client's timeout.
    pub(crate) async fn fetch_all_metadata(&self) -> Result<rdkafka::metadata::Metadata> {
        let admin = Arc::clone(&self.inner);
        let timeout = self.timeout;
        tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout))
            .await
            .expect("metadata task panicked")
            .map_err(|e| AdminError::Unreachable {
                bootstrap: self.bootstrap.clone(),
                timeout_ms: timeout.as_millis() as u64,
                reason: e.to_string(),
            })
    }

    /// Brokers and topics, fetched with the client's timeout.
    pub async fn metadata(&self) -> Result<ClusterMetadata> {
        let md = self.fetch_all_metadata().await?;
        let mut brokers: Vec<BrokerInfo> = md
            .brokers()
            .iter()
            .map(|b| BrokerInfo {
                id: b.id(),
                host: b.host().to_owned(),
                port: u16::try_from(b.port()).unwrap_or_default(),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        let mut topics: Vec<String> = md.topics().iter().map(|t| t.name().to_owned()).collect();
        topics.sort();
        Ok(ClusterMetadata { brokers, topics })
    }
}
