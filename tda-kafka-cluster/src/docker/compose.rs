//! Rendering a [`Topology`] as a docker-compose file (format 3.8, the seed's).
//!
//! The file is produced from the same typed model the Docker provider
//! provisions, so `tda-kafka compose` and `tda-kafka start --provider docker`
//! cannot drift apart.

use std::collections::BTreeMap;

use serde::Serialize;

use super::topology::{Topology, IMAGE_SET_LABEL, SERVICE_LABEL, STACK_LABEL};

/// The compose file model (the subset we emit).
#[derive(Debug, Clone, Serialize)]
pub struct ComposeFile {
    /// Compose file format version.
    pub version: String,
    /// Services by key.
    pub services: BTreeMap<String, ComposeService>,
    /// Networks by key.
    pub networks: BTreeMap<String, ComposeNetwork>,
    /// Named volumes by key.
    pub volumes: BTreeMap<String, ComposeVolume>,
}

/// One compose service.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeService {
    /// Image.
    pub image: String,
    /// Container name.
    pub container_name: String,
    /// Host name inside the network.
    pub hostname: String,
    /// Command, if not the image default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// `HOST_IP:HOST_PORT:CONTAINER_PORT`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// `VOLUME:TARGET`, and `HOST_FILE:TARGET:ro` for secret files (the
    /// file is referenced, its contents never appear here).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<ComposeHealth>,
    /// Start order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Networks with the service's alias.
    pub networks: BTreeMap<String, ComposeAliases>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Restart policy.
    pub restart: String,
}

/// A compose health check.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeHealth {
    /// Test command.
    pub test: Vec<String>,
    /// e.g. `5s`.
    pub interval: String,
    /// e.g. `10s`.
    pub timeout: String,
    /// Retries.
    pub retries: u32,
    /// e.g. `10s`.
    pub start_period: String,
}

/// Network aliases of a service.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeAliases {
    /// DNS aliases.
    pub aliases: Vec<String>,
}

/// A compose network.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeNetwork {
    /// Engine-side name (not prefixed by the project).
    pub name: String,
    /// Driver.
    pub driver: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A compose volume.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeVolume {
    /// Engine-side name (not prefixed by the project).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// Compose interpolates `$`: escape literal dollars.
fn esc(s: &str) -> String {
    s.replace('$', "$$")
}

/// The compose model of `topology`.
pub fn compose_file(topology: &Topology) -> ComposeFile {
    let stack = &topology.options.name;
    let stack_labels = BTreeMap::from([(STACK_LABEL.to_string(), stack.clone())]);
    let mut services = BTreeMap::new();
    for s in &topology.services {
        let mut labels = stack_labels.clone();
        labels.insert(SERVICE_LABEL.into(), s.key.clone());
        labels.insert(
            IMAGE_SET_LABEL.into(),
            topology.options.image_set.as_str().into(),
        );
        services.insert(
            s.key.clone(),
            ComposeService {
                image: s.image.clone(),
                container_name: s.container_name.clone(),
                hostname: s.key.clone(),
                command: (!s.command.is_empty())
                    .then(|| s.command.iter().map(|c| esc(c)).collect()),
                environment: s
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), esc(v)))
                    .collect(),
                ports: s
                    .ports
                    .iter()
                    .map(|p| format!("{}:{}:{}", p.host_ip, p.host_port, p.container_port))
                    .collect(),
                volumes: s
                    .volumes
                    .iter()
                    .map(|v| format!("{}:{}", v.volume, v.target))
                    .chain(s.secret_files.iter().map(|f| {
                        format!(
                            "{}:{}:ro",
                            esc(&f.host_path(stack).display().to_string()),
                            f.target_path
                        )
                    }))
                    .collect(),
                healthcheck: s.healthcheck.as_ref().map(|h| ComposeHealth {
                    test: h.test.iter().map(|t| esc(t)).collect(),
                    interval: format!("{}s", h.interval_secs),
                    timeout: format!("{}s", h.timeout_secs),
                    retries: h.retries,
                    start_period: format!("{}s", h.start_period_secs),
                }),
                depends_on: s.depends_on.clone(),
                networks: BTreeMap::from([(
                    topology.network.clone(),
                    ComposeAliases {
                        aliases: vec![s.key.clone()],
                    },
                )]),
                labels,
                restart: "unless-stopped".into(),
            },
        );
    }
    ComposeFile {
        version: "3.8".into(),
        services,
        networks: BTreeMap::from([(
            topology.network.clone(),
            ComposeNetwork {
                name: topology.network.clone(),
                driver: "bridge".into(),
                labels: stack_labels.clone(),
            },
        )]),
        volumes: topology
            .volumes
            .iter()
            .map(|v| {
                (
                    v.clone(),
                    ComposeVolume {
                        name: v.clone(),
                        labels: stack_labels.clone(),
                    },
                )
            })
            .collect(),
    }
}

