use std::collections::BTreeMap;
use std::fmt;

use crate::{ClusterConfig, SecretString, SecurityProtocol};

/// One property value: shown, or a secret kept in its masked type.
#[derive(Clone, PartialEq, Eq)]
enum Value {
    Public(String),
    Secret(SecretString),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Self::Public(v) => v,
            Self::Secret(v) => v.expose(),
        }
    }
}

/// An ordered set of Java-style properties (`server.properties`).
///
/// Every entry is public or secret. Secret entries are those set with
/// [`Properties::set_secret`] and those whose key names a secret
/// ([`is_secret_property`]: passwords, JAAS configs, private keys), whichever
/// setter was used. `Debug` shows them as `***`; [`Properties::iter`] and
/// [`Properties::get`] skip them; [`Properties::split_secrets`] separates them
/// so that only the secret part needs a protected file. Only
/// [`Properties::to_properties_string`] (the file handed to Kafka) and
/// [`Properties::secrets`] carry their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(BTreeMap<String, Value>);

impl Properties {
    /// Sets `key` to `value`, replacing any earlier value. A key that names a
    /// secret ([`is_secret_property`]) makes the entry secret.
    pub fn set(&mut self, key: impl Into<String>, value: impl ToString) -> &mut Self {
        let key = key.into();
        let value = value.to_string();
        let value = if is_secret_property(&key) {
            Value::Secret(SecretString::new(value))
        } else {
            Value::Public(value)
        };
        self.0.insert(key, value);
        self
    }

    /// Sets `key` to the secret `value`, replacing any earlier value.
    pub fn set_secret(&mut self, key: impl Into<String>, value: SecretString) -> &mut Self {
        self.0.insert(key.into(), Value::Secret(value));
        self
    }

    /// The value of the public entry `key` (`None` for a secret entry: see
    /// [`Properties::get_secret`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        match self.0.get(key)? {
            Value::Public(v) => Some(v),
            Value::Secret(_) => None,
        }
    }

    /// The value of the secret entry `key`.
    pub fn get_secret(&self, key: &str) -> Option<&SecretString> {
        match self.0.get(key)? {
            Value::Secret(v) => Some(v),
            Value::Public(_) => None,
        }
    }

    /// Whether `key` is set (public or secret).
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Whether the entry `key` is secret.
    pub fn is_secret(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(Value::Secret(_)))
    }

    /// Whether any entry is secret.
    pub fn has_secrets(&self) -> bool {
        self.0.values().any(|v| matches!(v, Value::Secret(_)))
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> bool {
        self.0.remove(key).is_some()
    }

    /// The public entries, sorted by key (secret entries are skipped: see
    /// [`Properties::secrets`]).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(k, v)| match v {
            Value::Public(v) => Some((k.as_str(), v.as_str())),
            Value::Secret(_) => None,
        })
    }

    /// The secret entries, sorted by key.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.0.iter().filter_map(|(k, v)| match v {
            Value::Secret(v) => Some((k.as_str(), v)),
            Value::Public(_) => None,
        })
    }

    /// Splits into `(public, secret)`: the entries that may be shown (e.g. as
    /// container environment) and those that belong in a file only its owner
    /// reads.
    pub fn split_secrets(&self) -> (Properties, Properties) {
        let (secret, public): (BTreeMap<_, _>, BTreeMap<_, _>) = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .partition(|(_, v)| matches!(v, Value::Secret(_)));
        (Properties(public), Properties(secret))
    }

    /// The `key=value` file text, with Java properties escaping. It holds the
    /// secret entries in clear: it is the file handed to Kafka, to be written
    /// readable by its owner only and never shown (see
    /// [`Properties::to_secret_text`]).
    pub fn to_properties_string(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.0 {
            out.push_str(&escape(k, true));
            out.push('=');
            out.push_str(&escape(v.text(), false));
            out.push('\n');
        }
        out
    }

    /// [`Properties::to_properties_string`] kept in the masked type, for
    /// text that holds secrets on its way to a protected file.
    pub fn to_secret_text(&self) -> SecretString {
        SecretString::new(self.to_properties_string())
    }
}

/// `Debug` shows secret values as `***`.
impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            match v {
                Value::Public(v) => m.entry(k, v),
                Value::Secret(_) => m.entry(k, &"***"),
            };
        }
        m.finish()
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

