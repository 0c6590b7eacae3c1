//! TDA views: job lifecycles from `tda_jobs`, results from `tda_results`
//! with Betti numbers and the persistence diagram. Values are decoded with
//! the typed model of `tda-kafka-client` (Avro through the registry, or JSON).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use maud::html;
use tda_kafka_admin::{BrowseFrom, BrowseRequest, RawRecord};
use tda_kafka_client::model::{JobEvent, JobLifecycle, JobResult};
use tda_kafka_client::{Codec, Jobs, Results, TdaMessage, Topic};

use crate::layout::{enc, fmt_ts, notice, page};
use crate::pages::Page;
use crate::server::AppState;
use crate::svg::persistence_diagram;

/// Records read per TDA view.
const WINDOW: usize = 500;

async fn decode<M: TdaMessage>(state: &AppState, bytes: &[u8]) -> Result<M, String> {
    let codec = match (&state.tda_registry, bytes.first()) {
        (Some(r), Some(0)) => Codec::Avro(r.clone()),
        _ => Codec::Json,
    };
    codec.decode::<M>(bytes).await.map_err(|e| e.to_string())
}

async fn recent(state: &AppState, topic: &str) -> crate::Result<Vec<RawRecord>> {
    let req = BrowseRequest {
        topic: topic.to_owned(),
        partitions: Vec::new(),
        from: BrowseFrom::End,
        limit: WINDOW,
        scan_limit: WINDOW,
    };
    Ok(state.admin().await?.browse(&req, |_| true).await?.records)
}

fn step(l: &JobLifecycle) -> String {
    match l {
        JobLifecycle::Submitted(s) => format!("submitted ({:?}, {:?})", s.algorithm, s.priority),
        JobLifecycle::Started(s) => format!("started on {}", s.worker_id),
        JobLifecycle::Progress(p) => format!("progress {:.0}% {}", p.fraction * 100.0, p.stage),
        JobLifecycle::Completed(c) => format!("completed in {} ms", c.duration_ms),
        JobLifecycle::Failed(f) => format!("failed: {} {}", f.error_kind, f.message),
        JobLifecycle::Cancelled(c) => format!("cancelled by {}: {}", c.cancelled_by, c.reason),
    }
}

/// `GET /tda/jobs`.
pub(crate) async fn jobs(State(state): State<Arc<AppState>>) -> Page {
    let topic = Topic::<Jobs>::new();
    let records = recent(&state, topic.name()).await?;
    let mut jobs: BTreeMap<String, Vec<JobEvent>> = BTreeMap::new();
    let mut bad = 0;
    for r in &records {
        match decode::<JobEvent>(&state, r.value.as_deref().unwrap_or_default()).await {
            Ok(e) => jobs.entry(e.job_id.clone()).or_default().push(e),
            Err(_) => bad += 1,
        }
    }
    for events in jobs.values_mut() {
        events.sort_by_key(|e| e.occurred_at_ms);
    }
    let body = html! {
        h1 { "TDA jobs" }
        p.muted { (jobs.len()) " jobs in the last " (records.len()) " records of " code { (topic.name()) }
            @if bad > 0 { ", " span.bad { (bad) " undecodable" } } }
        table #jobs {
            tr { th { "job" } th { "status" } th { "lifecycle" } th { "last update" } }
            @for (id, events) in &jobs {
                @let last = events.last();
                tr.job data-job=(id) {
                    td { code { (id) } }
                    td.status { (last.map(|e| format!("{:?}", e.lifecycle.status())).unwrap_or_default()) }
                    td { @for (i, e) in events.iter().enumerate() { @if i > 0 { " → " } (step(&e.lifecycle)) } }
                    td { (last.map(|e| fmt_ts(e.occurred_at_ms)).unwrap_or_default()) }
                }
            }
        }
    };
    Ok(page(&state, "TDA jobs", "/tda/jobs", body))
}

async fn results_by_job(state: &AppState) -> crate::Result<(BTreeMap<String, JobResult>, usize)> {
    let records = recent(state, Topic::<Results>::new().name()).await?;
    let mut out = BTreeMap::new();
    let mut bad = 0;
    for r in &records {
        match decode::<JobResult>(state, r.value.as_deref().unwrap_or_default()).await {
            Ok(res) => {
                out.insert(res.job_id.clone(), res);
            }
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

/// `GET /tda/results`.
pub(crate) async fn results(State(state): State<Arc<AppState>>) -> Page {
    let (results, bad) = results_by_job(&state).await?;
    let body = html! {
        h1 { "TDA results" }
        @if bad > 0 { (notice("error", format!("{bad} records could not be decoded"))) }
        table #results {
            tr { th { "job" } th { "dataset" } th { "algorithm" } th { "Betti numbers" } th.num { "pairs" } th { "computed" } }
            @for (id, r) in &results {
                tr {
                    td { a href={ "/tda/results/" (enc(id)) } { (id) } }
                    td { (r.dataset_id) }
                    td { (format!("{:?}", r.algorithm)) }
                    td.betti { (format!("{:?}", r.betti_numbers)) }
                    td.num { (r.diagram.len()) }
                    td { (fmt_ts(r.computed_at_ms)) }
                }
            }
        }
    };
    Ok(page(&state, "TDA results", "/tda/results", body))
}

/// `GET /tda/results/{job}`.
pub(crate) async fn result(State(state): State<Arc<AppState>>, Path(job): Path<String>) -> Page {
    let (results, _) = results_by_job(&state).await?;
    let r = results.get(&job).ok_or_else(|| {
        crate::ConsoleError::input(format!(
            "no result for job {job} in the last {WINDOW} records"
        ))
    })?;
    let body = html! {
        h1 { "Result of " code { (job) } }
        div.cards {
            @for (dim, b) in r.betti_numbers.iter().enumerate() {
                div.card { div.k { "β" (dim) } div.v.betti { (b) } }
            }
            div.card { div.k { "compute" } div.v { (r.timings.compute_ms) " ms" } }
        }
        p { "Dataset " (r.dataset_id) ", " (format!("{:?}", r.algorithm)) ", computed " (fmt_ts(r.computed_at_ms))
            @if let Some(u) = &r.storage_uri { ", stored at " code { (u) } } }
        h2 { "Persistence diagram" }
        (persistence_diagram(&r.diagram))
        h2 { "Pairs" }
        table #pairs {
            tr { th.num { "dimension" } th.num { "birth" } th.num { "death" } }
            @for p in &r.diagram {
                tr { td.num { (p.dimension) } td.num { (p.birth) } td.num { (p.death.map_or("∞".into(), |d| d.to_string())) } }
            }
        }
    };
    Ok(page(&state, "TDA result", "/tda/results", body))
}
