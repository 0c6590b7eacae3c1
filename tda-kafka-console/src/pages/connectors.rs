//! Kafka Connect over its REST API: connectors, status of connector and
//! tasks, config, pause/resume/restart. A Connect that is not configured or
//! not running is shown as such, never as a failure of the console.

use std::sync::Arc;

use axum::extract::{Path, State};
use maud::html;
use reqwest::Method;
use serde_json::Value;

use crate::layout::{csrf, enc, is_secret_name, notice, page};
use crate::pages::Page;
use crate::rest::{self, Service};
use crate::server::AppState;
use crate::ConsoleError;

fn state_badge(s: &str) -> maud::Markup {
    let class = match s {
        "RUNNING" => "badge ok",
        "FAILED" => "badge bad",
        "PAUSED" | "UNASSIGNED" | "RESTARTING" => "badge warn",
        _ => "badge",
    };
    html! { span class=(class) { (s) } }
}

fn unavailable(state: &AppState, e: &ConsoleError) -> Page {
    Ok(page(
        state,
        "Connectors",
        "/connectors",
        html! {
            h1 { "Connectors" }
            div #connect-unavailable {
                @match e {
                    ConsoleError::NotConfigured { .. } => (notice("", "Kafka Connect is not configured for this console (start it with --connect URL).")),
                    _ => (notice("error", format!("Kafka Connect is not reachable: {e}"))),
                }
            }
        },
    ))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

/// `GET /connectors`.
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Page {
    let all = match rest::get(
        &state,
        Service::Connect,
        "/connectors?expand=status&expand=info",
    )
    .await
    {
        Ok(v) => v,
        Err(e) if e.is_unreachable() => return unavailable(&state, &e),
        Err(e) => return Err(e),
    };
    let mut names: Vec<&String> = all
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    names.sort();
    let body = html! {
        h1 { "Connectors" }
        table #connectors {
            tr { th { "connector" } th { "type" } th { "state" } th { "tasks" } }
            @for n in &names {
                @let c = &all[n.as_str()];
                tr {
                    td { a href={ "/connectors/" (enc(n)) } { (n) } }
                    td { (str_at(c, &["info", "type"])) }
                    td { (state_badge(str_at(c, &["status", "connector", "state"]))) }
                    td { @for t in c["status"]["tasks"].as_array().into_iter().flatten() {
                        (t["id"]) ": " (state_badge(t["state"].as_str().unwrap_or(""))) " "
                    } }
                }
            }
        }
        @if names.is_empty() { p.muted { "No connectors." } }
    };
    Ok(page(&state, "Connectors", "/connectors", body))
}

/// `GET /connectors/{name}`.
pub(crate) async fn detail(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Page {
    let n = enc(&name);
    let (status_path, config_path) = (
        format!("/connectors/{n}/status"),
        format!("/connectors/{n}/config"),
    );
    let (status, config) = tokio::join!(
        rest::get(&state, Service::Connect, &status_path),
        rest::get(&state, Service::Connect, &config_path),
    );
    let status = match status {
        Ok(v) => v,
        Err(e) if e.is_unreachable() => return unavailable(&state, &e),
        Err(e) => return Err(e),
    };
    let config = config?;
    let body = html! {
        h1 { "Connector " (name) " " (state_badge(str_at(&status, &["connector", "state"]))) }
        @if !state.opts.read_only {
            @for action in ["pause", "resume", "restart"] {
                form.inline method="post" action={ "/connectors/" (n) "/" (action) } {
                    (csrf(&state)) button type="submit" id={ "connector-" (action) } { (action) }
                } " "
            }
        }
        h2 { "Tasks" }
        table #tasks {
            tr { th { "task" } th { "state" } th { "worker" } th { "error" } }
            @for t in status["tasks"].as_array().into_iter().flatten() {
                tr {
                    td { (t["id"]) }
                    td { (state_badge(t["state"].as_str().unwrap_or(""))) }
                    td { (t["worker_id"].as_str().unwrap_or("")) }
                    td { @if let Some(tr) = t["trace"].as_str() { pre.bad { (tr) } } }
                }
            }
        }
        h2 { "Config" }
        table #config {
            @for (k, v) in config.as_object().into_iter().flatten() {
                tr { td { (k) } td { code { @if is_secret_name(k) { "***" } @else { (v.as_str().map_or(v.to_string(), str::to_owned)) } } } }
            }
        }
    };
    Ok(page(&state, &name, "/connectors", body))
}

/// `POST /connectors/{name}/{pause|resume|restart}`.
pub(crate) async fn action(
    State(state): State<Arc<AppState>>,
    Path((name, action)): Path<(String, String)>,
) -> Page {
    let n = enc(&name);
    let (method, path) = match action.as_str() {
        "pause" => (Method::PUT, format!("/connectors/{n}/pause")),
        "resume" => (Method::PUT, format!("/connectors/{n}/resume")),
        "restart" => (
            Method::POST,
            format!("/connectors/{n}/restart?includeTasks=true"),
        ),
        other => {
            return Err(ConsoleError::input(format!(
                "unknown connector action {other:?}"
            )))
        }
    };
    match rest::call(&state, Service::Connect, method, &path, None).await {
        Ok(_) => {}
        Err(e) if e.is_unreachable() => return unavailable(&state, &e),
        Err(e) => return Err(e),
    }
    Ok(page(
        &state,
        "Done",
        "/connectors",
        html! { h1 { "Done" } (notice("success", format!("{action} sent to {name}."))) p { a href={ "/connectors/" (n) } { "back to " (name) } } },
    ))
}
