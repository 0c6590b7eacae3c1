//! The message browser and the produce form.

use std::sync::Arc;

use apache_avro::writer::datum::GenericDatumWriter;
use axum::extract::{Path, Query, State};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use tda_kafka_admin::{BrowseFrom, BrowseRequest, ProduceRequest, RawRecord};
use tda_kafka_client::headers::{ORIGIN_OFFSET, ORIGIN_PARTITION, ORIGIN_TOPIC};

use crate::decode::{self, Shown};
use crate::layout::{enc, fmt_ts, notice, page};
use crate::pages::{change_form, Page};
use crate::server::AppState;
use crate::ConsoleError;

/// Browser query parameters.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BrowseQuery {
    /// `beginning`, `end` (default), `offset` or `timestamp`.
    from: Option<String>,
    /// The offset, or the timestamp (ms or `YYYY-MM-DDTHH:MM[:SS]` UTC).
    at: Option<String>,
    /// Partition filter (empty = all).
    partition: Option<String>,
    /// Search text.
    q: Option<String>,
    /// Where to search: `any` (default), `key`, `value` or `header`.
    field: Option<String>,
    /// Page size (default 50, at most 500).
    limit: Option<String>,
}

/// Days from 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A timestamp: ms since the epoch, or `YYYY-MM-DDTHH:MM[:SS]` (UTC).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3
        || t.len() < 2
        || t.len() > 3
        || !(1..=12).contains(&d[1])
        || !(1..=31).contains(&d[2])
    {
        return None;
    }
    let secs = days_from_civil(d[0], d[1], d[2]) * 86_400
        + t[0] * 3600
        + t[1] * 60
        + t.get(2).copied().unwrap_or(0);
    Some(secs * 1000)
}

fn parse_from(q: &BrowseQuery) -> crate::Result<BrowseFrom> {
    let at = q.at.as_deref().unwrap_or("").trim();
    match q.from.as_deref().unwrap_or("end") {
        "beginning" => Ok(BrowseFrom::Beginning),
        "end" | "" => Ok(BrowseFrom::End),
        "offset" => at
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .map(BrowseFrom::Offset)
            .ok_or_else(|| {
                ConsoleError::input(format!("offset {at:?} is not a non-negative number"))
            }),
        "timestamp" => parse_time(at).map(BrowseFrom::Timestamp).ok_or_else(|| {
            ConsoleError::input(format!("timestamp {at:?}: expected ms or YYYY-MM-DDTHH:MM"))
        }),
        other => Err(ConsoleError::input(format!(
            "from={other:?}: expected beginning, end, offset or timestamp"
        ))),
    }
}

/// One record, decoded for display.
pub(crate) struct ShownRecord {
    pub(crate) raw: RawRecord,
    pub(crate) key: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) value: Shown,
}

