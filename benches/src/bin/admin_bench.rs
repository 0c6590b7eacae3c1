//! Admin benchmarks against a running cluster (not timed tests):
//!
//! 1. `plan` with no changes on the five-topic TDA architecture (goal <= 100 ms);
//! 2. creating 100 topics in one batch;
//! 3. consumer-group lag (`describe_group`) over 1000 partitions (goal <= 500 ms).
//!
//! ```text
//! cargo run --release -p tda-kafka-benches --bin admin-bench -- 127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094
//! ```
//!
//! Every topic and group it creates is deleted at the end (the TDA topics only
//! if they did not exist before).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tda_kafka_admin::{Admin, CreateTopic};
use tda_kafka_config::{ClientProperties, ClusterConfig};

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

/// Deletes `names` in batches of 100 and waits until none is listed any more.
async fn delete_batch(admin: &Admin, bootstrap: &str, names: &[String]) {
    let a: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    // Metadata of just-created topics reaches every broker asynchronously:
    // wait until they are visible, so "not listed" below means deleted.
    admin.wait_for_topics(names).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let listed: Vec<String> = admin
            .list_topics(false)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        let left: Vec<&str> = names
            .iter()
            .filter(|n| listed.contains(n))
            .map(String::as_str)
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "could not delete {left:?}");
        for chunk in left.chunks(100) {
            let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
            let _ = a.delete_topics(chunk, &opts).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() {
    let bootstrap = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094".into());
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut props = ClientProperties::default();
    props.set("bootstrap.servers", &bootstrap);
    let admin = Admin::connect(&props, Duration::from_secs(30))
        .await
        .expect("connect");
    let brokers = admin.metadata().await.unwrap().brokers.len();
    println!("cluster {bootstrap}: {brokers} brokers");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();

    // 1. plan, no changes, five-topic architecture.
    let cfg = ClusterConfig::default();
    let specs = cfg.effective_topics();
    let existing: Vec<String> = admin
        .list_topics(false)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    let created_tda: Vec<String> = specs
        .iter()
        .filter(|s| !existing.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let plan = admin.plan(&specs, false).await.unwrap();
    if plan.changes().next().is_some() {
        let r = admin.apply(&specs, &plan, false, true).await.unwrap();
        assert!(r.success(), "{r:#?}");
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let p = admin.plan(&specs, false).await.unwrap();
        times.push(t.elapsed());
        assert!(
            !p.has_drift(),
            "architecture drifted during the bench: {p:#?}"
        );
    }
    println!("plan (no changes, 5 TDA topics): {}", stats(times));

    // 2. create 100 topics in one batch.
    let mut times = Vec::new();
    let rf = tda_kafka_config::ClusterConfig::default()
        .fit_to_brokers(brokers as u16)
        .default_replication_factor;
    for run in 0..5 {
        let names: Vec<String> = (0..100)
            .map(|i| format!("bench-create-{stamp}-{run}-{i}"))
            .collect();
        let reqs: Vec<CreateTopic> = names
            .iter()
            .map(|n| CreateTopic {
                name: n.clone(),
                partitions: Some(1),
                replication_factor: Some(rf),
                configs: BTreeMap::new(),
            })
            .collect();
        let t = Instant::now();
        let res = admin.create_topics(&reqs).await.unwrap();
        times.push(t.elapsed());
        assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
        delete_batch(&admin, &bootstrap, &names).await;
    }
    println!(
        "create 100 topics in one batch (1 partition, RF {rf}): {}",
        stats(times)
    );

    // 3. lag over 1000 partitions.
    let topic = format!("bench-lag-{stamp}");
    let group = format!("bench-lag-group-{stamp}");
    admin
        .create_topic(&CreateTopic {
            name: topic.clone(),
            partitions: Some(1000),
            replication_factor: Some(1),
            configs: BTreeMap::new(),
        })
        .await
        .unwrap();
    admin
        .wait_for_topics(std::slice::from_ref(&topic))
        .await
        .unwrap();
    let offsets = (0..1000).map(|p| ((topic.clone(), p), 0i64)).collect();
    admin.set_offsets(&group, &offsets).await.unwrap();
    // Warm-up: the first call after creating 1000 partitions may wait for
    // leadership to settle (retried inside the library); reported separately.
    let t = Instant::now();
    admin.describe_group(&group).await.unwrap();
    println!(
        "group lag, first call after creating the topic: {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let d = admin.describe_group(&group).await.unwrap();
        times.push(t.elapsed());
        assert_eq!(d.partitions.len(), 1000);
    }
    println!(
        "group lag over 1000 partitions (describe_group): {}",
        stats(times)
    );
    admin.delete_group(&group).await.unwrap();
    delete_batch(&admin, &bootstrap, &[topic]).await;
    delete_batch(&admin, &bootstrap, &created_tda).await;
}
