//! The HTTP server: shared state, routes, start-up and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tda_kafka_admin::{Admin, ConnectClient};
use tda_kafka_client::RegistryClient;
use tokio::net::TcpListener;
use tokio::sync::{watch, OnceCell};

use crate::lag::LagHistory;
use crate::pages;
use crate::{ConsoleError, ConsoleOptions, Result};

/// State shared by every request.
pub(crate) struct AppState {
    pub(crate) opts: ConsoleOptions,
    admin: OnceCell<Arc<Admin>>,
    /// The schema registry's admin client (shared with the CLI), when configured.
    registry: Option<tda_kafka_admin::RegistryClient>,
    /// Kafka Connect's admin client (shared with the CLI), when configured.
    connect: Option<ConnectClient>,
    pub(crate) csrf: String,
    pub(crate) lag: LagHistory,
    /// Writer schemas by registry id, parsed once.
    pub(crate) schemas: RwLock<HashMap<u32, Arc<apache_avro::Schema>>>,
    /// Typed decoding of the TDA topics (client library), when a registry is set.
    pub(crate) tda_registry: Option<Arc<RegistryClient>>,
}

impl AppState {
    /// The admin client, connected on first use (a cluster that is down at
    /// start-up is retried on the next request).
    pub(crate) async fn admin(&self) -> Result<Arc<Admin>> {
        self.admin
            .get_or_try_init(|| async {
                Admin::connect(&self.opts.client, self.opts.timeout)
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
            .map_err(ConsoleError::from)
    }

    /// The registry client, or [`ConsoleError::NotConfigured`].
    pub(crate) fn registry(&self) -> Result<&tda_kafka_admin::RegistryClient> {
        self.registry.as_ref().ok_or(ConsoleError::NotConfigured {
            service: "schema registry",
            flag: "--registry URL",
        })
    }

    /// The Connect client, or [`ConsoleError::NotConfigured`].
    pub(crate) fn connect(&self) -> Result<&ConnectClient> {
        self.connect.as_ref().ok_or(ConsoleError::NotConfigured {
            service: "Kafka Connect",
            flag: "--connect URL",
        })
    }
}

/// A bound console, not yet serving: [`Console::local_addr`] tells the port
/// when the options asked for port 0.
pub struct Console {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("listen", &self.listener.local_addr().ok())
            .field("read_only", &self.state.opts.read_only)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// Validates the options and binds the listen address.
    pub async fn bind(options: ConsoleOptions) -> Result<Self> {
        options.validate()?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| ConsoleError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let options_err = |e: tda_kafka_admin::AdminError| ConsoleError::Options {
            reason: e.to_string(),
        };
        let registry = match &options.registry_url {
            Some(u) => Some(
                tda_kafka_admin::RegistryClient::new(u, None, options.timeout)
                    .map_err(options_err)?,
            ),
            None => None,
        };
        let connect = match &options.connect_url {
            Some(u) => Some(ConnectClient::new(u, None, options.timeout).map_err(options_err)?),
            None => None,
        };
        let tda_registry = match &options.registry_url {
            Some(u) => Some(Arc::new(RegistryClient::new(u.clone())?)),
            None => None,
        };
        let state = Arc::new(AppState {
            lag: LagHistory::new(options.lag_samples),
            opts: options,
            admin: OnceCell::new(),
            registry,
            connect,
            csrf: crate::security::random_token(),
            schemas: RwLock::default(),
            tda_registry,
        });
        Ok(Self { listener, state })
    }

    /// The address the console listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.opts.listen)
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and stops the lag sampler.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let sampler = tokio::spawn(crate::lag::sample_loop(self.state.clone(), stop_rx));
        let app = router(self.state.clone());
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_tx.send(true);
        let _ = sampler.await;
        served.map_err(ConsoleError::Serve)
    }
}

/// Binds `options.listen` and serves the console until `shutdown` completes.
pub async fn serve(
    options: ConsoleOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    Console::bind(options).await?.run(shutdown).await
}

fn router(state: Arc<AppState>) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(overview::show))
        .route("/topics", get(topics::list))
        .route("/topics/new", get(topics::new_form))
        .route("/topics/create", post(topics::create))
        .route("/topics/{topic}", get(topics::detail))
        .route("/topics/{topic}/delete", post(topics::delete))
        .route("/topics/{topic}/configs", post(topics::update_configs))
        .route("/topics/{topic}/partitions", post(topics::add_partitions))
        .route("/topics/{topic}/messages", get(messages::browse))
        .route("/topics/{topic}/produce", post(messages::produce))
        .route("/groups", get(groups::list))
        .route("/groups/{group}", get(groups::detail))
        .route("/groups/{group}/lag.svg", get(groups::chart))
        .route("/groups/{group}/reset", post(groups::reset))
        .route("/schemas", get(schemas::list))
        .route("/schemas/register", post(schemas::register))
        .route("/schemas/{subject}", get(schemas::subject))
        .route("/schemas/{subject}/diff", get(schemas::diff))
        .route("/connectors", get(connectors::list))
        .route("/connectors/{name}", get(connectors::detail))
        .route("/connectors/{name}/{action}", post(connectors::action))
        .route("/tda/jobs", get(tda::jobs))
        .route("/tda/results", get(tda::results))
        .route("/tda/results/{job}", get(tda::result))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ConsoleError::Input("no such page".into()).with_status(404) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::guard,
        ))
        .with_state(state)
}

impl ConsoleError {
    fn with_status(self, status: u16) -> Response {
        let mut r = self.into_response();
        if let Ok(s) = axum::http::StatusCode::from_u16(status) {
            *r.status_mut() = s;
        }
        r
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, crate::layout::error_page(&self)).into_response()
    }
}
