//! Authentication, read-only mode and CSRF protection, as one middleware
//! in front of every route.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::server::AppState;
use crate::{Auth, ConsoleError};

/// Name of the hidden form field (and header `x-csrf-token`) that carries the token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// Largest form body accepted.
const MAX_FORM: usize = 1 << 20;

/// A fresh random token (hex of 32 bytes from the OS).
pub(crate) fn random_token() -> String {
    let mut buf = [0u8; 32];
    // The OS random source failing is not recoverable for a security token.
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(auth: &Auth, header_value: Option<&str>) -> bool {
    let Some(v) = header_value else {
        return false;
    };
    if let Some(token) = v.strip_prefix("Bearer ") {
        return matches!(auth, Auth::Token(t) if same(t.expose().as_bytes(), token.trim().as_bytes()));
    }
    let Some(b64) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&raw);
    let Some((u, p)) = text.split_once(':') else {
        return false;
    };
    match auth {
        Auth::Token(t) => same(t.expose().as_bytes(), p.as_bytes()),
        Auth::Basic { user, password } => {
            // Both compared, so a wrong user takes as long as a wrong password.
            let user_ok = same(user.as_bytes(), u.as_bytes());
            let pass_ok = same(password.expose().as_bytes(), p.as_bytes());
            user_ok & pass_ok
        }
    }
}

/// The CSRF token in an urlencoded form body, if any.
fn form_token(body: &[u8]) -> Option<String> {
    url_pairs(body)
        .into_iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v)
}

fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The middleware: 401 without valid credentials (when auth is required),
/// 403 for a change in read-only mode, 403 for a change without the CSRF
/// token or from another origin.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(auth) = &state.opts.auth {
        let h = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !authorized(auth, h) {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"tda-kafka console\"",
                )],
                "authentication required",
            )
                .into_response();
        }
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    if state.opts.read_only {
        return ConsoleError::ReadOnly.into_response();
    }
    if !same_origin(&req) {
        return ConsoleError::Csrf.into_response();
    }
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return ConsoleError::input("request body too large").into_response();
    };
    let token = header_token.or_else(|| form_token(&bytes));
    match token {
        Some(t) if same(t.as_bytes(), state.csrf.as_bytes()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => ConsoleError::Csrf.into_response(),
    }
}

/// A POST that names an origin must come from this host.
fn same_origin(req: &Request) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tda_kafka_config::SecretString;

    fn basic(u: &str, p: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    }

    #[test]
    fn credentials_are_checked() {
        let token = Auth::Token(SecretString::new("s3cret"));
        assert!(authorized(&token, Some("Bearer s3cret")));
        assert!(authorized(&token, Some(&basic("anyone", "s3cret"))));
        assert!(!authorized(&token, Some("Bearer s3cre")));
        assert!(!authorized(&token, None));
        let b = Auth::Basic {
            user: "ops".into(),
            password: SecretString::new("pw"),
        };
        assert!(authorized(&b, Some(&basic("ops", "pw"))));
        assert!(!authorized(&b, Some(&basic("ops", "nope"))));
        assert!(!authorized(&b, Some(&basic("other", "pw"))));
        assert!(!authorized(&b, Some("Bearer pw")));
    }

    #[test]
    fn form_tokens_are_found_and_decoded() {
        assert_eq!(form_token(b"a=1&csrf=ab%2Fc+d"), Some("ab/c d".into()));
        assert_eq!(form_token(b"a=1"), None);
        assert_eq!(random_token().len(), 64);
        assert_ne!(random_token(), random_token());
    }
}
