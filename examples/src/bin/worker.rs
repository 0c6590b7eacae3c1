//! Consumes submitted jobs from `tda_jobs`, computes 0-dimensional persistent
//! homology of their point cloud and publishes the result to `tda_results`
//! (plus `started` and `completed` lifecycle events to `tda_jobs`).
//!
//! ```text
//! cargo run -p tda-kafka-examples --bin worker -- --max-jobs 3
//! ```
//! Stops on Ctrl-C (finishing the job at hand) or after `--max-jobs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tda_kafka_client::model::{
    now_ms, JobCompleted, JobEvent, JobLifecycle, JobResult, JobStarted, Timings,
};
use tda_kafka_client::{
    ConsumerOptions, HandlerError, Jobs, Received, Results, SendOptions, TdaConsumer, TdaProducer,
};
use tda_kafka_examples::persistence::{parse_points, zero_dim_persistence};
use tda_kafka_examples::{exit_on_error, Args};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    exit_on_error(run().await);
}

fn retriable(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Retriable(e.to_string())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse()?;
    let max_jobs: usize = args.get("max-jobs", usize::MAX)?;
    let group = args
        .options
        .get("group")
        .cloned()
        .unwrap_or_else(|| "tda-workers".into());
    let worker_id = format!("worker-{}", std::process::id());
    let settings = args.settings("worker")?;
    let producer = TdaProducer::new(&settings)?;
    let jobs = args.topic::<Jobs>();
    let results = args.topic::<Results>();
    let options = ConsumerOptions::new(group)
        .with_dead_letter_topic(format!("{}tda_errors", args.topic_prefix));
    let consumer = TdaConsumer::new(&settings, jobs.clone(), options)?;

    let token = CancellationToken::new();
    let ctrl_c = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let done = Arc::new(AtomicUsize::new(0));
    let (t, d, p) = (token.clone(), done.clone(), producer.clone());
    let stats = consumer
        .run(
            move |r: Received<Jobs>| {
                let (t, d, producer, jobs, results, worker_id) = (
                    t.clone(),
                    d.clone(),
                    p.clone(),
                    jobs.clone(),
                    results.clone(),
                    worker_id.clone(),
                );
                async move {
                    let JobLifecycle::Submitted(sub) = &r.value.lifecycle else {
                        return Ok(()); // our own started/completed events
                    };
                    let job_id = r.value.job_id.clone();
                    let trace = SendOptions {
                        correlation_id: r.headers.correlation_id.clone(),
                        extra_headers: vec![],
                    };
                    let points = sub
                        .parameters
                        .extra
                        .get("points")
                        .ok_or_else(|| HandlerError::Permanent("job has no inline points".into()))
                        .and_then(|p| parse_points(p).map_err(HandlerError::Permanent))?;
                    let started =
                        JobEvent::now(&job_id, JobLifecycle::Started(JobStarted { worker_id }));
                    producer
                        .send_with(&jobs, &job_id, &started, &trace)
                        .await
                        .map_err(retriable)?;

                    let t0 = Instant::now();
                    let (diagram, betti0) =
                        zero_dim_persistence(&points, sub.parameters.max_edge_length);
                    let compute_ms = t0.elapsed().as_millis() as i64;
                    let computed_at_ms = now_ms();
                    let result = JobResult {
                        job_id: job_id.clone(),
                        dataset_id: sub.dataset_id.clone(),
                        algorithm: sub.algorithm,
                        diagram,
                        betti_numbers: vec![betti0],
                        timings: Timings {
                            queued_ms: started.occurred_at_ms - r.value.occurred_at_ms,
                            compute_ms,
                            total_ms: computed_at_ms - r.value.occurred_at_ms,
                        },
                        storage_uri: None,
                        computed_at_ms,
                    };
                    producer
                        .send_with(&results, &job_id, &result, &trace)
                        .await
                        .map_err(retriable)?;
                    let completed = JobEvent::now(
                        &job_id,
                        JobLifecycle::Completed(JobCompleted {
                            duration_ms: compute_ms,
                            result_uri: None,
                        }),
                    );
                    producer
                        .send_with(&jobs, &job_id, &completed, &trace)
                        .await
                        .map_err(retriable)?;
                    println!(
                        "{job_id}: {} points, betti_0 = {betti0}, {} pairs",
                        points.len(),
                        result.diagram.len()
                    );
                    if d.fetch_add(1, Ordering::SeqCst) + 1 >= max_jobs {
                        t.cancel();
                    }
                    Ok(())
                }
            },
            token,
        )
        .await?;
    producer.close(Duration::from_secs(10)).await?;
    println!(
        "worker done: {} jobs computed, {} records handled, {} dead-lettered",
        done.load(Ordering::SeqCst),
        stats.processed,
        stats.dead_lettered
    );
    Ok(())
}