/// A node's TLS material on a generated cluster, in PEM: what the local
/// provider hands Kafka as `ssl.keystore.type=PEM` / `ssl.truststore.type=PEM`.
#[derive(Clone, Debug)]
pub struct NodeTls {
    /// The node's certificate followed by the CA's.
    pub certificate_chain: String,
    /// The node's PKCS#8 private key (never shown).
    pub private_key: SecretString,
    /// The CA certificate(s) the node trusts.
    pub ca_certificates: String,
}

impl Properties {
    /// Sets the keystore and truststore of `tls` inline (PEM, no passwords).
    pub fn set_node_tls(&mut self, tls: &NodeTls) -> &mut Self {
        self.set("ssl.keystore.type", "PEM")
            .set("ssl.keystore.certificate.chain", &tls.certificate_chain)
            .set_secret("ssl.keystore.key", tls.private_key.clone())
            .set("ssl.truststore.type", "PEM")
            .set("ssl.truststore.certificates", &tls.ca_certificates)
    }
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

/// Whether the value of the Kafka or librdkafka property `key` is a secret
/// that must never be shown: passwords, secrets, JAAS configs (which embed
/// passwords), private keys and basic-auth credentials. Also the rule behind
/// the secret flag of the `kafka.env` keys ([`crate::keys::Key::is_secret`]).
pub fn is_secret_property(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "credentials", "user.info"]
        .iter()
        .any(|w| k.contains(w))
        || k.ends_with(".key")
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if is_secret_property(k) {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl ClusterConfig {
    /// `server.properties` of node `node_id` (1-based) storing its log in
    /// `log_dir`: a KRaft node (broker and controller in one process), or
    /// in ZooKeeper mode a broker of the ensemble's cluster.
    pub fn broker_properties(&self, node_id: u16, log_dir: &str) -> Properties {
        if self.uses_zookeeper() {
            return self.zookeeper_broker_properties(node_id, log_dir);
        }
        let net = &self.network;
        let voters = self
            .node_ids()
            .map(|id| format!("{id}@{}:{}", net.host, net.controller_port(id)))
            .collect::<Vec<_>>()
            .join(",");
        let client_port = net.kafka_port(node_id);
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
                format!(
                    "EXTERNAL:{protocol},CONTROLLER:{}",
                    if self.security.generated() {
                        "SSL"
                    } else {
                        "PLAINTEXT"
                    }
                ),
            )
            .set("inter.broker.listener.name", "EXTERNAL");
        self.render_common_broker_settings(&mut p, log_dir);
        p
    }

    /// The settings of a broker in either metadata mode: storage,
    /// replication fitted to the broker count, threads, topic policy and
    /// the security of the client listener.
    pub(crate) fn render_common_broker_settings(&self, p: &mut Properties, log_dir: &str) {
        let fit = self.replication_for(self.broker_count);
        let (rf, min_isr) = (fit.factor, fit.min_insync_replicas);
        p.set("log.dirs", log_dir)
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
        self.render_broker_security(p);
    }

    /// The principal of node `node_id`'s certificate on a generated cluster.
    pub fn node_principal(node_id: u16) -> String {
        format!("CN={}", Self::node_common_name(node_id))
    }

    /// The common name of node `node_id`'s generated certificate.
    pub fn node_common_name(node_id: u16) -> String {
        format!("tda-kafka-node-{node_id}")
    }

    /// The secured part of a generated cluster (`TDA_KAFKA_TLS_DIR`): the
    /// controller listener on mutual TLS, the JAAS entry of every SCRAM
    /// mechanism on the client listener (the admin user is also the
    /// inter-broker principal), and with SASL the KRaft StandardAuthorizer
    /// with the nodes and the admin as super users.
    fn render_generated_security(&self, p: &mut Properties) {
        let sec = &self.security;
        p.set("listener.name.controller.ssl.client.auth", "required");
        let endpoint = match sec.hostname_verification {
            crate::HostnameVerification::Https => "https",
            crate::HostnameVerification::None => "",
        };
        p.set("ssl.endpoint.identification.algorithm", endpoint);
        if !sec.protocol.uses_sasl() {
            return;
        }
        if let (Some(user), Some(password)) = (&sec.sasl_username, &sec.sasl_password) {
            for m in sec.scram_mechanisms() {
                p.set_secret(
                    format!(
                        "listener.name.external.{}.sasl.jaas.config",
                        m.as_str().to_ascii_lowercase()
                    ),
                    SecretString::new(format!(
                        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{}\";",
                        password.expose()
                    )),
                );
            }
        }
        let mut supers: Vec<String> = self
            .node_ids()
            .map(|id| format!("User:{}", Self::node_principal(id)))
            .collect();
        if let Some(user) = &sec.sasl_username {
            supers.push(format!("User:{user}"));
        }
        p.set(
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        )
        .set("super.users", supers.join(";"))
        .set("allow.everyone.if.no.acl.found", "false");
    }

    fn render_broker_security(&self, p: &mut Properties) {
        let sec = &self.security;
        if sec.generated() {
            self.render_generated_security(p);
        } else if sec.protocol.uses_tls() {
            for (k, v) in [
                ("ssl.keystore.location", &sec.ssl_keystore_location),
                ("ssl.truststore.location", &sec.ssl_truststore_location),
            ] {
                if let Some(v) = v {
                    p.set(k, v);
                }
            }
            for (k, v) in [
                ("ssl.keystore.password", &sec.ssl_keystore_password),
                ("ssl.key.password", &sec.ssl_key_password),
                ("ssl.truststore.password", &sec.ssl_truststore_password),
            ] {
                if let Some(v) = v {
                    p.set_secret(k, v.clone());
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
            if let Some(ca) = sec.ca_location() {
                c.set("ssl.ca.location", ca);
            }
            if sec.hostname_verification == crate::HostnameVerification::None {
                c.set("ssl.endpoint.identification.algorithm", "none");
            }
        }
        if sec.protocol.uses_sasl() {
            let mech = sec.client_sasl_mechanism();
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

    fn ssl_config(password: &str) -> ClusterConfig {
        let mut c = ClusterConfig::default();
        c.security.protocol = SecurityProtocol::Ssl;
        c.security.ssl_keystore_location = Some("/certs/k.jks".into());
        c.security.ssl_keystore_password = Some(SecretString::new(password));
        c.security.ssl_key_password = Some(SecretString::new(password));
        c.security.ssl_truststore_location = Some("/certs/t.jks".into());
        c.security.ssl_truststore_password = Some(SecretString::new(password));
        c
    }

    #[test]
    fn broker_passwords_are_secret_entries() {
        let p = ssl_config("Pa55-word").broker_properties(1, "/data/1");
        let shown = format!("{p:?}");
        assert!(!shown.contains("Pa55-word"), "{shown}");
        assert!(
            shown.contains("\"ssl.keystore.password\": \"***\""),
            "{shown}"
        );
        assert!(p.is_secret("ssl.key.password") && p.has_secrets());
        assert_eq!(p.get("ssl.keystore.password"), None);
        assert_eq!(
            p.get_secret("ssl.truststore.password")
                .map(SecretString::expose),
            Some("Pa55-word")
        );
        assert_eq!(p.get("ssl.keystore.location"), Some("/certs/k.jks"));
        assert!(p.iter().all(|(_, v)| !v.contains("Pa55-word")));
        // The file for Kafka has everything.
        assert!(p
            .to_properties_string()
            .contains("ssl.keystore.password=Pa55-word\n"));

        let (public, secret) = p.split_secrets();
        assert!(!public.has_secrets());
        assert!(!public.to_properties_string().contains("Pa55-word"));
        let keys: Vec<&str> = secret.secrets().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "ssl.key.password",
                "ssl.keystore.password",
                "ssl.truststore.password"
            ]
        );
        assert_eq!(secret.iter().count(), 0);
        assert_eq!(
            secret.to_secret_text().expose(),
            "ssl.key.password=Pa55-word\nssl.keystore.password=Pa55-word\nssl.truststore.password=Pa55-word\n"
        );
        assert!(!format!("{:?}", secret.to_secret_text()).contains("Pa55"));
    }

    #[test]
    fn keys_that_name_a_secret_are_secret_whatever_the_setter() {
        let mut p = Properties::default();
        p.set("sasl.jaas.config", "x required password=\"Pa55\";")
            .set(
                "listener.name.internal.scram-sha-256.sasl.jaas.config",
                "Pa55",
            )
            .set("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----Pa55")
            .set("log.dirs", "/data");
        assert_eq!(p.secrets().count(), 3);
        assert!(!format!("{p:?}").contains("Pa55"));
        assert_eq!(p.iter().collect::<Vec<_>>(), [("log.dirs", "/data")]);
        for public in [
            "ssl.keystore.location",
            "sasl.enabled.mechanisms",
            "key.converter",
        ] {
            assert!(!is_secret_property(public), "{public}");
        }
    }

    #[test]
    fn env_keys_flag_secrets_by_the_same_rule() {
        for key in crate::keys::all_keys() {
            assert_eq!(
                key.is_secret(),
                is_secret_property(key.name()),
                "{}",
                key.name()
            );
        }
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
