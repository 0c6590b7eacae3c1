//! The TLS material of a generated secured cluster (`TDA_KAFKA_TLS_DIR`): a
//! CA kept in that directory (`ca.pem`, `ca.key` readable by its owner only)
//! and a certificate per node, issued from it at every start for the
//! configured host, with the node's principal as common name.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use tda_kafka_config::{
    ClusterConfig, NodeTls, SecretString, GENERATED_CA_FILE, GENERATED_CA_KEY_FILE,
};

use crate::{ClusterError, Result};

/// The common name of the generated CA.
const CA_NAME: &str = "tda-kafka local CA";

/// A CA that issues node certificates.
pub struct CertificateAuthority {
    dir: PathBuf,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn tls_err(dir: &Path, reason: impl std::fmt::Display) -> ClusterError {
    ClusterError::Tls {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Writes `text` to `path`, readable by its owner only when `private`.
fn write_file(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)?;
    f.write_all(text.as_bytes())
}

impl CertificateAuthority {
    /// The CA in `dir`, generated (directory 0700, key 0600) when `dir` has
    /// none. A key file readable by others is refused.
    pub fn ensure(dir: &Path) -> Result<Self> {
        let cert_path = dir.join(GENERATED_CA_FILE);
        let key_path = dir.join(GENERATED_CA_KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let mode = std::fs::metadata(&key_path)
                .map_err(ClusterError::io("cannot read", &key_path))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(tls_err(
                    dir,
                    format!(
                        "{} is readable by others (mode {:o}); run `chmod 600` on it",
                        key_path.display(),
                        mode & 0o777
                    ),
                ));
            }
            let key_pem = std::fs::read_to_string(&key_path)
                .map_err(ClusterError::io("cannot read", &key_path))?;
            let key = KeyPair::from_pem(&key_pem)
                .map_err(|e| tls_err(dir, format!("{} is not a key: {e}", key_path.display())))?;
            let cert_pem = std::fs::read_to_string(&cert_path)
                .map_err(ClusterError::io("cannot read", &cert_path))?;
            return Ok(Self {
                dir: dir.to_path_buf(),
                cert_pem,
                issuer: Issuer::new(ca_params(), key),
            });
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(ClusterError::io("cannot create", dir))?;
        let key = KeyPair::generate().map_err(|e| tls_err(dir, e))?;
        let cert = ca_params().self_signed(&key).map_err(|e| tls_err(dir, e))?;
        write_file(&key_path, &key.serialize_pem(), true)
            .map_err(ClusterError::io("cannot write", &key_path))?;
        let cert_pem = cert.pem();
        write_file(&cert_path, &cert_pem, false)
            .map_err(ClusterError::io("cannot write", &cert_path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cert_pem,
            issuer: Issuer::new(ca_params(), key),
        })
    }

    /// The CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A certificate for `common_name` valid for the host names or IP
    /// addresses `names`, for servers and clients (mutual TLS).
    pub fn issue(&self, common_name: &str, names: &[String]) -> Result<NodeTls> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(|e| tls_err(&self.dir, e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(|e| tls_err(&self.dir, e))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| tls_err(&self.dir, e))?;
        Ok(NodeTls {
            certificate_chain: format!("{}{}", cert.pem(), self.cert_pem),
            private_key: SecretString::new(key.serialize_pem()),
            ca_certificates: self.cert_pem.clone(),
        })
    }

    /// Node `node_id`'s certificate: the configured host as its only name.
    pub fn node(&self, config: &ClusterConfig, node_id: u16) -> Result<NodeTls> {
        self.issue(
            &ClusterConfig::node_common_name(node_id),
            std::slice::from_ref(&config.network.host),
        )
    }
}

/// The `--add-scram` arguments of the storage format: every SCRAM user of
/// the configuration for every enabled SCRAM mechanism (secret: they hold
/// the passwords).
pub(crate) fn add_scram_args(config: &ClusterConfig) -> Vec<SecretString> {
    let sec = &config.security;
    if !sec.generated() || !sec.protocol.uses_sasl() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for user in sec.scram_users() {
        for m in sec.scram_mechanisms() {
            out.push(SecretString::new(format!(
                "{m}=[name={},password={}]",
                user.name,
                user.password.expose()
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        let ca = CertificateAuthority::ensure(&tls).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&tls), 0o700);
        assert_eq!(mode(&tls.join(GENERATED_CA_KEY_FILE)), 0o600);
        let again = CertificateAuthority::ensure(&tls).unwrap();
        assert_eq!(ca.cert_pem(), again.cert_pem());
        let node = again.node(&ClusterConfig::default(), 2).unwrap();
        assert!(node.certificate_chain.ends_with(ca.cert_pem()));
        assert!(node
            .private_key
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{node:?}").contains("PRIVATE KEY"));
        std::fs::set_permissions(
            tls.join(GENERATED_CA_KEY_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let err = CertificateAuthority::ensure(&tls).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
