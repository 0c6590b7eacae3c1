//! Prints the results published on `tda_results`.
//!
//! ```text
//! cargo run -p tda-kafka-examples --bin results-reader -- --max 3
//! ```
//! Stops on Ctrl-C or after `--max` results.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tda_kafka_client::{ConsumerOptions, Received, Results, TdaConsumer};
use tda_kafka_examples::{exit_on_error, Args};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    exit_on_error(run().await);
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse()?;
    let max: usize = args.get("max", usize::MAX)?;
    let group = args
        .options
        .get("group")
        .cloned()
        .unwrap_or_else(|| "tda-results-reader".into());
    let settings = args.settings("results-reader")?;
    let options = ConsumerOptions::new(group)
        .with_dead_letter_topic(format!("{}tda_errors", args.topic_prefix));
    let consumer = TdaConsumer::new(&settings, args.topic::<Results>(), options)?;
    let token = CancellationToken::new();
    let ctrl_c = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let seen = Arc::new(AtomicUsize::new(0));
    let (t, s) = (token.clone(), seen.clone());
    consumer
        .run(
            move |r: Received<Results>| {
                let (t, s) = (t.clone(), s.clone());
                async move {
                    let res = &r.value;
                    let finite: Vec<String> = res
                        .diagram
                        .iter()
                        .filter_map(|p| {
                            p.death
                                .map(|d| format!("({}, {:.3}, {d:.3})", p.dimension, p.birth))
                        })
                        .collect();
                    let essential = res.diagram.iter().filter(|p| p.death.is_none()).count();
                    println!(
                        "{} [{:?}] betti={:?} essential={essential} compute={}ms pairs={}",
                        res.job_id,
                        res.algorithm,
                        res.betti_numbers,
                        res.timings.compute_ms,
                        finite.join(" ")
                    );
                    if s.fetch_add(1, Ordering::SeqCst) + 1 >= max {
                        t.cancel();
                    }
                    Ok(())
                }
            },
            token,
        )
        .await?;
    println!("read {} results", seen.load(Ordering::SeqCst));
    Ok(())
}
