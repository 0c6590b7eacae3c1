//! [`ConsoleOptions`]: what the console connects to and how it listens.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tda_kafka_config::{ClientProperties, SecretString};

use crate::{ConsoleError, Result};

/// The port of the stack's console (`TDA_KAFKA_UI_PORT`), the seed's Kafka UI port.
pub const DEFAULT_PORT: u16 = 8080;

/// How a client proves it may use the console.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer <token>`, or basic auth with any user name and
    /// the token as password (so a browser can log in).
    Token(SecretString),
    /// HTTP basic auth with this user and password.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: SecretString,
    },
}

/// Everything the console needs; build with [`ConsoleOptions::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConsoleOptions {
    /// librdkafka client properties (bootstrap servers and security settings).
    pub client: ClientProperties,
    /// Confluent-compatible registry base URL (e.g. `http://127.0.0.1:8081/apis/ccompat/v7`).
    pub registry_url: Option<String>,
    /// Kafka Connect REST base URL (e.g. `http://127.0.0.1:8083`).
    pub connect_url: Option<String>,
    /// Listen address; 127.0.0.1:8080 by default.
    pub listen: SocketAddr,
    /// Where clients reach the console when that is not `listen`: a
    /// container listening on 0.0.0.0 whose port the engine publishes on
    /// this host address only. The authentication rule applies to it instead
    /// of `listen` (the container's network still reaches the console).
    pub published: Option<SocketAddr>,
    /// Refuse every change (POST answers 403).
    pub read_only: bool,
    /// Required on a non-loopback listen address.
    pub auth: Option<Auth>,
    /// Bound on every Kafka and HTTP call.
    pub timeout: Duration,
    /// How often group lag is sampled for the lag charts.
    pub lag_sample_interval: Duration,
    /// Lag samples kept per group.
    pub lag_samples: usize,
    /// Client addresses (`host:port`) of the ZooKeeper ensemble, in node
    /// order, when the cluster runs in ZooKeeper mode (shown on the overview).
    pub zookeeper: Vec<String>,
    /// The stack's Redis (shown on the overview), with its password if any.
    pub redis: Option<RedisTarget>,
}

/// A Redis server the overview pings.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sent with `AUTH` before `PING`; never shown.
    pub password: Option<SecretString>,
}

impl ConsoleOptions {
    /// Options for the cluster reached with `client`; listens on 127.0.0.1:8080.
    pub fn new(client: ClientProperties) -> Self {
        Self {
            client,
            registry_url: None,
            connect_url: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            published: None,
            read_only: false,
            auth: None,
            timeout: Duration::from_secs(10),
            lag_sample_interval: Duration::from_secs(15),
            lag_samples: 240,
            zookeeper: Vec::new(),
            redis: None,
        }
    }

    /// Sets the stack's Redis and its password.
    pub fn with_redis(
        mut self,
        host: impl Into<String>,
        port: u16,
        password: Option<SecretString>,
    ) -> Self {
        self.redis = Some(RedisTarget {
            host: host.into(),
            port,
            password,
        });
        self
    }

    /// Sets the ZooKeeper ensemble's client addresses (`host:port`, node 1 first).
    pub fn with_zookeeper(mut self, addresses: Vec<String>) -> Self {
        self.zookeeper = addresses;
        self
    }

    /// Sets the schema registry URL.
    pub fn with_registry(mut self, url: impl Into<String>) -> Self {
        self.registry_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Sets the Kafka Connect REST URL.
    pub fn with_connect(mut self, url: impl Into<String>) -> Self {
        self.connect_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Sets the listen address (port 0: the OS picks one, see [`crate::Console::local_addr`]).
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the address clients reach the console at (see [`ConsoleOptions::published`]).
    pub fn with_published(mut self, addr: SocketAddr) -> Self {
        self.published = Some(addr);
        self
    }

    /// Disables (`true`) or enables every change.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Requires authentication.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets the bound on every call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how often group lag is sampled.
    pub fn with_lag_sample_interval(mut self, every: Duration) -> Self {
        self.lag_sample_interval = every;
        self
    }

    /// Checks the options: a non-loopback address (the published one when
    /// set, else the listen address) needs [`Auth`], secrets must not be
    /// empty, URLs must be http(s).
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(ConsoleError::Options { reason });
        let exposed = self.published.unwrap_or(self.listen);
        if !exposed.ip().is_loopback() && self.auth.is_none() {
            let published = if self.published.is_some() {
                "published"
            } else {
                "listening"
            };
            return bad(format!(
                "{published} on {exposed} (not loopback) requires authentication: set a token or basic auth",
            ));
        }
        match &self.auth {
            Some(Auth::Token(t)) if t.expose().is_empty() => {
                return bad("the auth token is empty".into())
            }
            Some(Auth::Basic { user, password })
                if user.is_empty() || password.expose().is_empty() =>
            {
                return bad("basic auth needs a user and a password".into())
            }
            _ => {}
        }
        for (name, url) in [
            ("registry", &self.registry_url),
            ("connect", &self.connect_url),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return bad(format!(
                        "{name} URL {u:?} must start with http:// or https://"
                    ));
                }
            }
        }
        if self
            .client
            .get("bootstrap.servers")
            .unwrap_or_default()
            .is_empty()
        {
            return bad("bootstrap.servers is not set".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ConsoleOptions {
        let mut p = ClientProperties::default();
        p.set("bootstrap.servers", "127.0.0.1:9092");
        ConsoleOptions::new(p)
    }

    #[test]
    fn loopback_needs_no_auth_but_other_addresses_do() {
        assert!(opts().validate().is_ok());
        let open = opts().with_listen("0.0.0.0:8080".parse().unwrap());
        let err = open.clone().validate().unwrap_err().to_string();
        assert!(err.contains("requires authentication"), "{err}");
        assert!(open
            .with_auth(Auth::Token(SecretString::new("t0k")))
            .validate()
            .is_ok());
    }

    #[test]
    fn the_published_address_decides_when_set() {
        let any = "0.0.0.0:8080".parse().unwrap();
        let container = opts()
            .with_listen(any)
            .with_published("127.0.0.1:8080".parse().unwrap());
        assert!(container.validate().is_ok());
        let wide = opts()
            .with_listen(any)
            .with_published("192.0.2.7:8080".parse().unwrap());
        let err = wide.clone().validate().unwrap_err().to_string();
        assert!(err.contains("published on 192.0.2.7:8080"), "{err}");
        assert!(wide
            .with_auth(Auth::Token(SecretString::new("t0k")))
            .validate()
            .is_ok());
    }

    #[test]
    fn empty_secrets_and_bad_urls_are_refused() {
        let e = opts()
            .with_auth(Auth::Token(SecretString::new("")))
            .validate();
        assert!(e.is_err());
        let e = opts().with_registry("127.0.0.1:8081").validate();
        assert!(e.unwrap_err().to_string().contains("http://"));
    }
}
