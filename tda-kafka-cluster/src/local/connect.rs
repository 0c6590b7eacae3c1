//! Kafka Connect as a service of the local stack: one distributed worker
//! (`ConnectDistributed`, the Kafka jars' connect-runtime) on
//! `TDA_CONNECT_PORT`, in group `TDA_CONNECT_GROUP_ID`, its internal topics
//! replicated as the profile's topics are ([`tda_kafka_config::Replication::fit`]),
//! plugins from `<data dir>/connect/plugins` (the FileStream connectors) and
//! `TDA_CONNECT_PLUGIN_PATH`.

use std::path::PathBuf;

use tda_kafka_config::{
    ClusterConfig, HostnameVerification, Properties, SaslMechanism, SecurityProtocol,
};

use super::jvm::{self, JarSet};
use super::services::Spawned;
use super::start::write_private;
use super::{Launched, LocalProvider, LOG4J_FILE};
use crate::dist::{ConnectPlugins, Java, KafkaDist};
use crate::{ClusterError, Progress, Result, ServiceAddress, ServiceKind, StackMember};

/// Heap of the Connect worker JVM.
pub(super) const CONNECT_HEAP: &str = "-Xmx512m";

/// The worker's internal topics (the names of the seed's Connect image).
pub const CONNECT_TOPICS: [(&str, &str); 3] = [
    ("config.storage.topic", "_connect-configs"),
    ("offset.storage.topic", "_connect-offsets"),
    ("status.storage.topic", "_connect-status"),
];

impl LocalProvider {
    pub(super) fn connect_dir(&self) -> PathBuf {
        self.data_dir.join("connect")
    }

    /// The worker's configuration file (its path marks the worker's JVM).
    pub(super) fn connect_props(&self) -> PathBuf {
        self.connect_dir().join("worker.properties")
    }

    /// The stack's own plugin directory, first on the worker's `plugin.path`.
    pub fn connect_plugin_dir(&self) -> PathBuf {
        self.connect_dir().join("plugins")
    }

