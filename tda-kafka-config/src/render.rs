use std::collections::BTreeMap;
use std::fmt;

use crate::{ClusterConfig, SecurityProtocol};

/// An ordered set of Java-style properties (`server.properties`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(BTreeMap<String, String>);

impl Properties {
    /// Sets `key` to `value`, replacing any earlier value.
    pub fn set(&mut self, key: impl Into<String>, value: impl ToString) -> &mut Self {
        self.0.insert(key.into(), value.to_string());
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// All entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `key=value` file text, with Java properties escaping.
    pub fn to_properties_string(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.0 {
            out.push_str(&escape(k, true));
            out.push('=');
            out.push_str(&escape(v, false));
            out.push('\n');
        }
        out
    }
}

/// Java `Properties` escaping. Kafka reads `server.properties` with
/// `Properties.load(InputStream)`, i.e. as ISO-8859-1, so everything outside
/// printable ASCII is written as `\uXXXX` (UTF-16 units).
fn escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' if is_key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

/// librdkafka client properties. `Debug` hides passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientProperties(BTreeMap<String, String>);

impl ClientProperties {
    /// Sets `key` to `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl ToString) -> &mut Self {
        self.0.insert(key.into(), value.to_string());
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// All entries, for lowering into `rdkafka::ClientConfig`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Whether a property's value must never be shown.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("jaas")
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if is_secret_key(k) {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl ClusterConfig {
    /// `server.properties` of KRaft node `node_id` (1-based, broker and
    /// controller in one process) storing its log in `log_dir`.
    pub fn broker_properties(&self, node_id: u16, log_dir: &str) -> Properties {
        let net = &self.network;
        let voters = self
            .node_ids()
            .map(|id| format!("{id}@{}:{}", net.host, net.controller_port(id)))
            .collect::<Vec<_>>()
            .join(",");
        let client_port = net.kafka_port(node_id);
        let fit = self.replication_for(self.broker_count);
        let (rf, min_isr) = (fit.factor, fit.min_insync_replicas);
        let protocol = self.security.protocol;
        let mut p = Properties::default();
        p.set("node.id", node_id)
            .set("process.roles", "broker,controller")
            .set("controller.quorum.voters", voters)
            .set("controller.listener.names", "CONTROLLER")
            .set(
                "listeners",
                format!(
                    "EXTERNAL://{host}:{client_port},CONTROLLER://{host}:{}",
                    net.controller_port(node_id),
                    host = net.host
                ),
            )
            .set(
                "advertised.listeners",
                format!("EXTERNAL://{}:{client_port}", net.host),
            )
            .set(
                "listener.security.protocol.map",
                format!("EXTERNAL:{protocol},CONTROLLER:PLAINTEXT"),
            )
            .set("inter.broker.listener.name", "EXTERNAL")
            .set("log.dirs", log_dir)
            .set("num.partitions", self.num_partitions)
            .set("default.replication.factor", rf)
            .set("min.insync.replicas", min_isr)
            .set("offsets.topic.replication.factor", rf)
            .set("transaction.state.log.replication.factor", rf)
            .set("transaction.state.log.min.isr", min_isr)
            .set("num.network.threads", self.num_network_threads)
            .set("num.io.threads", self.num_io_threads)
            .set(
                "group.initial.rebalance.delay.ms",
                self.group_initial_rebalance_delay_ms,
            )
            .set("auto.create.topics.enable", self.auto_create_topics_enable)
            .set("delete.topic.enable", self.delete_topic_enable);
        self.render_broker_security(&mut p);
        p
    }

    fn render_broker_security(&self, p: &mut Properties) {
        let sec = &self.security;
        if sec.protocol.uses_tls() {
            let ssl = [
                ("ssl.keystore.location", sec.ssl_keystore_location.clone()),
                (
                    "ssl.keystore.password",
                    sec.ssl_keystore_password
                        .as_ref()
                        .map(|s| s.expose().to_owned()),
                ),
                (
                    "ssl.key.password",
                    sec.ssl_key_password.as_ref().map(|s| s.expose().to_owned()),
                ),
                (
                    "ssl.truststore.location",
                    sec.ssl_truststore_location.clone(),
                ),
                (
                    "ssl.truststore.password",
                    sec.ssl_truststore_password
                        .as_ref()
                        .map(|s| s.expose().to_owned()),
                ),
            ];
            for (k, v) in ssl {
                if let Some(v) = v {
                    p.set(k, v);
                }
            }
        }
        if sec.protocol.uses_sasl() {
            let mechs = sec
                .sasl_enabled_mechanisms
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(",");
            p.set("sasl.enabled.mechanisms", mechs);
            if let Some(m) = sec.sasl_mechanism_inter_broker_protocol {
                p.set("sasl.mechanism.inter.broker.protocol", m);
            }
        }
    }

    /// Properties every client needs: bootstrap servers and security.
    pub fn client_properties(&self) -> ClientProperties {
        let sec = &self.security;
        let mut c = ClientProperties::default();
        c.set("bootstrap.servers", self.bootstrap_servers());
        if sec.protocol != SecurityProtocol::Plaintext {
            c.set(
                "security.protocol",
                sec.protocol.as_str().to_ascii_lowercase(),
            );
        }
        if sec.protocol.uses_tls() {
            if let Some(ca) = &sec.ssl_ca_location {
                c.set("ssl.ca.location", ca);
            }
        }
        if sec.protocol.uses_sasl() {
            let mech = sec
                .sasl_enabled_mechanisms
                .first()
                .copied()
                .or(sec.sasl_mechanism_inter_broker_protocol);
            if let Some(m) = mech {
                c.set("sasl.mechanism", m);
            }
            if let Some(u) = &sec.sasl_username {
                c.set("sasl.username", u);
            }
            if let Some(pw) = &sec.sasl_password {
                c.set("sasl.password", pw.expose());
            }
        }
        c
    }

    /// The seed's producer settings: `acks=all`, idempotence, lz4.
    pub fn producer_properties(&self) -> ClientProperties {
        let mut c = self.client_properties();
        c.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", "lz4")
            .set("max.in.flight.requests.per.connection", "5");
        c
    }

    /// The seed's consumer settings for `group_id`: `auto.offset.reset=earliest`
    /// and explicit commits (offsets are committed after processing).
    pub fn consumer_properties(&self, group_id: &str) -> ClientProperties {
        let mut c = self.client_properties();
        c.set("group.id", group_id)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false");
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SaslMechanism, SecretString};

    #[test]
    fn node_properties_form_a_three_node_quorum() {
        let c = ClusterConfig::default();
        let p = c.broker_properties(2, "/data/2");
        assert_eq!(p.get("node.id"), Some("2"));
        assert_eq!(
            p.get("controller.quorum.voters"),
            Some("1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194")
        );
        assert_eq!(
            p.get("advertised.listeners"),
            Some("EXTERNAL://127.0.0.1:19093")
        );
        assert_eq!(p.get("min.insync.replicas"), Some("2"));
        assert!(p.to_properties_string().contains("log.dirs=/data/2\n"));
    }

    #[test]
    fn single_node_properties_fit_replication_to_one_broker() {
        let c = ClusterConfig::default().fit_to_brokers(1);
        let p = c.broker_properties(1, "/data/1");
        for key in [
            "default.replication.factor",
            "min.insync.replicas",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
            "transaction.state.log.min.isr",
        ] {
            assert_eq!(p.get(key), Some("1"), "{key}");
        }
        // A config whose broker count alone is lower renders the same fit.
        let c = ClusterConfig {
            broker_count: 2,
            ..ClusterConfig::default()
        };
        let p = c.broker_properties(1, "/data/1");
        assert_eq!(p.get("default.replication.factor"), Some("2"));
        assert_eq!(p.get("min.insync.replicas"), Some("1"));
    }

    #[test]
    fn producer_follows_the_seed_integration_settings() {
        let p = ClusterConfig::default().producer_properties();
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("compression.type"), Some("lz4"));
    }

    #[test]
    fn client_debug_hides_the_sasl_password() {
        let mut c = ClusterConfig::default();
        c.security.protocol = SecurityProtocol::SaslSsl;
        c.security.sasl_enabled_mechanisms = vec![SaslMechanism::ScramSha256];
        c.security.sasl_username = Some("tda".into());
        c.security.sasl_password = Some(SecretString::new("s3cr3t"));
        let props = c.client_properties();
        assert_eq!(props.get("sasl.password"), Some("s3cr3t"));
        assert_eq!(props.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        assert!(!format!("{props:?}").contains("s3cr3t"));
    }
}