/// The docker-compose.yml text of `topology`.
pub fn render(topology: &Topology) -> String {
    let mut out = format!(
        "# Generated by `tda-kafka compose` from the typed topology (image set: {}).\n\
         # Do not edit: change the configuration and render again.\n",
        topology.options.image_set
    );
    for s in &topology.skipped {
        out.push_str(&format!("# not included: {s}\n"));
    }
    let secret_files: Vec<String> = topology
        .services
        .iter()
        .flat_map(|s| &s.secret_files)
        .map(|f| f.host_path(&topology.options.name).display().to_string())
        .collect();
    if !secret_files.is_empty() {
        out.push_str(
            "# Secrets are bind-mounted from these files (mode 0600), which\n\
             # `tda-kafka start --provider docker` writes; they are not in this file:\n",
        );
        for f in secret_files {
            out.push_str(&format!("#   {f}\n"));
        }
    }
    let yaml = serde_norway::to_string(&compose_file(topology))
        .expect("the compose model always serializes");
    for line in yaml.lines() {
        out.push_str(&quote_yaml11_bool(line));
        out.push('\n');
    }
    out
}

/// docker-compose v1 reads YAML 1.1, where a plain `yes`, `no`, `on`, `off`,
/// `y` or `n` is a boolean (`--appendonly yes` would become `true`); the
/// emitter writes YAML 1.2 and leaves them plain. Quote such scalars.
fn quote_yaml11_bool(line: &str) -> String {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    for sep in ["- ", ": "] {
        if let Some(pos) = line.rfind(sep) {
            let (head, value) = line.split_at(pos + sep.len());
            if WORDS.contains(&value) {
                return format!("{head}'{value}'");
            }
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{topology, ImageSet, StackOptions};
    use tda_kafka_config::{ClusterConfig, MetadataMode};

    fn parse(set: ImageSet) -> (Topology, serde_norway::Value) {
        parse_in(set, MetadataMode::Kraft)
    }

    fn parse_in(set: ImageSet, mode: MetadataMode) -> (Topology, serde_norway::Value) {
        let config = ClusterConfig {
            metadata: mode,
            ..ClusterConfig::default()
        };
        let t = topology::build(
            &config,
            &StackOptions {
                image_set: set,
                ..StackOptions::default()
            },
        );
        let text = render(&t);
        (t, serde_norway::from_str(&text).expect("valid YAML"))
    }

    /// A structural check of the compose schema parts we use.
    fn check_structure(t: &Topology, doc: &serde_norway::Value) {
        assert_eq!(doc["version"].as_str(), Some("3.8"));
        let services = doc["services"].as_mapping().expect("services map");
        assert_eq!(services.len(), t.services.len());
        let volumes = doc["volumes"].as_mapping().expect("volumes map");
        let networks = doc["networks"].as_mapping().expect("networks map");
        assert!(networks.contains_key(t.network.as_str()));
        for (key, svc) in services {
            let key = key.as_str().unwrap();
            assert!(
                svc["image"].as_str().is_some_and(|i| !i.is_empty()),
                "{key}"
            );
            assert!(svc["container_name"].as_str().unwrap().starts_with("tda_"));
            for p in svc["ports"].as_sequence().into_iter().flatten() {
                let parts: Vec<&str> = p.as_str().unwrap().split(':').collect();
                assert_eq!(parts.len(), 3, "{key}: {p:?}");
                assert_eq!(parts[0], "127.0.0.1");
                assert!(parts[1].parse::<u16>().is_ok() && parts[2].parse::<u16>().is_ok());
            }
            for v in svc["volumes"].as_sequence().into_iter().flatten() {
                let name = v.as_str().unwrap().split(':').next().unwrap();
                if name.starts_with('/') {
                    assert!(v.as_str().unwrap().ends_with(":ro"), "{key}: {v:?}");
                    continue;
                }
                assert!(
                    volumes.contains_key(name),
                    "{key}: undeclared volume {name}"
                );
            }
            for d in svc["depends_on"].as_sequence().into_iter().flatten() {
                assert!(services.contains_key(d.as_str().unwrap()), "{key}: {d:?}");
            }
            for n in svc["networks"].as_mapping().unwrap().keys() {
                assert!(networks.contains_key(n.as_str().unwrap()));
            }
            let hc = &svc["healthcheck"];
            assert!(
                hc["test"].as_sequence().is_some_and(|t| !t.is_empty()),
                "{key}"
            );
            assert!(hc["interval"].as_str().unwrap().ends_with('s'));
        }
    }

    #[test]
    fn every_image_set_renders_a_consistent_compose_file() {
        for set in ImageSet::ALL {
            for mode in [MetadataMode::Kraft, MetadataMode::Zookeeper] {
                if set.runs(mode) {
                    let (t, doc) = parse_in(set, mode);
                    check_structure(&t, &doc);
                }
            }
        }
    }

    #[test]
    fn rendered_file_carries_the_seed_topology() {
        let (_, doc) = parse_in(ImageSet::Confluent, MetadataMode::Zookeeper);
        assert_eq!(
            doc["services"]["zookeeper-1"]["ports"][0].as_str(),
            Some("127.0.0.1:2181:2181")
        );
        let k1 = &doc["services"]["kafka-1"];
        assert_eq!(k1["container_name"].as_str(), Some("tda_kafka_1"));
        assert_eq!(k1["image"].as_str(), Some("confluentinc/cp-kafka:7.5.0"));
        assert!(k1["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p.as_str() == Some("127.0.0.1:19092:19092")));
        assert_eq!(
            doc["services"]["kafka-ui"]["ports"][0].as_str(),
            Some("127.0.0.1:8080:8080")
        );
        assert_eq!(
            doc["networks"]["tda-kafka-network"]["name"].as_str(),
            Some("tda-kafka-network")
        );
    }

    #[test]
    fn yaml11_booleans_are_quoted() {
        assert_eq!(quote_yaml11_bool("    - yes"), "    - 'yes'");
        assert_eq!(quote_yaml11_bool("  key: off"), "  key: 'off'");
        assert_eq!(quote_yaml11_bool("    - yesterday"), "    - yesterday");
        let (_, doc) = parse(ImageSet::Local);
        let cmd = doc["services"]["redis"]["command"].as_sequence().unwrap();
        assert!(cmd.iter().any(|c| c.as_str() == Some("yes")));
    }

    #[test]
    fn dollars_are_escaped_for_compose_interpolation() {
        let (_, doc) = parse(ImageSet::Apache);
        let cmd = doc["services"]["kafka-connect"]["command"][2]
            .as_str()
            .unwrap();
        assert!(cmd.contains("$$k") && !cmd.contains(" $k"));
    }

    #[test]
    fn secrets_are_bind_mounted_files_never_values() {
        let mut config = ClusterConfig::default();
        config.security.protocol = tda_kafka_config::SecurityProtocol::Ssl;
        config.security.ssl_keystore_location = Some("/certs/k.jks".into());
        config.security.ssl_keystore_password =
            Some(tda_kafka_config::SecretString::new("Sentinel-Pa55-compose"));
        for set in ImageSet::ALL {
            let t = topology::build(
                &config,
                &StackOptions {
                    image_set: set,
                    ..StackOptions::default()
                },
            );
            let text = render(&t);
            assert!(!text.contains("Sentinel-Pa55"), "{set}:\n{text}");
            let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
            check_structure(&t, &doc);
            let mount = format!(
                "{}:{}/{}:ro",
                t.service("kafka-1").unwrap().secret_files[0]
                    .host_path("tda")
                    .display(),
                topology::SECRETS_MOUNT_DIR,
                topology::SECRET_PROPERTIES_FILE
            );
            let volumes = doc["services"]["kafka-1"]["volumes"].as_sequence().unwrap();
            assert!(
                volumes.iter().any(|v| v.as_str() == Some(mount.as_str())),
                "{set}: {volumes:?}"
            );
        }
    }
}
