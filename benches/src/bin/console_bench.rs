//! Web console benchmarks against a running cluster and registry (issue 11):
//!
//! 1. the overview page (`GET /`), goal <= 200 ms;
//! 2. a page of 100 Avro messages decoded through the registry
//!    (`GET /topics/T/messages?from=beginning&limit=100`), goal <= 300 ms.
//!
//! ```text
//! cargo run --release -p tda-kafka-benches --bin console-bench -- \
//!     127.0.0.1:23092,127.0.0.1:23093,127.0.0.1:23094 http://127.0.0.1:23081/apis/ccompat/v7
//! ```
//!
//! The console runs in-process on an OS-picked loopback port; times are
//! measured at the HTTP client (full response body read). The topic it
//! creates is deleted at the end.

use std::time::{Duration, Instant};

use tda_kafka_admin::{Admin, CreateTopic};
use tda_kafka_client::model::{JobEvent, JobLifecycle, JobProgress};
use tda_kafka_client::{ClientSettings, Jobs, TdaProducer, Topic};
use tda_kafka_config::ClientProperties;
use tda_kafka_console::{Console, ConsoleOptions};

const RUNS: usize = 20;

fn stats(mut v: Vec<Duration>) -> (f64, String) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(v[v.len() / 2]);
    (
        median,
        format!(
            "median {median:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
            ms(v[0]),
            ms(v[v.len() - 1]),
            v.len()
        ),
    )
}

async fn time_get(http: &reqwest::Client, url: &str, must_contain: &str) -> Vec<Duration> {
    let mut out = Vec::with_capacity(RUNS);
    for i in 0..=RUNS {
        let t = Instant::now();
        let r = http.get(url).send().await.expect("GET");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let body = r.text().await.expect("body");
        let took = t.elapsed();
        assert!(body.contains(must_contain), "{url} lacks {must_contain:?}");
        if i > 0 {
            out.push(took); // the first run warms caches (admin connection, schema)
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bootstrap = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094".into());
    let registry = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8081/apis/ccompat/v7".into());
    let mut props = ClientProperties::default();
    props.set("bootstrap.servers", &bootstrap);
    let admin = Admin::connect(&props, Duration::from_secs(15))
        .await
        .expect("connect");

    let topic = format!("bench-console-{}", std::process::id());
    admin
        .create_topic(&CreateTopic {
            name: topic.clone(),
            partitions: Some(3),
            replication_factor: Some(3),
            configs: Default::default(),
        })
        .await
        .expect("create topic");
    let settings = ClientSettings::new(&bootstrap)
        .with_avro(&registry)
        .expect("avro settings");
    let producer = TdaProducer::new(&settings).expect("producer");
    let t = Topic::<Jobs>::named(&topic);
    for i in 0..100 {
        let job = format!("bench-job-{i}");
        let e = JobEvent::now(
            &job,
            JobLifecycle::Progress(JobProgress {
                fraction: f64::from(i) / 100.0,
                stage: "filtration".into(),
            }),
        );
        producer.send(&t, &job, &e).await.expect("send");
    }

    let opts = ConsoleOptions::new(props)
        .with_registry(&registry)
        .with_listen("127.0.0.1:0".parse().expect("addr"))
        .with_lag_sample_interval(Duration::from_secs(3600));
    let console = Console::bind(opts).await.expect("bind console");
    let base = format!("http://{}", console.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(console.run(async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::builder().no_proxy().build().expect("http");

    let (m1, s1) = stats(time_get(&http, &format!("{base}/"), "Cluster overview").await);
    println!(
        "overview (GET /): {s1} (goal <= 200 ms: {})",
        if m1 <= 200.0 { "met" } else { "MISSED" }
    );
    let url = format!("{base}/topics/{topic}/messages?from=beginning&limit=100");
    let (m2, s2) = stats(time_get(&http, &url, "bench-job-99").await);
    println!(
        "100 Avro messages: {s2} (goal <= 300 ms: {})",
        if m2 <= 300.0 { "met" } else { "MISSED" }
    );

    let _ = tx.send(());
    let _ = server.await;
    admin
        .delete_topic(&topic, true)
        .await
        .expect("delete topic");
}
