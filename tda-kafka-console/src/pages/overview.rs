//! `/`: brokers, controller, health problems, totals, service states and,
//! in ZooKeeper mode, the ensemble (each node's `ruok` and role).

use std::sync::Arc;

use axum::extract::State;
use maud::{html, Markup};
use tda_kafka_admin::zookeeper::{ensemble_state, EnsembleState};

use crate::layout::{enc, fmt_bytes, notice, page};
use crate::options::RedisTarget;
use crate::pages::Page;
use crate::server::AppState;
use crate::ConsoleError;

fn service_row(name: &str, url: Option<&str>, state: &crate::Result<String>) -> Markup {
    html! {
        tr {
            td { (name) }
            td { @if let Some(u) = url { code { (u) } } @else { span.muted { "not configured" } } }
            td {
                @match state {
                    Ok(detail) => { span.badge.ok { "up" } " " span.muted { (detail) } }
                    Err(ConsoleError::NotConfigured { .. }) => { span.badge { "not configured" } }
                    Err(e) => { span.badge.bad { "down" } " " span.muted { (e.to_string()) } }
                }
            }
        }
    }
}

/// The ZooKeeper ensemble: each node's address, `ruok` answer and role.
fn ensemble_table(e: &EnsembleState) -> Markup {
    html! {
        h2 { "ZooKeeper ensemble" }
        table #zookeeper {
            tr { th { "node" } th { "address" } th { "ruok" } th { "role" } }
            @for n in &e.nodes {
                tr {
                    td { (n.node) }
                    td { code { (n.address) } }
                    td { @if n.imok { span.badge.ok { "imok" } } @else { span.badge.bad { "no answer" } } }
                    td {
                        @match (&n.role, &n.problem) {
                            (Some(r), _) => { span.badge.ok.role { (r.as_str()) } }
                            (None, Some(p)) => { span.badge.bad { "down" } " " span.muted { (p) } }
                            (None, None) => { span.badge { "unknown" } }
                        }
                    }
                }
            }
        }
    }
}

/// Redis answers `PING` (after `AUTH` with its password).
async fn redis_state(target: Option<&RedisTarget>) -> crate::Result<String> {
    let target = target.ok_or(ConsoleError::NotConfigured {
        service: "Redis",
        flag: "--redis HOST:PORT",
    })?;
    tda_kafka_admin::redis::ping(&target.host, target.port, target.password.as_ref())
        .await
        .map_err(|problem| ConsoleError::ServiceDown {
            service: "Redis",
            problem,
        })
}

/// The overview page (also used by the benchmark through `GET /`).
async fn render(state: &AppState) -> Page {
    let admin = state.admin().await?;
    let zookeeper: Vec<(u16, String)> = (1..).zip(state.opts.zookeeper.iter().cloned()).collect();
    let (health, metrics, groups, registry, connect, ensemble, redis) = tokio::join!(
        admin.health(),
        admin.metrics(None),
        admin.list_groups(),
        async { Ok::<_, ConsoleError>(state.registry()?.subjects().await?) },
        async { Ok::<_, ConsoleError>(state.connect()?.worker().await?) },
        async {
            match zookeeper.is_empty() {
                true => None,
                false => Some(ensemble_state(&zookeeper).await),
            }
        },
        redis_state(state.opts.redis.as_ref()),
    );
    let health = health?;
    let redis_address = state
        .opts
        .redis
        .as_ref()
        .map(|r| format!("{}:{}", r.host, r.port));
    let registry = registry.map(|v| format!("{} subjects", v.len()));
    let connect = connect.map(|v| format!("version {}", v.version));
    let mut problems = health.problems();
    if let Some(e) = &ensemble {
        problems.extend(e.problems());
    }
    let body = html! {
        h1 { "Cluster overview" }
        div.cards {
            div.card { div.k { "brokers" } div.v #brokers { (health.brokers.len()) } }
            div.card { div.k { "controller" } div.v { (health.controller.map_or("?".into(), |c| c.to_string())) } }
            div.card { div.k { "topics" } div.v #topic-count { (health.topics) } }
            div.card { div.k { "partitions" } div.v { (health.partitions) } }
            @if let Ok(m) = &metrics {
                div.card { div.k { "messages" } div.v #message-count { (m.topics.iter().map(|t| t.messages).sum::<i64>()) } }
                div.card { div.k { "size on disk" } div.v {
                    (m.topics.iter().filter_map(|t| t.size_bytes).reduce(|a, b| a + b).map_or("n/a".into(), fmt_bytes))
                } }
            }
            @if let Ok(g) = &groups {
                div.card { div.k { "consumer groups" } div.v { (g.len()) } }
            }
            div.card { div.k { "health" } div.v {
                @if problems.is_empty() { span.ok #health { "healthy" } } @else { span.bad #health { (problems.len()) " problems" } }
            } }
        }
        @if !problems.is_empty() {
            h2 { "Problems" }
            ul { @for p in &problems { li.bad { (p) } } }
        }
        h2 { "Brokers" }
        table #brokers-table {
            tr { th { "id" } th { "address" } th { "rack" } th { "role" } }
            @for b in &health.brokers {
                tr {
                    td { (b.id) }
                    td { (b.host) ":" (b.port) }
                    td.muted { "n/a" }
                    td {
                        @if health.controller == Some(b.id) { span.badge.ok { "active controller" } }
                        @else if ensemble.is_some() { "broker" }
                        @else { "broker, controller voter" }
                    }
                }
            }
        }
        p.muted {
            @match &ensemble {
                Some(e) => { "Metadata: ZooKeeper ensemble (" (e.summary()) ")" }
                None => { "Metadata quorum: KRaft" }
            }
            @if let Some(c) = health.controller { ", active controller " (c) }
            @if let Some(n) = &health.controller_note { " (" (n) ")" }
            @if let Some(id) = &health.cluster_id { ", cluster id " code { (id) } }
        }
        @if let Some(e) = &ensemble { (ensemble_table(e)) }
        h2 { "Services" }
        table #services {
            tr { th { "service" } th { "address" } th { "state" } }
            tr { td { "Kafka" } td { code { (admin.bootstrap()) } } td { span.badge.ok { "up" } } }
            (service_row("Schema registry", state.opts.registry_url.as_deref(), &registry))
            (service_row("Kafka Connect", state.opts.connect_url.as_deref(), &connect))
            (service_row("Redis", redis_address.as_deref(), &redis))
        }
        h2 { "Topics" }
        @match &metrics {
            Ok(m) => {
                table #overview-topics {
                    tr { th { "topic" } th.num { "partitions" } th.num { "messages" } th.num { "size" } }
                    @for t in m.topics.iter().filter(|t| !tda_kafka_admin::is_internal_topic(&t.topic)) {
                        tr {
                            td { a href={ "/topics/" (enc(&t.topic)) } { (t.topic) } }
                            td.num { (t.partitions.len()) }
                            td.num { (t.messages) }
                            td.num { (t.size_bytes.map_or("n/a".into(), fmt_bytes)) }
                        }
                    }
                }
                @if let Some(n) = &m.size_note { p.muted { (n) } }
            }
            Err(e) => { (notice("error", format!("topic metrics: {e}"))) }
        }
    };
    Ok(page(state, "Overview", "/", body))
}

/// `GET /`.
pub(crate) async fn show(State(state): State<Arc<AppState>>) -> Page {
    render(&state).await
}
