//! The schema registry at the seed's URL: Apicurio Registry serves the
//! Confluent API only under `/apis/ccompat/v7` (it has no setting for the
//! root path), while the seed's clients use `http://localhost:8081/subjects`.
//! This small reverse proxy (hyper) listens on the public registry port and
//! forwards `/X` to `/apis/ccompat/v7/X`; `/apis/...` (the ccompat API
//! itself, Apicurio's own API) passes through unchanged.
//!
//! [`supervise`] runs the registry as the proxy's child: the pair is one
//! process of the stack for the local provider (`tda-kafka registry-proxy`),
//! which ends when the registry ends and hands SIGTERM on to it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_util::sync::CancellationToken;

use crate::{ClusterError, Result};

/// Where Apicurio serves the Confluent API.
pub const CCOMPAT_PREFIX: &str = crate::local::REGISTRY_API;

type Body = BoxBody<Bytes, hyper::Error>;

/// The registry path for a request's path and query: `/apis/...` as it
/// is, anything else under [`CCOMPAT_PREFIX`].
pub fn upstream_path(path_and_query: &str) -> String {
    let path = path_and_query.split('?').next().unwrap_or_default();
    if path == "/apis" || path.starts_with("/apis/") {
        path_and_query.to_string()
    } else if path_and_query.starts_with('/') {
        format!("{CCOMPAT_PREFIX}{path_and_query}")
    } else {
        format!("{CCOMPAT_PREFIX}/{path_and_query}")
    }
}

/// A Confluent-style error answer (what clients parse: `error_code`, `message`).
fn error(status: StatusCode, message: String) -> Response<Body> {
    let body = serde_json::json!({
        "error_code": u32::from(status.as_u16()) * 100,
        "message": message,
    });
    let mut r = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn forward(
    client: Client<HttpConnector, Incoming>,
    upstream: SocketAddr,
    mut req: Request<Incoming>,
) -> std::result::Result<Response<Body>, Infallible> {
    let pq = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let target = format!("http://{upstream}{}", upstream_path(&pq));
    let uri: Uri = match target.parse() {
        Ok(uri) => uri,
        Err(e) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                format!("bad request path {pq:?}: {e}"),
            ))
        }
    };
    *req.uri_mut() = uri;
    match client.request(req).await {
        Ok(resp) => Ok(resp.map(|b| b.boxed())),
        Err(e) => Ok(error(
            StatusCode::BAD_GATEWAY,
            format!("the schema registry behind this proxy ({upstream}) did not answer: {e}"),
        )),
    }
}

/// Serves the proxy on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    shutdown: CancellationToken,
) -> Result<()> {
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build_http();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A failed accept (e.g. out of descriptors) is not fatal.
                Err(_) => continue,
            },
            () = shutdown.cancelled() => return Ok(()),
        };
        let client = client.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| forward(client.clone(), upstream, req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

/// Binds `listen`, starts `program args` (the registry, listening on
/// `upstream`) as a child, proxies until the child exits and returns its
/// exit code; SIGTERM and SIGINT are handed on to the child, which is then
/// waited for (so it shuts down cleanly).
pub async fn supervise(
    listen: SocketAddr,
    upstream: SocketAddr,
    program: &Path,
    args: &[String],
) -> Result<i32> {
    use tokio::signal::unix::{signal, SignalKind};
    let listener =
        tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|_| ClusterError::PortInUse {
                host: listen.ip().to_string(),
                port: listen.port(),
                purpose: "schema registry (root-path proxy)".into(),
            })?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ClusterError::Spawn {
            program: program.display().to_string(),
            source,
        })?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, upstream, shutdown.clone()));
    let io = |e: std::io::Error| ClusterError::Spawn {
        program: program.display().to_string(),
        source: e,
    };
    let mut term = signal(SignalKind::terminate()).map_err(io)?;
    let mut int = signal(SignalKind::interrupt()).map_err(io)?;
    let status = loop {
        let stop = tokio::select! {
            status = child.wait() => break status.map_err(io)?,
            _ = term.recv() => true,
            _ = int.recv() => true,
        };
        if stop {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    };
    shutdown.cancel();
    let _ = server.await;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_map_to_the_confluent_api_and_apis_pass_through() {
        assert_eq!(upstream_path("/subjects"), "/apis/ccompat/v7/subjects");
        assert_eq!(
            upstream_path("/subjects/a-value/versions?normalize=false"),
            "/apis/ccompat/v7/subjects/a-value/versions?normalize=false"
        );
        assert_eq!(
            upstream_path("/schemas/ids/1"),
            "/apis/ccompat/v7/schemas/ids/1"
        );
        assert_eq!(upstream_path("/"), "/apis/ccompat/v7/");
        assert_eq!(
            upstream_path("/apis/ccompat/v7/subjects"),
            "/apis/ccompat/v7/subjects"
        );
        assert_eq!(
            upstream_path("/apis/registry/v3/groups"),
            "/apis/registry/v3/groups"
        );
        assert_eq!(upstream_path("/apisx"), "/apis/ccompat/v7/apisx");
    }
}
