//! The HTTP core shared by [`crate::RegistryClient`] and
//! [`crate::ConnectClient`]: one base URL (credentials taken out of it),
//! optional basic auth, every call bounded by the timeout, and errors that
//! carry the service's own message.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tda_kafka_config::SecretString;

use crate::{AdminError, Result};

/// Which REST service a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestService {
    /// A Confluent-compatible schema registry.
    Registry,
    /// A Kafka Connect worker.
    Connect,
}

impl fmt::Display for RestService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Registry => "schema registry",
            Self::Connect => "Kafka Connect",
        })
    }
}

/// HTTP basic auth credentials; the password is never shown.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password.
    pub password: SecretString,
}

/// One service's base URL and HTTP client.
#[derive(Clone)]
pub(crate) struct Rest {
    pub(crate) service: RestService,
    /// The base URL without credentials and without a trailing `/`.
    pub(crate) base: String,
    auth: Option<BasicAuth>,
    http: reqwest::Client,
    timeout: Duration,
}

impl fmt::Debug for Rest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rest")
            .field("service", &self.service)
            .field("base", &self.base)
            .field("user", &self.auth.as_ref().map(|a| &a.user))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Splits `user:password@` out of `url`: the URL without it, and the
/// credentials (percent-decoded).
fn split_credentials(url: &str) -> (String, Option<BasicAuth>) {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return (url.to_owned(), None);
    };
    if parsed.username().is_empty() && parsed.password().is_none() {
        return (url.to_owned(), None);
    }
    let auth = BasicAuth {
        user: percent_decode(parsed.username()),
        password: SecretString::new(percent_decode(parsed.password().unwrap_or_default())),
    };
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    (parsed.to_string(), Some(auth))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Rest {
    /// A client for `url` (`user:password@` in it become basic auth, as do
    /// `auth`, which wins); every call is bounded by `timeout`.
    pub(crate) fn new(
        service: RestService,
        url: &str,
        auth: Option<BasicAuth>,
        timeout: Duration,
    ) -> Result<Self> {
        let (base, from_url) = split_credentials(url.trim());
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AdminError::input(
                format!("{service} URL {base:?}"),
                "must start with http:// (https needs a TLS-enabled build)",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| AdminError::input(format!("{service} HTTP client"), e.to_string()))?;
        Ok(Self {
            service,
            base,
            auth: auth.or(from_url),
            http,
            timeout,
        })
    }

    fn err(
        &self,
        url: &str,
        status: Option<u16>,
        code: Option<i64>,
        message: String,
    ) -> AdminError {
        AdminError::Service {
            service: self.service,
            url: url.to_owned(),
            status,
            code,
            message,
        }
    }

    /// Sends `body` (JSON) to `path` under the base URL; a 2xx answer's
    /// JSON (`null` for an empty body) comes back, anything else is
    /// [`AdminError::Service`] with the service's message.
    ///
    /// A Connect worker refuses every request while its group rebalances
    /// (409, or 500 "a rebalance is expected", e.g. right after a connector
    /// was created or deleted) without applying it; such refusals are
    /// retried with backoff within the timeout.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = Duration::from_millis(100);
        loop {
            match self.call_once(method.clone(), path, body).await {
                Err(e)
                    if self.is_rebalancing(&e) && tokio::time::Instant::now() + wait < deadline =>
                {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    fn is_rebalancing(&self, e: &AdminError) -> bool {
        self.service == RestService::Connect
            && matches!(e, AdminError::Service { status: Some(409 | 500), message, .. }
                if message.to_ascii_lowercase().contains("rebalanc"))
    }

    async fn call_once(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(a) = &self.auth {
            req = req.basic_auth(&a.user, Some(a.password.expose()));
        }
        let content_type = match self.service {
            RestService::Registry => "application/vnd.schemaregistry.v1+json",
            RestService::Connect => "application/json",
        };
        req = req.header("accept", "application/json");
        if let Some(b) = body {
            req = req.header("content-type", content_type).body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                format!("no answer within {} ms", self.timeout.as_millis())
            } else {
                format!("not reachable: {}", error_chain(&e))
            };
            self.err(&url, None, None, why)
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            self.err(
                &url,
                Some(status.as_u16()),
                None,
                format!("reading the answer: {}", error_chain(&e)),
            )
        })?;
        if !status.is_success() {
            let parsed = serde_json::from_str::<Value>(&text).ok();
            let message = parsed
                .as_ref()
                .and_then(|v| v.get("message").and_then(Value::as_str))
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let t = text.trim();
                    if t.is_empty() {
                        status.canonical_reason().unwrap_or("no message").to_owned()
                    } else {
                        t.chars().take(500).collect()
                    }
                });
            let code = parsed
                .as_ref()
                .and_then(|v| v.get("error_code").and_then(Value::as_i64));
            return Err(self.err(&url, Some(status.as_u16()), code, message));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            self.err(
                &url,
                Some(status.as_u16()),
                None,
                format!("the answer is not JSON: {e}"),
            )
        })
    }

    /// GET `path` as JSON.
    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None).await
    }

    /// Sends and decodes the answer as `T`.
    pub(crate) async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let v = self.call(method, path, body).await?;
        serde_json::from_value(v).map_err(|e| {
            self.err(
                &format!("{}{path}", self.base),
                Some(200),
                None,
                format!("unexpected answer: {e}"),
            )
        })
    }
}

/// A reqwest error with its causes (its own Display omits them).
fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Percent-encodes a path segment (subject and connector names).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_are_never_shown() {
        let r = Rest::new(
            RestService::Registry,
            "http://ops:s%40cret@127.0.0.1:8081/apis/ccompat/v7/",
            None,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(r.base, "http://127.0.0.1:8081/apis/ccompat/v7");
        let a = r.auth.as_ref().unwrap();
        assert_eq!((a.user.as_str(), a.password.expose()), ("ops", "s@cret"));
        let shown = format!("{r:?}");
        assert!(!shown.contains("cret"), "{shown}");
        let e = r.err(&r.base, None, None, "x".into()).to_string();
        assert!(!e.contains("cret"), "{e}");
        assert!(Rest::new(
            RestService::Connect,
            "127.0.0.1:8083",
            None,
            Duration::from_secs(1)
        )
        .is_err());
    }

    #[test]
    fn names_are_encoded_as_one_segment() {
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
        assert_eq!(seg("tda_jobs-value"), "tda_jobs-value");
    }
}
