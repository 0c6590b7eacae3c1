//! A generated secured cluster (`TDA_KAFKA_TLS_DIR`) on the Docker stack
//! (local image set): what the brokers and the Connect worker get on top of
//! the plain topology. Every piece of key or password material goes into
//! the services' secret files, never into their environment.
//!
//! - brokers: the in-network listener `INTERNAL` (inter-broker traffic) on
//!   the profile's protocol with the same SCRAM login as `EXTERNAL`, the
//!   controller listener on mutual TLS, the node certificate and the CA as
//!   inline PEM, and the `--add-scram` arguments of the storage format as a
//!   java @argfile fragment the image's entrypoint hands the storage tool;
//! - Connect: the profile's protocol, the CA as a PEM truststore and the
//!   admin's SCRAM login, for the worker and its tasks' clients;
//! - the console (`tda-kafka ui`): the same login (the admin, over the
//!   in-network listener) as a client env file read with `--env-file`, so
//!   the console renders its client security with the one function every
//!   client uses ([`ClusterConfig::client_properties`]), and the CA as a file.

use std::collections::BTreeMap;

use tda_kafka_config::{ClusterConfig, Properties, SaslMechanism, SecretString, SecurityConfig};

use super::brokers::{property_env_name, SECRETS_MOUNT_DIR, SECRET_PROPERTIES_ENV};
use super::{Cx, Role, SecretFile, ServiceSpec};
use crate::docker::images::ImageSet;

/// The variable that names the mounted @argfile fragment (the `--add-scram`
/// arguments) the local image's entrypoint appends to the storage format.
pub const FORMAT_ARGS_ENV: &str = "TDA_KAFKA_FORMAT_ARGS";
/// The file name of that fragment.
pub const FORMAT_ARGS_FILE: &str = "storage-format.args";
/// The file name of the Connect worker's secret properties.
pub const CONNECT_SECRETS_FILE: &str = "connect-secrets.properties";
/// The file name of the console's client env file (its login).
pub const CONSOLE_ENV_FILE: &str = "console.env";
/// The file name of the generated CA the console trusts (the generated
/// cluster's name for it, in its client profile's `TDA_KAFKA_TLS_DIR`).
pub const CONSOLE_CA_FILE: &str = tda_kafka_config::GENERATED_CA_FILE;

/// Whether `cx` describes a generated secured cluster on the local images.
fn secured(cx: &Cx<'_>) -> bool {
    cx.config.security.generated() && cx.set == ImageSet::Local
}

/// The multi-line PEM entries of a node's TLS settings: kept out of the
/// environment (the image's `KAFKA_*` convention carries one line).
const PEM_KEYS: [&str; 2] = [
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
];

/// Secures broker `node_id`'s properties (see the module docs).
pub(super) fn broker(cx: &Cx<'_>, node_id: u16, props: &mut Properties) {
    if !secured(cx) {
        return;
    }
    let protocol = cx.config.security.protocol.as_str();
    props.set(
        "listener.security.protocol.map",
        format!("INTERNAL:{protocol},EXTERNAL:{protocol},CONTROLLER:SSL"),
    );
    // Brokers replicate over INTERNAL and log in there like on EXTERNAL.
    let logins: Vec<(String, SecretString)> = props
        .secrets()
        .filter_map(|(k, v)| {
            k.strip_prefix("listener.name.external.")
                .map(|rest| (format!("listener.name.internal.{rest}"), v.clone()))
        })
        .collect();
    for (k, v) in logins {
        props.set_secret(k, v);
    }
    if let Some(tls) = cx.tls.and_then(|t| t.nodes.get(&node_id)) {
        props.set_node_tls(tls);
        for k in PEM_KEYS {
            if let Some(pem) = props.get(k).map(String::from) {
                props.set_secret(k, SecretString::new(pem));
            }
        }
    }
}

