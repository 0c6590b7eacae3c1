//! TLS and SASL for the raw protocol client: the same `security.protocol`,
//! `ssl.ca.location`, `ssl.endpoint.identification.algorithm`,
//! `sasl.mechanism`, `sasl.username` and `sasl.password` librdkafka gets.
//! TLS is rustls (ring); SASL is PLAIN or SCRAM-SHA-256/512 (RFC 5802, on
//! the RustCrypto `hmac`/`pbkdf2`/`sha2` primitives) through Kafka's
//! SaslHandshake v1 + SaslAuthenticate.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256, Sha512};
use tda_kafka_config::{ClientProperties, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::{self, CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::{AdminError, Result};

/// A byte stream to a broker: TCP, or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A SASL mechanism the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL login: mechanism, user, password (never shown).
#[derive(Debug, Clone)]
pub(crate) struct Sasl {
    pub(crate) mechanism: Mechanism,
    pub(crate) username: String,
    pub(crate) password: SecretString,
}

/// How the raw client reaches brokers: its bound and its security.
#[derive(Clone)]
pub(crate) struct WireOptions {
    pub(crate) timeout: Duration,
    tls: Option<TlsConnector>,
    pub(crate) sasl: Option<Sasl>,
}

impl std::fmt::Debug for WireOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireOptions")
            .field("timeout", &self.timeout)
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

fn setup_err(reason: impl std::fmt::Display) -> AdminError {
    AdminError::Protocol {
        broker: "(client security settings)".into(),
        reason: reason.to_string(),
    }
}

impl WireOptions {
    /// Whether TLS or SASL is used.
    pub(crate) fn secured(&self) -> bool {
        self.tls.is_some() || self.sasl.is_some()
    }

    /// The options of a client built from `props`.
    pub(crate) fn from_props(props: &ClientProperties, timeout: Duration) -> Result<Self> {
        let protocol = props
            .get("security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            other => return Err(setup_err(format!("unknown security.protocol {other:?}"))),
        };
        let tls = if tls {
            let verify_host = !props
                .get("ssl.endpoint.identification.algorithm")
                .is_some_and(|v| v.eq_ignore_ascii_case("none") || v.is_empty());
            Some(tls_connector(props.get("ssl.ca.location"), verify_host)?)
        } else {
            None
        };
        let sasl = if sasl {
            let mechanism = match props
                .get("sasl.mechanism")
                .unwrap_or("PLAIN")
                .to_ascii_uppercase()
                .as_str()
            {
                "PLAIN" => Mechanism::Plain,
                "SCRAM-SHA-256" => Mechanism::ScramSha256,
                "SCRAM-SHA-512" => Mechanism::ScramSha512,
                other => return Err(setup_err(format!("unsupported sasl.mechanism {other}"))),
            };
            Some(Sasl {
                mechanism,
                username: props.get("sasl.username").unwrap_or_default().to_owned(),
                password: SecretString::new(props.get("sasl.password").unwrap_or_default()),
            })
        } else {
            None
        };
        Ok(Self { timeout, tls, sasl })
    }

    /// `tcp`, wrapped in TLS for `host` when the options ask for it.
    pub(crate) async fn wrap(&self, tcp: TcpStream, host: &str) -> std::io::Result<Box<dyn Io>> {
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(connector) => {
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                Ok(Box::new(connector.connect(name, tcp).await?))
            }
        }
    }
}

fn tls_connector(ca: Option<&str>, verify_host: bool) -> Result<TlsConnector> {
    let Some(ca) = ca else {
        return Err(setup_err(
            "TLS needs ssl.ca.location (KAFKA_SSL_CA_LOCATION or TDA_KAFKA_TLS_DIR) for the raw protocol client",
        ));
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .map_err(|e| setup_err(format!("cannot read the CA file {ca}: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| setup_err(format!("the CA file {ca}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| setup_err(format!("the CA file {ca}: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(setup_err)?;
    let config = if verify_host {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(setup_err)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(inner)))
            .with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Verifies the chain but not the host name
/// (`ssl.endpoint.identification.algorithm=none`, refused in production).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A SCRAM client exchange (RFC 5802, no channel binding).
pub(crate) struct Scram {
    mechanism: Mechanism,
    password: SecretString,
    client_first_bare: String,
    nonce: String,
    auth_message: String,
    salted: Vec<u8>,
}

fn hmac(m: Mechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    match m {
        Mechanism::ScramSha512 => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

fn hash(m: Mechanism, data: &[u8]) -> Vec<u8> {
    match m {
        Mechanism::ScramSha512 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    }
}

impl Scram {
    /// Starts an exchange for `user`; `nonce` is random in use, fixed in tests.
    pub(crate) fn new(
        mechanism: Mechanism,
        user: &str,
        password: &SecretString,
        nonce: String,
    ) -> Self {
        let name = user.replace('=', "=3D").replace(',', "=2C");
        Self {
            mechanism,
            password: password.clone(),
            client_first_bare: format!("n={name},r={nonce}"),
            nonce,
            auth_message: String::new(),
            salted: Vec::new(),
        }
    }

    /// A random nonce.
    pub(crate) fn random_nonce() -> String {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        B64.encode(bytes)
    }

    /// The client-first message.
    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// The client-final message answering `server_first`.
    pub(crate) fn client_final(
        &mut self,
        server_first: &str,
    ) -> std::result::Result<String, String> {
        let field = |k: &str| {
            server_first
                .split(',')
                .find_map(|p| p.strip_prefix(k))
                .ok_or_else(|| format!("the server's first message lacks {k}"))
        };
        if let Some(e) = server_first.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) {
            return Err("the server's nonce does not extend ours".into());
        }
        let salt = B64
            .decode(field("s=")?)
            .map_err(|_| "the server's salt is not base64".to_owned())?;
        let iterations: u32 = field("i=")?
            .parse()
            .map_err(|_| "the server's iteration count is not a number".to_owned())?;
        let m = self.mechanism;
        let mut salted = vec![0u8; if m == Mechanism::ScramSha512 { 64 } else { 32 }];
        let pw = self.password.expose().as_bytes();
        match m {
            Mechanism::ScramSha512 => {
                pbkdf2::pbkdf2_hmac::<Sha512>(pw, &salt, iterations, &mut salted)
            }
            _ => pbkdf2::pbkdf2_hmac::<Sha256>(pw, &salt, iterations, &mut salted),
        }
        let without_proof = format!("c=biws,r={nonce}");
        self.auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let signature = hmac(m, &stored_key, self.auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        self.salted = salted;
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message (the server proves it knows the key).
    pub(crate) fn verify_server_final(
        &self,
        server_final: &str,
    ) -> std::result::Result<(), String> {
        if let Some(e) = server_final.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let v = server_final
            .strip_prefix("v=")
            .ok_or("the server's final message lacks v=")?;
        let m = self.mechanism;
        let server_key = hmac(m, &self.salted, b"Server Key");
        let expected = hmac(m, &server_key, self.auth_message.as_bytes());
        if B64.decode(v).ok().as_deref() == Some(expected.as_slice()) {
            Ok(())
        } else {
            Err("the server's signature is wrong (not the broker we know)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example exchange.
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut s = Scram::new(
            Mechanism::ScramSha256,
            "user",
            &SecretString::new("pencil"),
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            s.client_final(server_first).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(s.verify_server_final("v=AAAA").is_err());
        assert!(!format!("{:?}", s.password).contains("pencil"));
    }
}
