//! Schemas over the registry's Confluent-compatible REST API: subjects,
//! versions, a side-by-side diff, compatibility level, register with a
//! compatibility check first.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use tda_kafka_admin::{NewSchema, SchemaVersion, VersionRef};

use crate::layout::{enc, notice, page};
use crate::pages::{change_form, confirm_page, confirmed, Page};
use crate::server::AppState;
use crate::ConsoleError;

fn pretty_schema(v: &SchemaVersion) -> String {
    serde_json::from_str::<Value>(&v.schema)
        .ok()
        .and_then(|j| serde_json::to_string_pretty(&j).ok())
        .unwrap_or_else(|| v.schema.clone())
}

async fn compat_level(state: &AppState, subject: Option<&str>) -> String {
    let level = match state.registry() {
        Ok(r) => r.compat_level(subject).await.map_err(ConsoleError::from),
        Err(e) => Err(e),
    };
    match level {
        Ok(Some(l)) => l.to_string(),
        Ok(None) => "(global)".to_owned(),
        Err(_) if subject.is_some() => "(global)".to_owned(),
        Err(e) => format!("unknown: {e}"),
    }
}

/// `GET /schemas`.
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Page {
    let registry = state.registry()?;
    let names = registry.subjects().await?;
    let versions = futures::future::join_all(names.iter().map(|s| registry.versions(s))).await;
    let global = compat_level(&state, None).await;
    let body = html! {
        h1 { "Schemas" }
        p { "Global compatibility level: " b #global-compat { (global) } }
        table #subjects {
            tr { th { "subject" } th { "versions" } }
            @for (s, v) in names.iter().zip(&versions) {
                tr {
                    td { a href={ "/schemas/" (enc(s)) } { (s) } }
                    td { @match v { Ok(v) => (v.len()), Err(e) => span.bad { (e.to_string()) } } }
                }
            }
        }
        h2 { "Register a schema" }
        (register_form(&state, ""))
    };
    Ok(page(&state, "Schemas", "/schemas", body))
}

fn register_form(state: &AppState, subject: &str) -> Markup {
    change_form(
        state,
        "register",
        "/schemas/register",
        html! {
            label { "subject " input name="subject" value=(subject) required; }
            label { "Avro schema (JSON)" textarea name="schema" rows="8" cols="80" required {} }
            button type="submit" { "Check compatibility…" }
        },
    )
}

/// `GET /schemas/{subject}`.
pub(crate) async fn subject(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
) -> Page {
    let s = enc(&subject);
    let registry = state.registry()?;
    let versions = registry.versions(&subject).await?;
    let latest = registry.version(&subject, VersionRef::Latest).await?;
    let level = compat_level(&state, Some(&subject)).await;
    let body = html! {
        h1 { "Subject " (subject) }
        p { "Versions: " @for v in &versions { code { (v) } " " } " · compatibility " b { (level) } }
        h2 { "Latest (version " (latest.version) ", id " (latest.id) ")" }
        pre #schema { (pretty_schema(&latest)) }
        @if versions.len() >= 2 {
            h2 { "Compare two versions" }
            form.box method="get" action={ "/schemas/" (s) "/diff" } {
                label { "from " select name="a" { @for v in &versions { option value=(v) selected[*v == versions[versions.len() - 2]] { (v) } } } }
                label { "to " select name="b" { @for v in &versions { option value=(v) selected[Some(v) == versions.last()] { (v) } } } }
                button type="submit" { "Diff" }
            }
        }
        h2 { "Register a new version" }
        (register_form(&state, &subject))
    };
    Ok(page(&state, &subject, "/schemas", body))
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// A line diff by longest common subsequence.
fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Line<'a>> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(Line::Same(a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Line::Del(a[i]));
            i += 1;
        } else {
            out.push(Line::Add(b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Del(l)));
    out.extend(b[j..].iter().map(|l| Line::Add(l)));
    out
}

/// `?a=&b=`: the versions to compare.
#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    a: String,
    b: String,
}

