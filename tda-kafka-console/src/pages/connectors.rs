//! Kafka Connect over its REST API: connectors, status of connector and
//! tasks, config, pause/resume/restart. A Connect that is not configured or
//! not running is shown as such, never as a failure of the console.

use std::sync::Arc;

use axum::extract::{Path, State};
use maud::html;
use tda_kafka_admin::ConnectorState;

use crate::layout::{csrf, enc, is_secret_name, notice, page};
use crate::pages::Page;
use crate::server::AppState;
use crate::ConsoleError;

fn state_badge(s: ConnectorState) -> maud::Markup {
    let class = match s {
        ConnectorState::Running => "badge ok",
        ConnectorState::Failed => "badge bad",
        ConnectorState::Paused
        | ConnectorState::Stopped
        | ConnectorState::Unassigned
        | ConnectorState::Restarting => "badge warn",
        ConnectorState::Unknown => "badge",
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

/// A Connect call's result, or the page that says Connect is unavailable.
macro_rules! or_unavailable {
    ($state:expr, $call:expr) => {
        match async { Ok::<_, ConsoleError>($call) }.await {
            Ok(v) => v,
            Err(e) if e.is_unreachable() => return unavailable(&$state, &e),
            Err(e) => return Err(e),
        }
    };
}

/// `GET /connectors`.
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Page {
    let all = match state.connect() {
        Ok(c) => c.list_expanded().await.map_err(ConsoleError::from),
        Err(e) => Err(e),
    };
    let all = or_unavailable!(state, all?);
    let body = html! {
        h1 { "Connectors" }
        table #connectors {
            tr { th { "connector" } th { "type" } th { "state" } th { "tasks" } }
            @for (n, c) in &all {
                tr {
                    td { a href={ "/connectors/" (enc(n)) } { (n) } }
                    td { (c.info.kind.as_deref().unwrap_or("")) }
                    td { (state_badge(c.status.connector.state)) }
                    td { @for t in &c.status.tasks {
                        (t.id.unwrap_or_default()) ": " (state_badge(t.state)) " "
                    } }
                }
            }
        }
        @if all.is_empty() { p.muted { "No connectors." } }
    };
    Ok(page(&state, "Connectors", "/connectors", body))
}

/// `GET /connectors/{name}`.
pub(crate) async fn detail(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Page {
    let n = enc(&name);
    let client = or_unavailable!(state, state.connect()?);
    let (status, config) = tokio::join!(client.status(&name), client.config(&name));
    let status = or_unavailable!(state, status?);
    let config = config?;
    let body = html! {
        h1 { "Connector " (name) " " (state_badge(status.connector.state)) }
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
            @for t in &status.tasks {
                tr {
                    td { (t.id.unwrap_or_default()) }
                    td { (state_badge(t.state)) }
                    td { (t.worker_id) }
                    td { @if let Some(tr) = &t.trace { pre.bad { (tr) } } }
                }
            }
        }
        h2 { "Config" }
        table #config {
            @for (k, v) in &config {
                tr { td { (k) } td { code { @if is_secret_name(k) { "***" } @else { (v) } } } }
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
    if !matches!(action.as_str(), "pause" | "resume" | "restart") {
        return Err(ConsoleError::input(format!(
            "unknown connector action {action:?}"
        )));
    }
    let client = or_unavailable!(state, state.connect()?);
    let done = match action.as_str() {
        "pause" => client.pause(&name).await,
        "resume" => client.resume(&name).await,
        _ => client.restart(&name, true, false).await,
    };
    or_unavailable!(state, done?);
    Ok(page(
        &state,
        "Done",
        "/connectors",
        html! { h1 { "Done" } (notice("success", format!("{action} sent to {name}."))) p { a href={ "/connectors/" (n) } { "back to " (name) } } },
    ))
}
