//! Submits TDA jobs with small point clouds to `tda_jobs`.
//!
//! ```text
//! cargo run -p tda-kafka-examples --bin job-submitter -- --jobs 3 --points 20
//! ```

use std::collections::HashMap;
use std::time::Duration;

use tda_kafka_client::model::{
    Algorithm, JobEvent, JobLifecycle, JobParameters, JobPriority, JobSubmitted,
};
use tda_kafka_client::{Jobs, SendOptions, TdaProducer};
use tda_kafka_examples::{exit_on_error, Args};

/// Two noisy clusters of `n` points in the plane, deterministic in `seed`.
fn point_cloud(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    (0..n)
        .map(|i| {
            let (cx, cy) = if i % 2 == 0 { (0.0, 0.0) } else { (5.0, 5.0) };
            [cx + next(), cy + next()]
        })
        .collect()
}

#[tokio::main]
async fn main() {
    exit_on_error(run().await);
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse()?;
    let jobs: usize = args.get("jobs", 3)?;
    let points: usize = args.get("points", 20)?;
    let submitter = args
        .options
        .get("submitter")
        .cloned()
        .unwrap_or_else(|| "job-submitter".into());
    let producer = TdaProducer::new(&args.settings("job-submitter")?)?;
    let topic = args.topic::<Jobs>();
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();

    // Pipelined: enqueue every job, then wait for the acknowledgements.
    let mut pending = Vec::new();
    for i in 0..jobs {
        let job_id = format!("job-{run_id}-{i}");
        let cloud = point_cloud(points, i as u64 + run_id as u64);
        let event = JobEvent::now(
            &job_id,
            JobLifecycle::Submitted(JobSubmitted {
                dataset_id: format!("inline-{job_id}"),
                algorithm: Algorithm::VietorisRips,
                parameters: JobParameters {
                    max_dimension: 0,
                    max_edge_length: None,
                    landmarks: None,
                    extra: HashMap::from([("points".to_string(), serde_json::to_string(&cloud)?)]),
                },
                priority: JobPriority::Normal,
                submitter: submitter.clone(),
            }),
        );
        let options = SendOptions::correlated(format!("trace-{job_id}"));
        pending.push((
            job_id.clone(),
            producer.enqueue(&topic, &job_id, &event, &options).await?,
        ));
    }
    for (job_id, p) in pending {
        let at = p.await?;
        println!(
            "submitted {job_id} to {} partition {} offset {}",
            topic.name(),
            at.partition,
            at.offset
        );
    }
    let stats = producer.close(Duration::from_secs(10)).await?;
    println!("sent {} failed {}", stats.sent, stats.failed);
    Ok(())
}