    /// The worker's properties: brokers and security, group, REST listener,
    /// internal topics, JSON converters, plugin path and discovery.
    pub(super) fn connect_worker_properties(&self, config: &ClusterConfig) -> Properties {
        let net = &config.network;
        let rf = config.replication_for(config.broker_count).factor;
        let mut p = Properties::default();
        p.set("bootstrap.servers", config.bootstrap_servers())
            .set("group.id", &config.services.connect_group_id)
            .set(
                "listeners",
                format!("http://{}:{}", net.host, net.connect_port),
            )
            .set("rest.advertised.host.name", &net.host)
            .set("rest.advertised.port", net.connect_port);
        for (key, topic) in CONNECT_TOPICS {
            p.set(key, topic);
            let rf_key = key.replace(".topic", ".replication.factor");
            p.set(rf_key, rf);
        }
        p.set(
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .set(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .set("key.converter.schemas.enable", "false")
        .set("value.converter.schemas.enable", "false")
        .set("offset.flush.interval.ms", "10000");
        let mut path = vec![self.connect_plugin_dir()];
        path.extend(config.services.connect_plugin_path.iter().cloned());
        p.set(
            "plugin.path",
            path.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .set(
            "plugin.discovery",
            config.services.connect_plugin_discovery(),
        );
        // The worker's own clients, and those of the tasks (producer./consumer./admin.).
        let security = java_client_security(config);
        for prefix in ["", "producer.", "consumer.", "admin."] {
            for (k, v) in security.iter() {
                p.set(format!("{prefix}{k}"), v);
            }
            for (k, secret) in security.secrets() {
                p.set_secret(format!("{prefix}{k}"), secret.clone());
            }
        }
        p
    }

    /// Copies the stack's plugins into the plugin directory.
    fn install_plugins(&self, plugins: &ConnectPlugins) -> Result<()> {
        let target = self.connect_plugin_dir();
        for plugin in plugins.plugins()? {
            let name = plugin.file_name().unwrap_or_default();
            let dir = target.join(name);
            std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create", &dir))?;
            for jar in std::fs::read_dir(&plugin)
                .map_err(ClusterError::io("cannot read", &plugin))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jar"))
            {
                let to = dir.join(jar.file_name().unwrap_or_default());
                std::fs::copy(&jar, &to).map_err(ClusterError::io("cannot copy to", &to))?;
            }
        }
        Ok(())
    }

    /// Writes the worker's files and launches it; readiness is waited for
    /// by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn spawn_connect(
        &self,
        config: &ClusterConfig,
        java: &Java,
        kafka: &KafkaDist,
        plugins: &ConnectPlugins,
        progress: &dyn Progress,
        launched: &mut Vec<Launched>,
    ) -> Result<Spawned> {
        let member = StackMember::Service(ServiceKind::Connect);
        let dir = self.connect_dir();
        std::fs::create_dir_all(self.connect_plugin_dir())
            .map_err(ClusterError::io("cannot create", &dir))?;
        self.install_plugins(plugins)?;
        let props = self.connect_props();
        write_private(
            &props,
            &self
                .connect_worker_properties(config)
                .to_properties_string(),
        )?;
        let mut args = vec![CONNECT_HEAP.to_string()];
        args.extend(
            config
                .jvm_performance_opts
                .split_whitespace()
                .map(String::from),
        );
        args.extend(jvm::service_flags(
            &self.jvm,
            config,
            java,
            &JarSet::connect(kafka),
            CONNECT_HEAP,
            progress,
        ));
        args.extend([
            "-Djava.awt.headless=true".to_string(),
            format!(
                "-Dlog4j2.configurationFile={}",
                self.data_dir.join(LOG4J_FILE).display()
            ),
            format!("-Dkafka.logs.dir={}", dir.display()),
            "-cp".into(),
            kafka.classpath(),
            "org.apache.kafka.connect.cli.ConnectDistributed".into(),
            self.marker(member),
        ]);
        let log = self.log_file(member);
        let pid = super::process::spawn_detached(&java.path, &args, &dir, &log)?;
        let this = Launched { member, pid, log };
        launched.push(this.clone());
        super::process::write_pid(&self.pid_file(member), pid)?;
        Ok(Spawned {
            kind: ServiceKind::Connect,
            at: ServiceAddress::new(config.network.host.clone(), config.network.connect_port, ""),
            launched: this,
        })
    }
}

/// The profile's client security as Java client properties (the worker is
/// a Java client): protocol, truststore, SASL login.
fn java_client_security(config: &ClusterConfig) -> Properties {
    let sec = &config.security;
    let mut p = Properties::default();
    if sec.protocol == SecurityProtocol::Plaintext {
        return p;
    }
    p.set("security.protocol", sec.protocol.as_str());
    if sec.protocol.uses_tls() {
        if let Some(ts) = &sec.ssl_truststore_location {
            p.set("ssl.truststore.location", ts);
            if let Some(pw) = &sec.ssl_truststore_password {
                p.set_secret("ssl.truststore.password", pw.clone());
            }
        } else if let Some(ca) = sec.ca_location() {
            // A generated cluster (or a CA file): trust its PEM CA directly.
            p.set("ssl.truststore.type", "PEM");
            p.set("ssl.truststore.location", ca);
        }
        if sec.hostname_verification == HostnameVerification::None {
            p.set("ssl.endpoint.identification.algorithm", "");
        }
    }
    if sec.protocol.uses_sasl() {
        let mech = sec.client_sasl_mechanism();
        if let (Some(m), Some(user), Some(pw)) = (mech, &sec.sasl_username, &sec.sasl_password) {
            let module = match m {
                SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
                _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
            };
            let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
            p.set("sasl.mechanism", m.as_str());
            p.set_secret(
                "sasl.jaas.config",
                tda_kafka_config::SecretString::new(format!(
                    "{module} required username=\"{}\" password=\"{}\";",
                    quote(user),
                    quote(pw.expose())
                )),
            );
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_uses_the_profile_replication_group_and_plugin_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let mut c = ClusterConfig::default().fit_to_brokers(1);
        c.services.connect_group_id = "my-workers".into();
        c.services.connect_plugin_path = vec!["/opt/plugins".into()];
        let props = p.connect_worker_properties(&c);
        assert_eq!(props.get("group.id"), Some("my-workers"));
        assert_eq!(props.get("config.storage.replication.factor"), Some("1"));
        assert_eq!(props.get("status.storage.topic"), Some("_connect-status"));
        assert_eq!(
            props.get("plugin.path"),
            Some(format!("{},/opt/plugins", p.connect_plugin_dir().display()).as_str())
        );
        assert_eq!(props.get("listeners"), Some("http://127.0.0.1:8083"));
        // The user's plugins may lack ServiceLoader manifests: scanned.
        assert_eq!(props.get("plugin.discovery"), Some("hybrid_warn"));
        let three = p.connect_worker_properties(&ClusterConfig::default());
        assert_eq!(three.get("offset.storage.replication.factor"), Some("3"));
        assert_eq!(three.get("plugin.discovery"), Some("service_load"));
        assert!(!three.has_secrets());
    }

    #[test]
    fn sasl_credentials_go_into_a_secret_jaas_entry_for_every_client() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let mut c = ClusterConfig::default();
        c.security.protocol = SecurityProtocol::SaslPlaintext;
        c.security.sasl_enabled_mechanisms = vec![SaslMechanism::ScramSha256];
        c.security.sasl_username = Some("tda".into());
        c.security.sasl_password = Some(tda_kafka_config::SecretString::new("s3cr3t"));
        let props = p.connect_worker_properties(&c);
        for prefix in ["", "producer.", "consumer.", "admin."] {
            let key = format!("{prefix}sasl.jaas.config");
            assert!(props.is_secret(&key), "{key}");
            assert!(props.get_secret(&key).unwrap().expose().contains("s3cr3t"));
        }
        assert!(!format!("{props:?}").contains("s3cr3t"));
        assert_eq!(props.get("security.protocol"), Some("SASL_PLAINTEXT"));
    }

    #[test]
    fn a_generated_cluster_is_trusted_through_its_pem_ca_for_every_client() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let mut c = ClusterConfig::default();
        c.security.protocol = SecurityProtocol::SaslSsl;
        c.security.tls_dir = Some("/srv/tls".into());
        c.security.hostname_verification = HostnameVerification::None;
        let props = p.connect_worker_properties(&c);
        for prefix in ["", "producer.", "consumer.", "admin."] {
            let get = |k: &str| props.get(&format!("{prefix}{k}")).map(str::to_string);
            assert_eq!(get("ssl.truststore.type").as_deref(), Some("PEM"));
            assert_eq!(
                get("ssl.truststore.location").as_deref(),
                Some("/srv/tls/ca.pem")
            );
            assert_eq!(
                get("ssl.endpoint.identification.algorithm").as_deref(),
                Some("")
            );
        }
    }
}
