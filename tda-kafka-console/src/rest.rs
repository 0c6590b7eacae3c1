//! JSON over HTTP to the schema registry (Confluent API) and Kafka Connect.

use reqwest::Method;
use serde_json::Value;

use crate::server::AppState;
use crate::{ConsoleError, Result};

/// One of the REST services the console calls.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Service {
    /// The schema registry.
    Registry,
    /// Kafka Connect.
    Connect,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Self::Registry => "schema registry",
            Self::Connect => "Kafka Connect",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::Registry => "--registry URL",
            Self::Connect => "--connect URL",
        }
    }

    fn base(self, state: &AppState) -> Result<&str> {
        let url = match self {
            Self::Registry => state.opts.registry_url.as_deref(),
            Self::Connect => state.opts.connect_url.as_deref(),
        };
        url.ok_or(ConsoleError::NotConfigured {
            service: self.name(),
            flag: self.flag(),
        })
    }
}

/// Sends a request to `path` under the service's base URL; a 2xx answer's
/// JSON (or `null` for an empty body) comes back, anything else is an error
/// with the service's message.
pub(crate) async fn call(
    state: &AppState,
    service: Service,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let url = format!("{}{path}", service.base(state)?);
    let mut req = state.http.request(method, &url);
    if let Some(b) = body {
        let content_type = match service {
            Service::Registry => "application/vnd.schemaregistry.v1+json",
            Service::Connect => "application/json",
        };
        req = req.header("content-type", content_type).body(b.to_string());
    }
    let err = |detail: String, status: Option<u16>| ConsoleError::Service {
        service: service.name(),
        url: url.clone(),
        detail,
        status,
    };
    let resp = req
        .send()
        .await
        .map_err(|e| err(format!("not reachable: {e}"), None))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| err(format!("reading the answer: {e}"), Some(status.as_u16())))?;
    if !status.is_success() {
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        return Err(err(format!("HTTP {status}: {msg}"), Some(status.as_u16())));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text)
        .map_err(|e| err(format!("answer is not JSON: {e}"), Some(status.as_u16())))
}

/// GET shorthand.
pub(crate) async fn get(state: &AppState, service: Service, path: &str) -> Result<Value> {
    call(state, service, Method::GET, path, None).await
}
