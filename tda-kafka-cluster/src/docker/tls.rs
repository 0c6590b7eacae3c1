//! The TLS material of a generated secured Docker stack (`TDA_KAFKA_TLS_DIR`):
//! the CA of [`crate::tls`] and one certificate per broker naming what its
//! clients connect to (the host address for the published listener, the
//! broker's network alias `kafka-N` for inter-broker, controller and Connect
//! traffic).
//!
//! A node's certificate is kept (0600, under the stack's secrets directory)
//! and reused while it names the same hosts and comes from the same CA, so
//! `start` on a running stack finds every spec unchanged and recreates
//! nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tda_kafka_config::{ClusterConfig, NodeTls, SecretString};

use crate::tls::CertificateAuthority;
use crate::Result;

/// What the topology needs to secure the stack.
#[derive(Debug, Clone)]
pub struct StackTls {
    /// Each broker's certificate, key and trusted CA, by node id.
    pub nodes: BTreeMap<u16, NodeTls>,
    /// The CA certificate (PEM) the stack's clients trust.
    pub ca_pem: String,
}

/// A kept node certificate (the file holds the private key: 0600).
#[derive(Serialize, Deserialize)]
struct Kept {
    names: Vec<String>,
    certificate_chain: String,
    private_key: String,
}

/// The host names broker `node_id`'s certificate must carry: the address
/// the host's clients use (`TDA_KAFKA_HOST`) and its alias on the stack
/// network.
pub fn node_names(config: &ClusterConfig, node_id: u16) -> Vec<String> {
    vec![config.network.host.clone(), format!("kafka-{node_id}")]
}

fn kept_path(secrets: &Path, node_id: u16) -> PathBuf {
    secrets.join("tls").join(format!("node-{node_id}.json"))
}

fn read_kept(path: &Path, ca: &CertificateAuthority, names: &[String]) -> Option<NodeTls> {
    let kept: Kept = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (kept.names == names && kept.certificate_chain.ends_with(ca.cert_pem())).then(|| NodeTls {
        certificate_chain: kept.certificate_chain,
        private_key: SecretString::new(kept.private_key),
        ca_certificates: ca.cert_pem().to_string(),
    })
}

/// The material for `config`, or `None` when the configuration is not a
/// generated secured one. The CA is created in `TDA_KAFKA_TLS_DIR` on first
/// use; node certificates are kept under `secrets` (the stack's
/// [`super::topology::secrets_dir`]).
pub fn prepare(config: &ClusterConfig, secrets: &Path) -> Result<Option<StackTls>> {
    let Some(dir) = &config.security.tls_dir else {
        return Ok(None);
    };
    let ca = CertificateAuthority::ensure(Path::new(dir))?;
    let mut nodes = BTreeMap::new();
    for id in config.node_ids() {
        let names = node_names(config, id);
        let path = kept_path(secrets, id);
        let node = match read_kept(&path, &ca, &names) {
            Some(node) => node,
            None => {
                let node = ca.issue(&ClusterConfig::node_common_name(id), &names)?;
                let kept = Kept {
                    names,
                    certificate_chain: node.certificate_chain.clone(),
                    private_key: node.private_key.expose().to_string(),
                };
                let json = serde_json::to_vec(&kept).expect("a kept certificate serializes");
                super::container::write_private(&path, &json)?;
                node
            }
        };
        nodes.insert(id, node);
    }
    Ok(Some(StackTls {
        nodes,
        ca_pem: ca.cert_pem().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn node_certificates_are_kept_private_and_reused_until_the_names_change() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("secrets");
        let mut c = ClusterConfig::default();
        c.security.tls_dir = Some(dir.path().join("ca").display().to_string());
        let a = prepare(&c, &stack).unwrap().unwrap();
        assert_eq!(a.nodes.len(), 3);
        let file = kept_path(&stack, 1);
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!format!("{a:?}").contains("PRIVATE KEY"));
        let b = prepare(&c, &stack).unwrap().unwrap();
        assert_eq!(
            a.nodes[&2].certificate_chain, b.nodes[&2].certificate_chain,
            "reused"
        );
        c.network.host = "10.1.2.3".into();
        let moved = prepare(&c, &stack).unwrap().unwrap();
        assert_ne!(
            a.nodes[&2].certificate_chain,
            moved.nodes[&2].certificate_chain
        );
        assert!(prepare(&ClusterConfig::default(), &stack)
            .unwrap()
            .is_none());
    }
}
