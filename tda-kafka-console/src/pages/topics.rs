//! Topics: list, detail, create, delete, config changes and new partitions,
//! each change behind a confirmation step.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Form;
use maud::html;
use serde::Deserialize;
use tda_kafka_admin::CreateTopic;

use crate::layout::{enc, fmt_bytes, is_secret_name, notice, page};
use crate::pages::{change_form, confirm_page, confirmed, Page};
use crate::server::AppState;
use crate::ConsoleError;

/// `?all=1` shows internal topics.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    all: Option<String>,
}

/// `GET /topics`.
pub(crate) async fn list(State(state): State<Arc<AppState>>, Query(q): Query<ListQuery>) -> Page {
    let all = q.all.is_some_and(|v| v == "1" || v == "true");
    let admin = state.admin().await?;
    let topics = admin.list_topics(all).await?;
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let (metrics, overrides) = tokio::join!(admin.metrics(None), admin.topic_overrides(&names));
    let metrics: BTreeMap<String, (i64, Option<i64>)> = metrics
        .map(|m| {
            m.topics
                .into_iter()
                .map(|t| (t.topic, (t.messages, t.size_bytes)))
                .collect()
        })
        .unwrap_or_default();
    let overrides = overrides.unwrap_or_default();
    let body = html! {
        h1 { "Topics" }
        p {
            @if all { a href="/topics" { "hide internal topics" } } @else { a href="/topics?all=1" { "show internal topics" } }
            @if !state.opts.read_only { " · " a #new-topic href="/topics/new" { "create a topic" } }
        }
        table #topics {
            tr { th { "topic" } th.num { "partitions" } th.num { "RF" } th.num { "messages" } th.num { "size" } th { "configs set on the topic" } }
            @for t in &topics {
                tr {
                    td { a href={ "/topics/" (enc(&t.name)) } { (t.name) } @if t.internal { " " span.badge { "internal" } } }
                    td.num { (t.partitions) }
                    td.num { (t.replication_factor) }
                    td.num { (metrics.get(&t.name).map_or("?".into(), |m| m.0.to_string())) }
                    td.num { (metrics.get(&t.name).and_then(|m| m.1).map_or("n/a".into(), fmt_bytes)) }
                    td {
                        @for (k, v) in overrides.get(&t.name).into_iter().flatten() {
                            code { (k) "=" (if is_secret_name(k) { "***" } else { v }) } " "
                        }
                    }
                }
            }
        }
    };
    Ok(page(&state, "Topics", "/topics", body))
}

/// `GET /topics/new`.
pub(crate) async fn new_form(State(state): State<Arc<AppState>>) -> Page {
    if state.opts.read_only {
        return Err(ConsoleError::ReadOnly);
    }
    let body = html! {
        h1 { "Create a topic" }
        (change_form(&state, "create-topic", "/topics/create", html! {
            label { "name " input name="name" required; }
            label { "options " input name="options" size="60" placeholder="partitions=3,replication-factor=3,retention.ms=86400000"; }
            button type="submit" { "Create…" }
        }))
    };
    Ok(page(&state, "Create a topic", "/topics", body))
}

/// The create form.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateForm {
    name: String,
    #[serde(default)]
    options: String,
    confirm: Option<String>,
}

/// `POST /topics/create`.
pub(crate) async fn create(State(state): State<Arc<AppState>>, Form(f): Form<CreateForm>) -> Page {
    let name = f.name.trim();
    let opts: Vec<String> = if f.options.trim().is_empty() {
        Vec::new()
    } else {
        vec![f.options.trim().to_owned()]
    };
    let spec = CreateTopic::parse(name, &opts)?;
    if !confirmed(&f.confirm) {
        let summary = html! {
            "Create topic " b { (spec.name) } " with "
            (spec.partitions.map_or("the default number of".into(), |p| p.to_string())) " partitions, replication factor "
            (spec.replication_factor.map_or("default".into(), |r| r.to_string()))
            @for (k, v) in &spec.configs { ", " code { (k) "=" (v) } }
            "?"
        };
        return Ok(confirm_page(
            &state,
            "Create a topic",
            "/topics",
            "/topics/create",
            &[("name", name), ("options", f.options.trim())],
            summary,
            false,
        ));
    }
    state.admin().await?.create_topic(&spec).await?;
    done(&state, &spec.name, format!("Topic {} created.", spec.name))
}