/// One argument of a java @argfile, in double quotes.
fn argfile_quote(arg: &str) -> String {
    format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The secret file of broker `key` with the storage format's `--add-scram`
/// arguments (none without SCRAM users), and the variable naming it.
pub(super) fn format_args(
    cx: &Cx<'_>,
    key: &str,
    environment: &mut BTreeMap<String, String>,
) -> Option<SecretFile> {
    if !secured(cx) {
        return None;
    }
    let scram = crate::tls::add_scram_args(cx.config);
    if scram.is_empty() {
        return None;
    }
    let mut text = String::new();
    for s in &scram {
        text.push_str("\"--add-scram\"\n");
        text.push_str(&argfile_quote(s.expose()));
        text.push('\n');
    }
    let target = format!("{SECRETS_MOUNT_DIR}/{FORMAT_ARGS_FILE}");
    environment.insert(FORMAT_ARGS_ENV.into(), target.clone());
    Some(SecretFile {
        host_file: format!("{key}/{FORMAT_ARGS_FILE}"),
        target_path: target,
        contents: SecretString::new(text),
    })
}

/// The profile's client security as Java client properties for a client
/// inside the stack network: protocol, the generated CA as PEM truststore,
/// host name check, the admin's SASL login.
fn java_client_security(cx: &Cx<'_>, ca_pem: &str) -> Properties {
    let sec = &cx.config.security;
    let mut p = Properties::default();
    p.set("security.protocol", sec.protocol.as_str())
        .set("ssl.truststore.type", "PEM")
        .set_secret("ssl.truststore.certificates", SecretString::new(ca_pem))
        .set(
            "ssl.endpoint.identification.algorithm",
            match sec.hostname_verification {
                tda_kafka_config::HostnameVerification::Https => "https",
                tda_kafka_config::HostnameVerification::None => "",
            },
        );
    let mech = sec
        .client_sasl_mechanism()
        .filter(|_| sec.protocol.uses_sasl());
    if let (Some(m), Some(user), Some(pw)) = (mech, &sec.sasl_username, &sec.sasl_password) {
        let module = match m {
            SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
            _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
        };
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        p.set("sasl.mechanism", m.as_str()).set_secret(
            "sasl.jaas.config",
            SecretString::new(format!(
                "{module} required username=\"{}\" password=\"{}\";",
                quote(user),
                quote(pw.expose())
            )),
        );
    }
    p
}

/// Secures the Connect worker of `services`, if one runs (see the module docs).
pub(super) fn connect(cx: &Cx<'_>, services: &mut [ServiceSpec]) {
    let (true, Some(tls)) = (secured(cx), cx.tls) else {
        return;
    };
    let Some(worker) = services.iter_mut().find(|s| s.role == Role::Connect) else {
        return;
    };
    let security = java_client_security(cx, &tls.ca_pem);
    // The worker's own clients, and those of the tasks.
    let mut secret = Properties::default();
    for prefix in ["", "producer.", "consumer.", "admin."] {
        for (k, v) in security.iter() {
            worker.environment.insert(
                property_env_name("CONNECT_", &format!("{prefix}{k}")),
                v.to_string(),
            );
        }
        for (k, v) in security.secrets() {
            secret.set_secret(format!("{prefix}{k}"), v.clone());
        }
    }
    let target = format!("{SECRETS_MOUNT_DIR}/{CONNECT_SECRETS_FILE}");
    worker
        .environment
        .insert(SECRET_PROPERTIES_ENV.into(), target.clone());
    worker.secret_files.push(SecretFile {
        host_file: format!("{}/{CONNECT_SECRETS_FILE}", worker.key),
        target_path: target,
        contents: secret.to_secret_text(),
    });
}

/// The client profile of a service inside the stack network: `config`'s
/// environment and client security (protocol, mechanism, the admin's login,
/// host name check), a generated cluster (`TDA_KAFKA_TLS_DIR`) whose CA is
/// mounted in [`SECRETS_MOUNT_DIR`], without the other SCRAM users.
fn in_network_client(config: &ClusterConfig) -> ClusterConfig {
    let sec = &config.security;
    let mut client = ClusterConfig::for_environment(config.environment);
    client.security = SecurityConfig {
        protocol: sec.protocol,
        tls_dir: Some(SECRETS_MOUNT_DIR.into()),
        ssl_ca_location: Some(format!("{SECRETS_MOUNT_DIR}/{CONSOLE_CA_FILE}")),
        sasl_enabled_mechanisms: sec.sasl_enabled_mechanisms.clone(),
        sasl_mechanism_inter_broker_protocol: sec.sasl_mechanism_inter_broker_protocol,
        sasl_username: sec.sasl_username.clone(),
        sasl_password: sec.sasl_password.clone(),
        hostname_verification: sec.hostname_verification,
        ..SecurityConfig::default()
    };
    client
}

/// Secures the console of `services`, if one runs (see the module docs): its
/// client env file and the CA as secret files, `--env-file` naming the
/// former (a path, no secret, on its command line).
pub(super) fn console(cx: &Cx<'_>, services: &mut [ServiceSpec]) {
    let (true, Some(tls)) = (secured(cx), cx.tls) else {
        return;
    };
    let Some(ui) = services.iter_mut().find(|s| s.role == Role::Ui) else {
        return;
    };
    let ca = format!("{SECRETS_MOUNT_DIR}/{CONSOLE_CA_FILE}");
    let env_file = format!("{SECRETS_MOUNT_DIR}/{CONSOLE_ENV_FILE}");
    let profile = in_network_client(cx.config).to_env_file(true);
    ui.command.push(format!("--env-file={env_file}"));
    ui.secret_files.push(SecretFile {
        host_file: format!("{}/{CONSOLE_CA_FILE}", ui.key),
        target_path: ca,
        contents: SecretString::new(tls.ca_pem.clone()),
    });
    ui.secret_files.push(SecretFile {
        host_file: format!("{}/{CONSOLE_ENV_FILE}", ui.key),
        target_path: env_file,
        contents: SecretString::new(profile),
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tda_kafka_config::{ClusterConfig, NodeTls, ScramCredential, SecurityProtocol};

    use super::super::{build_secured, StackOptions};
    use super::*;
    use crate::docker::tls::StackTls;

    const SENTINEL: &str = "Sentinel-docker-secured-9f1";

    fn generated() -> (ClusterConfig, StackTls) {
        let mut c = ClusterConfig::default();
        let s = &mut c.security;
        s.protocol = SecurityProtocol::SaslSsl;
        s.tls_dir = Some("/nonexistent/tls".into());
        s.sasl_enabled_mechanisms = vec![SaslMechanism::ScramSha512];
        s.sasl_mechanism_inter_broker_protocol = Some(SaslMechanism::ScramSha512);
        s.sasl_username = Some("admin".into());
        s.sasl_password = Some(SecretString::new(SENTINEL));
        s.scram_credentials = vec![ScramCredential {
            name: "jobs".into(),
            password: SecretString::new(SENTINEL),
        }];
        let node = |id: u16| NodeTls {
            certificate_chain: format!("-----BEGIN CERTIFICATE-----\nnode{id}\n"),
            private_key: SecretString::new(format!("-----BEGIN PRIVATE KEY-----\n{SENTINEL}")),
            ca_certificates: "-----BEGIN CERTIFICATE-----\nca\n".into(),
        };
        let tls = StackTls {
            nodes: BTreeMap::from([(1, node(1)), (2, node(2)), (3, node(3))]),
            ca_pem: "-----BEGIN CERTIFICATE-----\nca\n".into(),
        };
        (c, tls)
    }

    #[test]
    fn a_generated_cluster_gets_secured_listeners_and_only_secret_files_hold_secrets() {
        let (c, tls) = generated();
        let t = build_secured(&c, &StackOptions::default(), Some(&tls));
        let shown = format!("{t:?}{}", serde_json::to_string(&t).unwrap());
        assert!(
            !shown.contains(SENTINEL) && !shown.contains("BEGIN"),
            "{shown}"
        );
        let k1 = t.service("kafka-1").unwrap();
        let env = &k1.environment;
        assert_eq!(
            env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"],
            "INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL"
        );
        assert_eq!(env["KAFKA_SSL_KEYSTORE_TYPE"], "PEM");
        assert!(env.values().all(|v| !v.contains('\n')), "{env:?}");
        assert_eq!(
            env[FORMAT_ARGS_ENV],
            "/run/secrets/tda-kafka/storage-format.args"
        );
        let file = |s: &ServiceSpec, name: &str| {
            s.secret_files
                .iter()
                .find(|f| f.host_file.ends_with(name))
                .unwrap_or_else(|| panic!("{name} in {:?}", s.secret_files))
                .contents
                .expose()
                .to_string()
        };
        let props = file(k1, "server-secrets.properties");
        for k in [
            "listener.name.internal.scram-sha-512.sasl.jaas.config=",
            "listener.name.external.scram-sha-512.sasl.jaas.config=",
            "ssl.keystore.key=",
            "ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE-----\\nnode1\\n",
            "ssl.truststore.certificates=",
        ] {
            assert!(props.contains(k), "{k} in kafka-1's secret properties");
        }
        let args = file(k1, FORMAT_ARGS_FILE);
        assert_eq!(
            args,
            format!(
                "\"--add-scram\"\n\"SCRAM-SHA-512=[name=admin,password={SENTINEL}]\"\n\
                 \"--add-scram\"\n\"SCRAM-SHA-512=[name=jobs,password={SENTINEL}]\"\n"
            )
        );
        let connect = t.service("kafka-connect").unwrap();
        assert_eq!(connect.environment["CONNECT_SECURITY_PROTOCOL"], "SASL_SSL");
        assert_eq!(
            connect.environment["CONNECT_PRODUCER_SASL_MECHANISM"],
            "SCRAM-SHA-512"
        );
        assert_eq!(
            connect.environment[SECRET_PROPERTIES_ENV],
            "/run/secrets/tda-kafka/connect-secrets.properties"
        );
        let worker = file(connect, CONNECT_SECRETS_FILE);
        for prefix in ["", "producer.", "consumer.", "admin."] {
            assert!(
                worker.contains(&format!("\n{prefix}sasl.jaas.config="))
                    || worker.starts_with(&format!("{prefix}sasl.jaas.config=")),
                "{prefix}"
            );
            assert!(worker.contains(&format!(
                "{prefix}ssl.truststore.certificates=-----BEGIN CERTIFICATE-----\\nca\\n"
            )));
        }
    }

    #[test]
    fn the_console_logs_in_as_the_admin_from_its_secret_env_file() {
        let (c, tls) = generated();
        let t = build_secured(&c, &StackOptions::default(), Some(&tls));
        let ui = t.service("kafka-ui").unwrap();
        let shown = format!("{:?} {:?}", ui.environment, ui.command);
        assert!(!shown.contains(SENTINEL), "{shown}");
        assert!(
            ui.command
                .contains(&"--env-file=/run/secrets/tda-kafka/console.env".to_string()),
            "{:?}",
            ui.command
        );
        let file = |name: &str| {
            ui.secret_files
                .iter()
                .find(|f| f.host_file == format!("kafka-ui/{name}"))
                .unwrap_or_else(|| panic!("{name} in {:?}", ui.secret_files))
        };
        assert_eq!(file(CONSOLE_CA_FILE).contents.expose(), tls.ca_pem);
        let env = file(CONSOLE_ENV_FILE);
        assert_eq!(env.target_path, "/run/secrets/tda-kafka/console.env");
        // What the console in the container reads back, and the client
        // security it renders from it.
        let loaded = tda_kafka_config::ConfigLoader::new()
            .env_text("console.env", env.contents.expose())
            .load()
            .unwrap();
        assert!(
            loaded.report.warnings().next().is_none(),
            "{:?}",
            loaded.report
        );
        let sec = &loaded.config.security;
        assert_eq!(sec.tls_dir.as_deref(), Some(SECRETS_MOUNT_DIR));
        assert!(sec.scram_credentials.is_empty(), "{sec:?}");
        let p = loaded.config.client_properties();
        assert_eq!(p.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(
            p.get("ssl.ca.location"),
            Some("/run/secrets/tda-kafka/ca.pem")
        );
        assert_eq!(p.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(p.get("sasl.username"), Some("admin"));
        assert_eq!(p.get("sasl.password"), Some(SENTINEL));
    }
}
