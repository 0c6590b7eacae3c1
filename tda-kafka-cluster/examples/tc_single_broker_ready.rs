//! Benchmark helper: time from `KafkaBroker::single()` to a ready broker
//! (shared readiness probe passed), printed in seconds. Needs a Docker engine
//! and the local images (`tda-kafka images build`).
//!
//! `cargo run -p tda-kafka-cluster --example tc_single_broker_ready`

use std::time::Instant;

use tda_kafka_cluster::testcontainers::KafkaBroker;

#[tokio::main]
async fn main() -> tda_kafka_cluster::Result<()> {
    let t0 = Instant::now();
    let kafka = KafkaBroker::single().await?;
    println!(
        "ready_after_secs={:.2} bootstrap={}",
        t0.elapsed().as_secs_f64(),
        kafka.bootstrap_servers()
    );
    Ok(())
}