/// `GET /schemas/{subject}/diff?a=1&b=2`: side by side.
pub(crate) async fn diff(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Page {
    let s = enc(&subject);
    let ver = |v: &str| -> crate::Result<i32> {
        v.trim()
            .parse()
            .map_err(|_| ConsoleError::input(format!("version {v:?} is not a number")))
    };
    let (a, b) = (ver(&q.a)?, ver(&q.b)?);
    let registry = state.registry()?;
    let (va, vb) = tokio::join!(
        registry.version(&subject, VersionRef::Number(a)),
        registry.version(&subject, VersionRef::Number(b)),
    );
    let (ta, tb) = (pretty_schema(&va?), pretty_schema(&vb?));
    let (la, lb): (Vec<&str>, Vec<&str>) = (ta.lines().collect(), tb.lines().collect());
    let lines = diff_lines(&la, &lb);
    let body = html! {
        h1 { (subject) ": version " (a) " → " (b) }
        table.diff #diff {
            tr { th { "version " (a) } th { "version " (b) } }
            @for l in &lines {
                @match l {
                    Line::Same(t) => tr { td { (t) } td { (t) } },
                    Line::Del(t) => tr { td.del { "- " (t) } td {} },
                    Line::Add(t) => tr { td {} td.add { "+ " (t) } },
                }
            }
        }
        p { a href={ "/schemas/" (s) } { "back to " (subject) } }
    };
    Ok(page(&state, "Schema diff", "/schemas", body))
}

/// The register form.
#[derive(Debug, Deserialize)]
pub(crate) struct RegisterForm {
    subject: String,
    schema: String,
    confirm: Option<String>,
}

/// `POST /schemas/register`: first a compatibility check (shown), then with
/// `confirm=yes` the registration.
pub(crate) async fn register(
    State(state): State<Arc<AppState>>,
    Form(f): Form<RegisterForm>,
) -> Page {
    let subject = f.subject.trim();
    if subject.is_empty() {
        return Err(ConsoleError::input("the subject is empty"));
    }
    let parsed: Value = serde_json::from_str(&f.schema)
        .map_err(|e| ConsoleError::input(format!("the schema is not JSON: {e}")))?;
    apache_avro::Schema::parse(&parsed)
        .map_err(|e| ConsoleError::input(format!("not an Avro schema: {e}")))?;
    let schema = NewSchema::avro(parsed.to_string());
    let s = enc(subject);
    let registry = state.registry()?;
    if !confirmed(&f.confirm) {
        let check = registry.check_compat(subject, &schema).await?;
        let (verdict, ok) = if check.new_subject {
            ("a new subject (no earlier version)".to_owned(), true)
        } else if check.is_compatible {
            ("compatible with the latest version".to_owned(), true)
        } else {
            (
                format!(
                    "NOT compatible with the latest version: {}",
                    check.messages.join("; ")
                ),
                false,
            )
        };
        if !ok {
            return Ok(page(
                &state,
                "Register a schema",
                "/schemas",
                html! { h1 { "Register a schema" } (notice("error", format!("{subject}: {verdict}; not registered."))) },
            ));
        }
        return Ok(confirm_page(
            &state,
            "Register a schema",
            "/schemas",
            "/schemas/register",
            &[("subject", subject), ("schema", &f.schema)],
            html! { "The schema is " b #compat-verdict { (verdict) } ". Register it under " b { (subject) } "?" },
            false,
        ));
    }
    let id = registry.register(subject, &schema).await?;
    Ok(page(
        &state,
        "Registered",
        "/schemas",
        html! {
            h1 { "Registered" }
            (notice("success", format!("{subject}: schema id {id}.")))
            p { a href={ "/schemas/" (s) } { "show " (subject) } }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_keep_common_lines() {
        let d = diff_lines(&["a", "b", "c"], &["a", "x", "c", "d"]);
        assert_eq!(
            d,
            vec![
                Line::Same("a"),
                Line::Del("b"),
                Line::Add("x"),
                Line::Same("c"),
                Line::Add("d")
            ]
        );
    }
}