fn header_text(h: &[(String, Option<Vec<u8>>)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Reads a page of `topic` and decodes it; `q` filters on the decoded text.
pub(crate) async fn read(
    state: &AppState,
    topic: &str,
    from: BrowseFrom,
    partitions: Vec<i32>,
    limit: usize,
    search: Option<(&str, &str)>,
) -> crate::Result<(Vec<ShownRecord>, usize)> {
    let scan = if search.is_some() {
        (limit * 20).min(10_000)
    } else {
        limit
    };
    let req = BrowseRequest {
        topic: topic.to_owned(),
        partitions,
        from,
        limit: scan,
        scan_limit: scan,
    };
    let page = state.admin().await?.browse(&req, |_| true).await?;
    let mut out = Vec::new();
    for raw in page.records {
        let key = raw
            .key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        let headers = header_text(&raw.headers);
        let value = decode::show(state, raw.value.as_deref()).await;
        let rec = ShownRecord {
            raw,
            key,
            headers,
            value,
        };
        if let Some((q, field)) = search {
            let q = q.to_lowercase();
            let hit = |s: &str| s.to_lowercase().contains(&q);
            let in_key = rec.key.as_deref().is_some_and(hit);
            let in_value = hit(rec.value.text());
            let in_header = rec.headers.iter().any(|(k, v)| hit(k) || hit(v));
            let keep = match field {
                "key" => in_key,
                "value" => in_value,
                "header" => in_header,
                _ => in_key || in_value || in_header,
            };
            if !keep {
                continue;
            }
        }
        out.push(rec);
        if out.len() >= limit {
            break;
        }
    }
    Ok((out, page.scanned))
}

fn origin_link(headers: &[(String, String)]) -> Option<Markup> {
    let get = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let (t, p, o) = (
        get(ORIGIN_TOPIC)?,
        get(ORIGIN_PARTITION)?,
        get(ORIGIN_OFFSET)?,
    );
    Some(html! {
        a.origin href={ "/topics/" (enc(t)) "/messages?from=offset&at=" (enc(o)) "&partition=" (enc(p)) "&limit=1" } {
            "origin " (t) "/" (p) "@" (o)
        }
    })
}

/// The records as a table (`id="messages"`).
pub(crate) fn records_table(records: &[ShownRecord]) -> Markup {
    html! {
        table #messages {
            tr { th.num { "partition" } th.num { "offset" } th { "timestamp" } th { "key" } th { "headers" } th { "value" } }
            @for r in records {
                tr.message data-partition=(r.raw.partition) data-offset=(r.raw.offset) {
                    td.num { (r.raw.partition) }
                    td.num { (r.raw.offset) }
                    td { (r.raw.timestamp.map(fmt_ts).unwrap_or_default()) }
                    td.key { code { (r.key.as_deref().unwrap_or("")) } }
                    td.headers {
                        @for (k, v) in &r.headers { div { code { (k) } ": " (v) } }
                        @if let Some(l) = origin_link(&r.headers) { div { (l) } }
                    }
                    td {
                        span.badge { (r.value.kind()) }
                        @if let Shown::AvroError { error, .. } = &r.value { div.bad { (error) } }
                        pre.value { (r.value.text()) }
                    }
                }
            }
        }
    }
}

/// `GET /topics/{topic}/messages`.
pub(crate) async fn browse(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Query(q): Query<BrowseQuery>,
) -> Page {
    let from = parse_from(&q)?;
    let partitions: Vec<i32> = match q.partition.as_deref().map(str::trim) {
        None | Some("") | Some("all") => Vec::new(),
        Some(p) => vec![p
            .parse()
            .map_err(|_| ConsoleError::input(format!("partition {p:?} is not a number")))?],
    };
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => 50,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ConsoleError::input(format!("limit {l:?} is not a number")))?
            .clamp(1, 500),
    };
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let field = q.field.as_deref().unwrap_or("any");
    let (records, scanned) = read(
        &state,
        &topic,
        from,
        partitions,
        limit,
        search.map(|s| (s, field)),
    )
    .await?;
    let t = enc(&topic);
    let sel = |v: &str, cur: &str| (v == cur).then_some("selected");
    let from_s = q.from.as_deref().unwrap_or("end");
    let body = html! {
        h1 { "Messages of " a href={ "/topics/" (t) } { (topic) } }
        form.box method="get" id="browse-form" {
            label { "from " select name="from" {
                option value="end" selected=[sel("end", from_s)] { "end (newest)" }
                option value="beginning" selected=[sel("beginning", from_s)] { "beginning" }
                option value="offset" selected=[sel("offset", from_s)] { "offset" }
                option value="timestamp" selected=[sel("timestamp", from_s)] { "timestamp" }
            } }
            label { "offset / time " input name="at" value=(q.at.as_deref().unwrap_or("")) placeholder="42 or 2026-01-31T12:00"; }
            label { "partition " input name="partition" size="4" value=(q.partition.as_deref().unwrap_or("")) placeholder="all"; }
            label { "search " input name="q" value=(search.unwrap_or("")); }
            label { "in " select name="field" {
                @for f in ["any", "key", "value", "header"] { option value=(f) selected=[sel(f, field)] { (f) } }
            } }
            label { "limit " input name="limit" size="4" value=(limit); }
            button type="submit" { "Show" }
        }
        p.muted #summary { (records.len()) " messages shown, " (scanned) " read" }
        (records_table(&records))
        h2 { "Produce a message" }
        (change_form(&state, "produce", &format!("/topics/{t}/produce"), html! {
            label { "key " input name="key"; }
            label { "partition " input name="partition" size="4" placeholder="any"; }
            label { "format " select name="format" {
                option value="json" { "JSON" }
                option value="avro" { "Avro (by subject)" }
                option value="text" { "text" }
            } }
            label { "subject " input name="subject" placeholder={ (topic) "-value" }; }
            br;
            label { "headers (one " code { "key=value" } " a line)" textarea name="headers" rows="2" cols="60" {} }
            label { "value" textarea name="value" rows="5" cols="60" placeholder="{\"hello\": \"world\"}" {} }
            button type="submit" { "Produce" }
        }))
    };
    Ok(page(&state, &format!("{topic} messages"), "/topics", body))
}

