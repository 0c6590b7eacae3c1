//! Round trips, ordering, shutdown and rebalances against a real cluster and
//! a real Schema Registry.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tda_kafka_client::consumer::committed_offsets;
use tda_kafka_client::headers::{CONTENT_TYPE_AVRO, CONTENT_TYPE_JSON};
use tda_kafka_client::model::{samples, JobEvent, JobLifecycle, JobProgress};
use tda_kafka_client::{
    ClientSettings, ConsumerOptions, Errors, Events, HandlerError, Jobs, Received, Results,
    SendOptions, TdaConsumer, TdaMessage, TdaProducer, TdaTopic, Topic, Uploads,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn round_trip<T>(settings: &ClientSettings, kind: &str, values: Vec<(String, T::Value)>)
where
    T: TdaTopic<Key = String>,
    T::Value: PartialEq + Debug + Clone,
{
    let topic = Topic::<T>::named(unique(kind));
    create_topic(topic.name(), 1).await;
    let producer = TdaProducer::new(settings).unwrap();
    for (k, v) in &values {
        producer
            .send_with(&topic, k, v, &SendOptions::correlated(format!("trace-{k}")))
            .await
            .unwrap();
    }
    let got = consume_n(
        settings,
        &topic,
        ConsumerOptions::new(unique("g")),
        values.len(),
    )
    .await;
    for ((k, v), r) in values.iter().zip(&got) {
        assert_eq!(r.key.as_ref(), Some(k));
        assert_eq!(&r.value, v);
        assert_eq!(r.headers.content_type, settings.codec().content_type());
        assert_eq!(
            r.headers.schema_version,
            <T::Value as TdaMessage>::SCHEMA_VERSION
        );
        assert_eq!(
            r.headers.correlation_id.as_deref(),
            Some(format!("trace-{k}").as_str())
        );
        assert!(!r.headers.message_id.is_empty());
        assert!(r.headers.produced_at_ms > 0);
    }
}

async fn round_trip_all(settings: ClientSettings) {
    let jobs = samples::job_lifecycle("job-1")
        .into_iter()
        .map(|e| ("job-1".to_string(), e))
        .collect();
    round_trip::<Jobs>(&settings, "jobs", jobs).await;
    round_trip::<Results>(
        &settings,
        "results",
        vec![("job-1".into(), samples::job_result("job-1"))],
    )
    .await;
    round_trip::<Events>(
        &settings,
        "events",
        vec![("worker-1".into(), samples::system_event("e1"))],
    )
    .await;
    round_trip::<Uploads>(
        &settings,
        "uploads",
        vec![("up-1".into(), samples::upload("up-1"))],
    )
    .await;
    round_trip::<Errors>(
        &settings,
        "errors",
        vec![("worker".into(), samples::error_record())],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_round_trips_in_json() {
    let s = json_settings();
    assert_eq!(s.codec().content_type(), CONTENT_TYPE_JSON);
    round_trip_all(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_round_trips_in_avro() {
    let s = avro_settings();
    assert_eq!(s.codec().content_type(), CONTENT_TYPE_AVRO);
    round_trip_all(s).await;
}

/// A consumer started before its topic exists (so the topic is missing from
/// the metadata when it joins, and `auto.offset.reset` meets an empty log)
/// picks the topic up once it is created and reads it from offset 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_started_before_its_topic_exists_picks_it_up() {
    let settings = json_settings();
    let topic = Topic::<Events>::named(unique("late-topic"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer =
        TdaConsumer::new(&settings, topic.clone(), ConsumerOptions::new(unique("gl"))).unwrap();
    let token = CancellationToken::new();
    let run = tokio::spawn(consumer.run(
        move |r: Received<Events>| {
            let tx = tx.clone();
            async move {
                tx.send(r.offset)
                    .map_err(|e| HandlerError::Permanent(e.to_string()))
            }
        },
        token.clone(),
    ));
    create_topic(topic.name(), 1).await;
    TdaProducer::new(&settings)
        .unwrap()
        .send(&topic, &"w".to_string(), &samples::system_event("late"))
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("the consumer never picked up its late topic");
    assert_eq!(got, Some(0));
    token.cancel();
    run.await.unwrap().unwrap();
}

fn progress(job: &str, seq: usize) -> JobEvent {
    JobEvent {
        job_id: job.into(),
        occurred_at_ms: 1,
        lifecycle: JobLifecycle::Progress(JobProgress {
            fraction: 0.0,
            stage: seq.to_string(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_arrive_once_in_order_per_partition() {
    const N: usize = 10_000;
    let settings = avro_settings();
    let topic = Topic::<Jobs>::named(unique("10k"));
    create_topic(topic.name(), 3).await;
    let producer = TdaProducer::new(&settings).unwrap();
    let mut pending = Vec::with_capacity(N);
    for i in 0..N {
        let key = format!("job-{}", i % 37);
        pending.push(
            producer
                .enqueue(&topic, &key, &progress(&key, i), &SendOptions::default())
                .await
                .unwrap(),
        );
    }
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for p in pending {
        let d = p.await.unwrap();
        let prev = last_offset.insert(d.partition, d.offset);
        assert!(
            prev.is_none_or(|o| o < d.offset),
            "offsets go up per partition"
        );
    }
    let stats = producer.stats();
    assert_eq!(
        (stats.sent, stats.failed, stats.in_flight),
        (N as u64, 0, 0)
    );

    let got = consume_n(
        &settings,
        &topic,
        ConsumerOptions::new(unique("g10k")).with_concurrency(3),
        N,
    )
    .await;
    let mut seen = HashSet::new();
    let mut per_partition: BTreeMap<i32, Vec<(i64, usize)>> = BTreeMap::new();
    for r in &got {
        let JobLifecycle::Progress(p) = &r.value.lifecycle else {
            panic!("unexpected {:?}", r.value)
        };
        let seq: usize = p.stage.parse().unwrap();
        assert!(seen.insert(seq), "message {seq} consumed twice");
        per_partition
            .entry(r.partition)
            .or_default()
            .push((r.offset, seq));
    }
    assert_eq!(seen.len(), N);
    assert_eq!(per_partition.len(), 3, "all partitions used");
    for (p, recs) in per_partition {
        for w in recs.windows(2) {
            assert!(w[0].0 < w[1].0, "partition {p}: offsets out of order");
            assert!(w[0].1 < w[1].1, "partition {p}: production order lost");
        }
    }
}

/// A new 4-partition jobs topic holding `n` progress records with stages
/// 0..n, each under its own key.
async fn progress_topic(settings: &ClientSettings, name: &str, n: usize) -> Topic<Jobs> {
    let topic = Topic::<Jobs>::named(unique(name));
    create_topic(topic.name(), 4).await;
    let producer = TdaProducer::new(settings).unwrap();
    let records: Vec<_> = (0..n)
        .map(|i| (format!("job-{i}"), progress("j", i)))
        .collect();
    for r in producer.send_batch(&topic, &records).await {
        r.unwrap();
    }
    topic
}

/// Runs a handler that takes 30 ms on 48 records of 4 partitions with
/// `concurrency`; returns the most records in flight at once, after checking
/// that no partition ever had two.
async fn most_in_flight(concurrency: usize) -> usize {
    const N: usize = 48;
    let settings = json_settings();
    let topic = progress_topic(&settings, "overlap", N).await;
    let consumer = TdaConsumer::new(
        &settings,
        topic.clone(),
        ConsumerOptions::new(unique("go")).with_concurrency(concurrency),
    )
    .unwrap();
    // Partitions in flight now, the most at once, records handled.
    let state = Arc::new(Mutex::new((HashSet::<i32>::new(), 0usize, 0usize)));
    let token = CancellationToken::new();
    let (s, t) = (state.clone(), token.clone());
    let run = tokio::spawn(consumer.run(
        move |r: Received<Jobs>| {
            let (s, t) = (s.clone(), t.clone());
            async move {
                {
                    let mut s = s.lock().unwrap();
                    assert!(
                        s.0.insert(r.partition),
                        "partition {} twice in flight",
                        r.partition
                    );
                    s.1 = s.1.max(s.0.len());
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
                let mut s = s.lock().unwrap();
                s.0.remove(&r.partition);
                s.2 += 1;
                if s.2 == N {
                    t.cancel();
                }
                Ok(())
            }
        },
        token.clone(),
    ));
    tokio::time::timeout(WAIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let (_, most, handled) = *state.lock().unwrap();
    assert_eq!(handled, N);
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_overlaps_partitions_up_to_its_limit() {
    assert_eq!(most_in_flight(3).await, 3, "3 partitions at once, never 4");
    assert_eq!(most_in_flight(1).await, 1, "one record at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_mid_stream_commits_only_processed_offsets_and_restart_resumes() {
    const N: usize = 300;
    let settings = json_settings();
    let topic = Topic::<Jobs>::named(unique("resume"));
    create_topic(topic.name(), 2).await;
    let producer = TdaProducer::new(&settings).unwrap();
    let records: Vec<_> = (0..N)
        .map(|i| (format!("job-{}", i % 5), progress("j", i)))
        .collect();
    for r in producer.send_batch(&topic, &records).await {
        r.unwrap();
    }
    let group = unique("gr");
    let processed = Arc::new(Mutex::new(Vec::<(i32, i64, usize)>::new()));

    let run_once = |stop_after: Option<usize>| {
        let processed = processed.clone();
        let consumer = TdaConsumer::new(
            &settings,
            topic.clone(),
            ConsumerOptions::new(group.clone()).with_concurrency(2),
        )
        .unwrap();
        let token = CancellationToken::new();
        let t = token.clone();
        let handle = tokio::spawn(consumer.run(
            move |r: Received<Jobs>| {
                let (processed, t) = (processed.clone(), t.clone());
                async move {
                    let JobLifecycle::Progress(p) = &r.value.lifecycle else {
                        unreachable!()
                    };
                    // Simulate work so shutdown lands mid-stream.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    let mut v = processed.lock().unwrap();
                    v.push((r.partition, r.offset, p.stage.parse().unwrap()));
                    if stop_after.is_some_and(|n| v.len() >= n) {
                        t.cancel();
                    }
                    Ok(())
                }
            },
            token.clone(),
        ));
        (handle, token)
    };

    let (first, _t1) = run_once(Some(100));
    tokio::time::timeout(WAIT, first)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let after_first = processed.lock().unwrap().clone();
    assert!(
        after_first.len() >= 100 && after_first.len() < N,
        "stopped mid-stream: {}",
        after_first.len()
    );

    // Committed offset per partition = 1 + the last processed offset, and
    // every offset below it was processed.
    let committed = committed_offsets(
        &settings,
        &group,
        topic.name(),
        &[0, 1],
        Duration::from_secs(10),
    )
    .unwrap();
    for (p, c) in committed {
        let mut offs: Vec<i64> = after_first
            .iter()
            .filter(|r| r.0 == p)
            .map(|r| r.1)
            .collect();
        offs.sort();
        match c {
            Some(c) => {
                assert_eq!(
                    offs,
                    (0..c).collect::<Vec<_>>(),
                    "partition {p}: committed {c} covers exactly what was processed"
                );
            }
            None => assert!(
                offs.is_empty(),
                "partition {p} processed but nothing committed"
            ),
        }
    }

    let (second, t2) = run_once(None);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seqs: HashSet<usize> = processed.lock().unwrap().iter().map(|r| r.2).collect();
        if seqs.len() == N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "restart resumed only to {} of {N}",
            seqs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t2.cancel();
    second.await.unwrap().unwrap();
    let all = processed.lock().unwrap().clone();
    assert_eq!(
        all.len(),
        N,
        "no record was processed twice across the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_loses_nothing_and_commits_only_finished_work() {
    const N: usize = 300;
    let settings = json_settings();
    let topic = progress_topic(&settings, "rebalance", N).await;
    let group = unique("grb");
    let processed = Arc::new(Mutex::new(Vec::<(i32, i64, &'static str)>::new()));
    let start = |name: &'static str| {
        let processed = processed.clone();
        let consumer = TdaConsumer::new(
            &settings,
            topic.clone(),
            ConsumerOptions::new(group.clone()).with_commit_interval(Duration::from_millis(100)),
        )
        .unwrap();
        let token = CancellationToken::new();
        let handle = tokio::spawn(consumer.run(
            move |r: Received<Jobs>| {
                let processed = processed.clone();
                async move {
                    // Slow work, so the rebalance lands while records are in flight.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    processed
                        .lock()
                        .unwrap()
                        .push((r.partition, r.offset, name));
                    Ok(())
                }
            },
            token.clone(),
        ));
        (handle, token)
    };
    let (a, ta) = start("a");
    wait_until("a started", || processed.lock().unwrap().len() >= 5).await;
    let (b, tb) = start("b");
    wait_until("all records processed, some by the second member", || {
        let v = processed.lock().unwrap();
        v.iter().any(|r| r.2 == "b")
            && v.iter().map(|r| (r.0, r.1)).collect::<HashSet<_>>().len() == N
    })
    .await;
    ta.cancel();
    tb.cancel();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    let v = processed.lock().unwrap().clone();
    assert!(
        v.iter().any(|r| r.2 == "b"),
        "the second member got partitions"
    );
    // Every committed offset covers only processed records.
    for (p, c) in committed_offsets(
        &settings,
        &group,
        topic.name(),
        &[0, 1, 2, 3],
        Duration::from_secs(10),
    )
    .unwrap()
    {
        let done: HashSet<i64> = v.iter().filter(|r| r.0 == p).map(|r| r.1).collect();
        let c = c.unwrap_or(0);
        assert!(
            (0..c).all(|o| done.contains(&o)),
            "partition {p}: commit {c} beyond finished work"
        );
        assert_eq!(
            c as usize,
            done.len(),
            "partition {p}: everything finished was committed at shutdown"
        );
    }
}