fn done(state: &AppState, topic: &str, msg: String) -> Page {
    Ok(page(
        state,
        "Done",
        "/topics",
        html! {
            h1 { "Done" }
            (notice("success", msg))
            p { a #back href={ "/topics/" (enc(topic)) } { "back to " (topic) } " · " a href="/topics" { "all topics" } }
        },
    ))
}

/// `GET /topics/{topic}`.
pub(crate) async fn detail(State(state): State<Arc<AppState>>, Path(topic): Path<String>) -> Page {
    let admin = state.admin().await?;
    let (d, m) = tokio::join!(admin.describe_topic(&topic), admin.metrics(Some(&topic)));
    let d = d?;
    let parts: BTreeMap<i32, tda_kafka_admin::PartitionMetrics> = m
        .ok()
        .and_then(|m| m.topics.into_iter().next())
        .map(|t| t.partitions.into_iter().map(|p| (p.partition, p)).collect())
        .unwrap_or_default();
    let t = enc(&topic);
    let body = html! {
        h1 { "Topic " span #topic-name { (d.name) } @if d.internal { " " span.badge { "internal" } } }
        p {
            a #browse href={ "/topics/" (t) "/messages" } { "browse messages" }
            " · " (d.partitions.len()) " partitions, replication factor " (d.replication_factor)
        }
        h2 { "Partitions" }
        table #partitions {
            tr { th.num { "partition" } th { "leader" } th { "replicas" } th { "ISR" } th.num { "earliest" } th.num { "log end" } th.num { "messages" } th.num { "size" } }
            @for p in &d.partitions {
                @let pm = parts.get(&p.partition);
                tr class=[(p.under_replicated() || p.offline()).then_some("warn")] {
                    td.num { a href={ "/topics/" (t) "/messages?partition=" (p.partition) } { (p.partition) } }
                    td { (p.leader.map_or("none".into(), |l| l.to_string())) }
                    td { (format!("{:?}", p.replicas)) }
                    td { (format!("{:?}", p.isr)) }
                    td.num { (pm.map_or("?".into(), |m| m.earliest.to_string())) }
                    td.num { (pm.map_or("?".into(), |m| m.latest.to_string())) }
                    td.num { (pm.map_or("?".into(), |m| m.messages.to_string())) }
                    td.num { (pm.and_then(|m| m.size_bytes).map_or("n/a".into(), fmt_bytes)) }
                }
            }
        }
        h2 { "Configs" }
        table #configs {
            tr { th { "name" } th { "value" } th { "source" } }
            @for c in &d.configs {
                tr class=[(!c.is_default).then_some("set")] {
                    td { @if !c.is_default { b { (c.name) } } @else { (c.name) } }
                    td { code { @if is_secret_name(&c.name) || c.value.is_none() { "***" } @else { (c.value.as_deref().unwrap_or_default()) } } }
                    td.muted { (c.source) }
                }
            }
        }
        @if !d.internal {
            h2 { "Change" }
            (change_form(&state, "update-configs", &format!("/topics/{t}/configs"), html! {
                label { "set or remove configs (" code { "key=value" } ", " code { "key=" } " removes) " br;
                    textarea name="changes" rows="3" cols="60" placeholder="retention.ms=86400000" {} }
                button type="submit" { "Update configs…" }
            }))
            (change_form(&state, "add-partitions", &format!("/topics/{t}/partitions"), html! {
                label { "total partitions " input name="total" type="number" min=(d.partitions.len() + 1) value=(d.partitions.len() + 1); }
                button type="submit" { "Add partitions…" }
            }))
            (change_form(&state, "delete-topic", &format!("/topics/{t}/delete"), html! {
                button.danger type="submit" { "Delete topic…" }
            }))
        }
    };
    Ok(page(&state, &topic, "/topics", body))
}

