//! Connection settings shared by producers and consumers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use tda_kafka_config::{ClientProperties, ClusterConfig};

use crate::codec::Codec;
use crate::error::Result;
use crate::registry::RegistryClient;

/// Where the cluster and registry are and how values are encoded.
///
/// Client properties start from [`ClusterConfig::producer_properties`] and
/// [`ClusterConfig::consumer_properties`] (acks=all, idempotence, lz4, bounded
/// in-flight; explicit commits), so the seed's integration settings are the
/// defaults.
///
/// `Debug` shows override keys but hides the values of secret ones
/// (passwords, JAAS configs, private keys, OAuth configs), and the registry
/// URL without its password.
#[derive(Clone)]
pub struct ClientSettings {
    cluster: ClusterConfig,
    bootstrap: Option<String>,
    overrides: BTreeMap<String, String>,
    codec: Codec,
    service_name: String,
    delivery_timeout: Duration,
}

/// Whether a librdkafka property holds a secret: passwords
/// (`sasl.password`, `ssl.key.password`, `ssl.keystore.password`, ...),
/// secrets, JAAS and OAuth configurations, and private keys.
pub(crate) fn is_secret_property(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("jaas")
        || k.contains("oauthbearer.config")
        || k.contains("token")
        || k == "ssl.key.pem"
        || k == "ssl_key"
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Overrides<'a>(&'a BTreeMap<String, String>);
        impl std::fmt::Debug for Overrides<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut m = f.debug_map();
                for (k, v) in self.0 {
                    if is_secret_property(k) {
                        m.entry(k, &"***");
                    } else {
                        m.entry(k, v);
                    }
                }
                m.finish()
            }
        }
        f.debug_struct("ClientSettings")
            .field("cluster", &self.cluster)
            .field("bootstrap", &self.bootstrap)
            .field("overrides", &Overrides(&self.overrides))
            .field("codec", &self.codec)
            .field("service_name", &self.service_name)
            .field("delivery_timeout", &self.delivery_timeout)
            .finish()
    }
}

impl ClientSettings {
    /// Settings for the brokers at `bootstrap` (`host:port,...`), JSON values.
    pub fn new(bootstrap: impl Into<String>) -> Self {
        Self {
            bootstrap: Some(bootstrap.into()),
            ..Self::from_cluster(ClusterConfig::default())
        }
    }

    /// Settings for a cluster model (its bootstrap servers and security).
    pub fn from_cluster(cluster: ClusterConfig) -> Self {
        Self {
            cluster,
            bootstrap: None,
            overrides: BTreeMap::new(),
            codec: Codec::Json,
            service_name: "tda-kafka-client".into(),
            delivery_timeout: Duration::from_secs(30),
        }
    }

    /// Encode values as Avro with schemas in the registry at `url`.
    pub fn with_avro(self, registry_url: impl Into<String>) -> Result<Self> {
        let registry = RegistryClient::new(registry_url)?;
        Ok(self.with_registry(Arc::new(registry)))
    }

    /// Encode values as Avro with a shared registry client.
    pub fn with_registry(mut self, registry: Arc<RegistryClient>) -> Self {
        self.codec = Codec::Avro(registry);
        self
    }

    /// Encode values as JSON (the default).
    pub fn with_json(mut self) -> Self {
        self.codec = Codec::Json;
        self
    }

    /// The name of this service (error records' `source_service`, `client.id`).
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Sets a librdkafka property on every client, overriding the defaults.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.insert(key.into(), value.into());
        self
    }

    /// How long a send may take before its outcome is reported unknown
    /// (`message.timeout.ms`, default 30 s).
    pub fn with_delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// The value encoding.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// The service name.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The delivery timeout.
    pub fn delivery_timeout(&self) -> Duration {
        self.delivery_timeout
    }

    fn lower(&self, props: ClientProperties) -> ClientConfig {
        let mut c = ClientConfig::new();
        for (k, v) in props.iter() {
            c.set(k, v);
        }
        if let Some(b) = &self.bootstrap {
            c.set("bootstrap.servers", b);
        }
        c.set("client.id", &self.service_name);
        for (k, v) in &self.overrides {
            c.set(k, v);
        }
        c
    }

    /// The librdkafka configuration of a producer.
    pub fn producer_config(&self) -> ClientConfig {
        let mut props = self.cluster.producer_properties();
        props
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", self.delivery_timeout.as_millis());
        let mut c = self.lower(props);
        // Idempotence must never be switched off by an override.
        c.set("enable.idempotence", "true");
        c
    }

    /// The librdkafka configuration of a consumer in `group_id`: no auto
    /// commit, offsets stored explicitly after processing.
    pub fn consumer_config(&self, group_id: &str) -> ClientConfig {
        let mut c = self.lower(self.cluster.consumer_properties(group_id));
        c.set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_keeps_the_safe_defaults() {
        let s = ClientSettings::new("127.0.0.1:1").with_property("enable.idempotence", "false");
        let c = s.producer_config();
        assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("compression.type"), Some("lz4"));
        assert_eq!(c.get("max.in.flight.requests.per.connection"), Some("5"));
        assert_eq!(c.get("message.timeout.ms"), Some("30000"));
    }

    #[test]
    fn debug_hides_secret_overrides() {
        const SENTINEL: &str = "SENTINEL-s3cr3t-5e11";
        let s = ClientSettings::new("127.0.0.1:1")
            .with_property("sasl.password", SENTINEL)
            .with_property("ssl.key.password", SENTINEL)
            .with_property("ssl.keystore.password", SENTINEL)
            .with_property("ssl.key.pem", SENTINEL)
            .with_property(
                "sasl.jaas.config",
                format!("org.apache.kafka...ScramLoginModule required password=\"{SENTINEL}\";"),
            )
            .with_property("sasl.oauthbearer.config", SENTINEL)
            .with_property("sasl.username", "svc-jobs")
            .with_registry(std::sync::Arc::new(
                crate::RegistryClient::new(format!(
                    "http://svc:{SENTINEL}@127.0.0.1:1/apis/ccompat/v7"
                ))
                .unwrap(),
            ));
        for shown in [format!("{s:?}"), format!("{s:#?}")] {
            assert!(!shown.contains(SENTINEL), "{shown}");
            assert!(shown.contains("sasl.password"), "{shown}");
            assert!(
                shown.contains("svc-jobs"),
                "non-secret values stay visible: {shown}"
            );
        }
        // The real value still reaches librdkafka.
        assert_eq!(s.producer_config().get("sasl.password"), Some(SENTINEL));
    }

    #[test]
    fn consumer_never_auto_commits() {
        let c = ClientSettings::new("127.0.0.1:1")
            .with_property("enable.auto.commit", "true")
            .consumer_config("g");
        assert_eq!(c.get("group.id"), Some("g"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
    }
}