/// The produce form.
#[derive(Debug, Deserialize)]
pub(crate) struct ProduceForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    partition: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    headers: String,
    value: String,
}

/// JSON encoded as Avro with the latest schema of `subject`, in the wire format.
async fn avro_value(state: &AppState, subject: &str, json: Value) -> crate::Result<Vec<u8>> {
    let v = state
        .registry()?
        .version(subject, tda_kafka_admin::VersionRef::Latest)
        .await?;
    let id = u32::try_from(v.id).map_err(|_| {
        ConsoleError::input(format!(
            "subject {subject}: the registry returned schema id {}",
            v.id
        ))
    })?;
    let schema = decode::schema_by_id(state, id).await?;
    let avro = apache_avro::types::Value::try_from(json)
        .and_then(|v| v.resolve(&schema))
        .map_err(|e| {
            ConsoleError::input(format!(
                "the value does not fit schema {id} of {subject}: {e}"
            ))
        })?;
    let datum = GenericDatumWriter::builder(&schema)
        .build()
        .and_then(|w| w.write_value_to_vec(avro))
        .map_err(|e| ConsoleError::input(format!("encoding with schema {id}: {e}")))?;
    let mut out = vec![0u8];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&datum);
    Ok(out)
}

/// `POST /topics/{topic}/produce`.
pub(crate) async fn produce(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Form(f): Form<ProduceForm>,
) -> Page {
    let value = match f.format.as_str() {
        "text" => f.value.clone().into_bytes(),
        "avro" => {
            let json: Value = serde_json::from_str(&f.value)
                .map_err(|e| ConsoleError::input(format!("the value is not JSON: {e}")))?;
            let subject = if f.subject.trim().is_empty() {
                format!("{topic}-value")
            } else {
                f.subject.trim().to_owned()
            };
            avro_value(&state, &subject, json).await?
        }
        _ => {
            let json: Value = serde_json::from_str(&f.value)
                .map_err(|e| ConsoleError::input(format!("the value is not JSON: {e}")))?;
            serde_json::to_vec(&json).map_err(|e| ConsoleError::input(e.to_string()))?
        }
    };
    let mut headers = Vec::new();
    for line in f.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| ConsoleError::input(format!("header {line:?}: expected key=value")))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let partition = match f.partition.trim() {
        "" => None,
        p => Some(
            p.parse::<i32>()
                .map_err(|_| ConsoleError::input(format!("partition {p:?} is not a number")))?,
        ),
    };
    let req = ProduceRequest {
        topic: topic.clone(),
        key: (!f.key.is_empty()).then(|| f.key.clone().into_bytes()),
        headers,
        value,
        count: 1,
        partition,
    };
    let d = state.admin().await?.produce(&req).await?;
    let at = d
        .first()
        .copied()
        .ok_or_else(|| ConsoleError::input("nothing was delivered"))?;
    let t = enc(&topic);
    Ok(page(
        &state,
        "Produced",
        "/topics",
        html! {
            h1 { "Produced" }
            (notice("success", format!("Written to {topic} partition {} at offset {}.", at.partition, at.offset)))
            p { a #produced href={ "/topics/" (t) "/messages?from=offset&at=" (at.offset) "&partition=" (at.partition) "&limit=1" } { "show it" } }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1700000000123"), Some(1_700_000_000_123));
        assert_eq!(parse_time("2023-11-14T22:13:20"), Some(1_700_000_000_000));
        assert_eq!(parse_time("1970-01-02T00:00"), Some(86_400_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2023-13-01T00:00"), None);
    }

    #[test]
    fn start_positions_parse() {
        let q = |from: &str, at: &str| BrowseQuery {
            from: Some(from.into()),
            at: Some(at.into()),
            ..Default::default()
        };
        assert_eq!(
            parse_from(&q("offset", "7")).unwrap(),
            BrowseFrom::Offset(7)
        );
        assert!(parse_from(&q("offset", "-1")).is_err());
        assert_eq!(
            parse_from(&q("beginning", "")).unwrap(),
            BrowseFrom::Beginning
        );
        assert!(parse_from(&q("sideways", "")).is_err());
    }
}