/// A form with only the confirmation field.
#[derive(Debug, Deserialize)]
pub(crate) struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /topics/{topic}/delete`.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Page {
    let admin = state.admin().await?;
    if !confirmed(&f.confirm) {
        let d = admin.describe_topic(&topic).await?;
        return Ok(confirm_page(
            &state,
            "Delete a topic",
            "/topics",
            &format!("/topics/{}/delete", enc(&topic)),
            &[],
            html! { "Delete topic " b { (topic) } " and its " (d.partitions.len()) " partitions with all their messages? This cannot be undone." },
            true,
        ));
    }
    admin.delete_topic(&topic, true).await?;
    Ok(page(
        &state,
        "Deleted",
        "/topics",
        html! { h1 { "Deleted" } (notice("success", format!("Topic {topic} deleted."))) p { a href="/topics" { "all topics" } } },
    ))
}

/// The config change form.
#[derive(Debug, Deserialize)]
pub(crate) struct ConfigsForm {
    changes: String,
    confirm: Option<String>,
}

fn parse_changes(text: &str) -> crate::Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    for line in text.lines().flat_map(|l| l.split(',')).map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            ConsoleError::input(format!("{line:?}: expected key=value (or key= to remove)"))
        })?;
        let k = k.trim();
        if k.is_empty() {
            return Err(ConsoleError::input(format!("{line:?}: empty key")));
        }
        let v = v.trim();
        out.push((k.to_owned(), (!v.is_empty()).then(|| v.to_owned())));
    }
    if out.is_empty() {
        return Err(ConsoleError::input("no config change given"));
    }
    Ok(out)
}

/// `POST /topics/{topic}/configs`.
pub(crate) async fn update_configs(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Form(f): Form<ConfigsForm>,
) -> Page {
    let changes = parse_changes(&f.changes)?;
    if !confirmed(&f.confirm) {
        let summary = html! {
            "Change configs of " b { (topic) } ":"
            ul { @for (k, v) in &changes { li { code { (k) } " → " @match v { Some(v) => code { (v) }, None => "default (remove the override)" } } } }
        };
        return Ok(confirm_page(
            &state,
            "Update configs",
            "/topics",
            &format!("/topics/{}/configs", enc(&topic)),
            &[("changes", &f.changes)],
            summary,
            false,
        ));
    }
    let after = state
        .admin()
        .await?
        .update_topic_configs(&topic, &changes)
        .await?;
    let list: Vec<String> = after.iter().map(|(k, v)| format!("{k}={v}")).collect();
    done(
        &state,
        &topic,
        format!(
            "Configs of {topic} updated; set on the topic now: {}",
            list.join(", ")
        ),
    )
}

/// The add-partitions form.
#[derive(Debug, Deserialize)]
pub(crate) struct PartitionsForm {
    total: String,
    confirm: Option<String>,
}

/// `POST /topics/{topic}/partitions`.
pub(crate) async fn add_partitions(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Form(f): Form<PartitionsForm>,
) -> Page {
    let total: usize = f.total.trim().parse().map_err(|_| {
        ConsoleError::input(format!("total partitions {:?} is not a number", f.total))
    })?;
    let admin = state.admin().await?;
    if !confirmed(&f.confirm) {
        let now = admin.topic_metadata(&topic).await?.partitions.len();
        if total <= now {
            return Err(ConsoleError::input(format!(
                "{topic} has {now} partitions; the new total must be larger (partitions cannot be removed)"
            )));
        }
        return Ok(confirm_page(
            &state,
            "Add partitions",
            "/topics",
            &format!("/topics/{}/partitions", enc(&topic)),
            &[("total", f.total.trim())],
            html! { "Grow " b { (topic) } " from " (now) " to " (total) " partitions? Keyed messages will map to other partitions from now on." },
            false,
        ));
    }
    admin.add_partitions(&topic, total).await?;
    done(
        &state,
        &topic,
        format!("{topic} now has {total} partitions."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_changes_parse() {
        let c = parse_changes("retention.ms=1000\ncleanup.policy=\n").unwrap();
        assert_eq!(
            c,
            vec![
                ("retention.ms".into(), Some("1000".into())),
                ("cleanup.policy".into(), None)
            ]
        );
        assert!(parse_changes("nonsense").is_err());
        assert!(parse_changes("  ").is_err());
    }
}
