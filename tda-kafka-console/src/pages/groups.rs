//! Consumer groups: list, detail with lag and the lag chart, offset reset
//! with a preview.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Form;
use maud::html;
use serde::Deserialize;
use tda_kafka_admin::ResetSpec;

use crate::layout::{enc, notice, page};
use crate::pages::{change_form, confirmed, Page};
use crate::server::AppState;
use crate::svg::lag_chart;
use crate::ConsoleError;

/// `GET /groups`.
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Page {
    let admin = state.admin().await?;
    let groups = admin.list_groups().await?;
    let lags =
        futures::future::join_all(groups.iter().map(|g| admin.describe_group(&g.group))).await;
    let body = html! {
        h1 { "Consumer groups" }
        table #groups {
            tr { th { "group" } th { "state" } th.num { "members" } th { "protocol" } th.num { "total lag" } }
            @for (g, d) in groups.iter().zip(&lags) {
                tr {
                    td { a href={ "/groups/" (enc(&g.group)) } { (g.group) } }
                    td { (g.state) }
                    td.num { (g.members) }
                    td { (g.protocol_type) " " (g.protocol) }
                    td.num { @match d { Ok(d) => (d.total_lag), Err(_) => span.muted { "?" } } }
                }
            }
        }
        @if groups.is_empty() { p.muted { "No consumer groups." } }
    };
    Ok(page(&state, "Consumer groups", "/groups", body))
}

/// `GET /groups/{group}`.
pub(crate) async fn detail(State(state): State<Arc<AppState>>, Path(group): Path<String>) -> Page {
    let admin = state.admin().await?;
    let d = admin.describe_group(&group).await?;
    state.lag.record(&group, d.total_lag);
    let g = enc(&group);
    let body = html! {
        h1 { "Group " span #group-name { (group) } }
        div.cards {
            div.card { div.k { "state" } div.v #group-state { (d.state) } }
            div.card { div.k { "members" } div.v { (d.members.len()) } }
            div.card { div.k { "total lag" } div.v #total-lag { (d.total_lag) } }
        }
        h2 { "Lag over time" }
        p.muted { "Sampled by this console every " (format!("{:?}", state.opts.lag_sample_interval)) " while it runs, and on every view of this page." }
        (lag_chart(&state.lag.samples(&group)))
        h2 { "Members" }
        table #members {
            tr { th { "member" } th { "client" } th { "host" } th { "assignment" } }
            @for m in &d.members {
                tr {
                    td { code { (m.member_id) } }
                    td { (m.client_id) }
                    td { (m.host) }
                    td { @for tp in &m.assignment { (tp.topic) " " (format!("{:?}", tp.partitions)) " " } }
                }
            }
        }
        @if d.members.is_empty() { p.muted { "No active members." } }
        h2 { "Offsets and lag" }
        table #lag {
            tr { th { "topic" } th.num { "partition" } th.num { "committed" } th.num { "log end" } th.num { "lag" } th { "member" } }
            @for p in &d.partitions {
                tr.lag-row data-topic=(p.topic) data-partition=(p.partition) {
                    td { a href={ "/topics/" (enc(&p.topic)) } { (p.topic) } }
                    td.num { (p.partition) }
                    td.num { (p.committed.map_or("none".into(), |c| c.to_string())) }
                    td.num { (p.log_end) }
                    td.num.lag { (p.lag.map_or("?".into(), |l| l.to_string())) }
                    td { (p.member.as_deref().unwrap_or("")) }
                }
            }
        }
        h2 { "Reset offsets" }
        @if !d.members.is_empty() {
            p.muted { "Offsets can be reset only while the group has no members." }
        } @else {
            (change_form(&state, "reset", &format!("/groups/{g}/reset"), html! {
                label { "to " input name="to" value="earliest" placeholder="earliest, latest, offset:N, timestamp:MS, shift:N"; }
                label { "topics " input name="topics" placeholder="all with commits"; }
                button type="submit" id="preview-reset" { "Preview…" }
            }))
        }
    };
    Ok(page(&state, &group, "/groups", body))
}

/// `GET /groups/{group}/lag.svg`: the chart alone.
pub(crate) async fn chart(
    State(state): State<Arc<AppState>>,
    Path(group): Path<String>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        lag_chart(&state.lag.samples(&group)).into_string(),
    )
}

/// The reset form.
#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    to: String,
    #[serde(default)]
    topics: String,
    confirm: Option<String>,
}

/// `POST /groups/{group}/reset`: without `confirm=yes` a dry run (preview
/// of current → new), with it the reset.
pub(crate) async fn reset(
    State(state): State<Arc<AppState>>,
    Path(group): Path<String>,
    Form(f): Form<ResetForm>,
) -> Page {
    let spec: ResetSpec = f.to.parse()?;
    let topics: Vec<String> = f
        .topics
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let execute = confirmed(&f.confirm);
    let report = state
        .admin()
        .await?
        .reset_offsets(&group, &topics, spec, execute)
        .await?;
    let g = enc(&group);
    let body = html! {
        h1 { @if execute { "Offsets reset" } @else { "Preview: reset offsets of " (group) } }
        @if execute {
            (notice("success", format!("{} partitions of {group} moved.", report.partitions.len())))
        } @else {
            (notice("", "Nothing has changed yet. Check the new offsets, then confirm."))
        }
        table #reset-preview {
            tr { th { "topic" } th.num { "partition" } th.num { "current" } th.num { "new" } th.num { "change" } }
            @for r in &report.partitions {
                tr {
                    td { (r.topic) }
                    td.num { (r.partition) }
                    td.num { (r.current.map_or("none".into(), |c| c.to_string())) }
                    td.num.target { (r.target) }
                    td.num { (r.current.map_or("".into(), |c| format!("{:+}", r.target - c))) }
                }
            }
        }
        @if !execute {
            (change_form(&state, "confirm-reset", &format!("/groups/{g}/reset"), html! {
                input type="hidden" name="to" value=(f.to);
                input type="hidden" name="topics" value=(f.topics);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" id="confirm" { "Confirm reset" }
                " " a href={ "/groups/" (g) } { "Cancel" }
            }))
        } @else {
            p { a #back href={ "/groups/" (g) } { "back to " (group) } }
        }
    };
    if report.partitions.is_empty() {
        return Err(ConsoleError::input(format!(
            "group {group} has no committed offsets to reset"
        )));
    }
    Ok(page(&state, "Reset offsets", "/groups", body))
}
