//! A bounded workload for fault tests: unique sequence numbers sent through
//! [`TdaProducer`] to a `tda_jobs`-shaped topic, consumed back through
//! [`TdaConsumer`], every outcome recorded in a [`History`] and checked by
//! [`History::check`] (lost, duplicated, reordered, outcome-unknown, the
//! checks of Kafka's `validate_delivery` and Jepsen's queue checker).
//!
//! A record's key and its `job_id` are its sequence number, so the
//! checker needs nothing but what the consumer hands over.

mod checker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio_util::sync::CancellationToken;

pub use checker::{CheckReport, ConsumedRecord, History, SendOutcome};

use crate::model::{JobEvent, JobLifecycle, JobStarted};
use crate::{
    ClientError, ClientSettings, ConsumerOptions, ConsumerStats, Jobs, PendingDelivery, Result,
    SendOptions, TdaConsumer, TdaProducer, Topic,
};

/// A history shared by the producing and consuming sides.
pub type SharedHistory = Arc<Mutex<History>>;

/// The record of sequence number `seq`.
pub fn record(seq: u64) -> (String, JobEvent) {
    let id = seq.to_string();
    let event = JobEvent::now(
        id.clone(),
        JobLifecycle::Started(JobStarted {
            worker_id: "fault-workload".into(),
        }),
    );
    (id, event)
}

/// The sequence number of a consumed record (its key), if it is one of ours.
pub fn seq_of(key: Option<&str>) -> Option<u64> {
    key?.parse().ok()
}

/// How a producing run is paced and bounded.
#[derive(Debug, Clone)]
pub struct Load {
    /// First sequence number.
    pub first: u64,
    /// At most this many records.
    pub count: u64,
    /// Records in flight at once (awaited oldest first).
    pub window: usize,
    /// Pause between records (spreads the load over the faults).
    pub pace: Duration,
}

/// Sends `load` to `topic`, recording every outcome in `history`, until
/// `count` records were sent or `stop` is cancelled; returns how many were
/// attempted. Every attempted record ends in exactly one outcome.
pub async fn produce(
    producer: &TdaProducer,
    topic: &Topic<Jobs>,
    load: &Load,
    history: &SharedHistory,
    stop: &CancellationToken,
) -> u64 {
    let mut pending: std::collections::VecDeque<(u64, PendingDelivery)> = Default::default();
    let record_outcome = |seq: u64, r: Result<crate::Delivered>| {
        let outcome = match r {
            Ok(d) => SendOutcome::Acknowledged {
                partition: d.partition,
                offset: d.offset,
            },
            Err(ClientError::SendFailed { .. }) => SendOutcome::Failed,
            Err(_) => SendOutcome::Unknown,
        };
        history.lock().unwrap().sent(seq, outcome);
    };
    let mut attempted = 0;
    for seq in load.first..load.first + load.count {
        if stop.is_cancelled() {
            break;
        }
        let (key, value) = record(seq);
        attempted += 1;
        match producer
            .enqueue(topic, &key, &value, &SendOptions::default())
            .await
        {
            Ok(p) => pending.push_back((seq, p)),
            Err(e) => record_outcome(seq, Err(e)),
        }
        while pending.len() >= load.window.max(1) {
            let (s, p) = pending.pop_front().expect("non-empty");
            record_outcome(s, p.await);
        }
        if !load.pace.is_zero() {
            tokio::time::sleep(load.pace).await;
        }
    }
    while let Some((s, p)) = pending.pop_front() {
        record_outcome(s, p.await);
    }
    attempted
}

/// The end of every partition of `topic` now (its high watermarks).
pub fn end_offsets(
    settings: &ClientSettings,
    topic: &str,
    timeout: Duration,
) -> Result<HashMap<i32, i64>> {
    let kafka = |operation| move |source| ClientError::Kafka { operation, source };
    let consumer: BaseConsumer = settings
        .consumer_config("tda-kafka-workload-watermarks")
        .create()
        .map_err(kafka("create consumer"))?;
    let meta = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(kafka("fetch metadata"))?;
    let mut out = HashMap::new();
    for t in meta.topics() {
        for p in t.partitions() {
            let (_, high) = consumer
                .fetch_watermarks(topic, p.id(), timeout)
                .map_err(kafka("fetch watermarks"))?;
            out.insert(p.id(), high);
        }
    }
    Ok(out)
}

/// Consumes `topic` in `group` with `options` until every partition was
/// read to the end it has now (or `bound` expires), recording every record
/// in `history`; returns the consumer's counters and whether the end was
/// reached.
pub async fn consume_to_end(
    settings: &ClientSettings,
    topic: &Topic<Jobs>,
    options: ConsumerOptions,
    history: &SharedHistory,
    bound: Duration,
) -> Result<(ConsumerStats, bool)> {
    let ends = end_offsets(settings, topic.name(), Duration::from_secs(30))?;
    let consumer = TdaConsumer::new(settings, topic.clone(), options)?;
    let next: Arc<Mutex<HashMap<i32, i64>>> = Arc::default();
    let shutdown = CancellationToken::new();
    let h = history.clone();
    let n = next.clone();
    let run = tokio::spawn(consumer.run(
        move |r: crate::Received<Jobs>| {
            if let Some(seq) = seq_of(r.key.as_deref()) {
                h.lock().unwrap().consumed(ConsumedRecord {
                    seq,
                    partition: r.partition,
                    offset: r.offset,
                });
            }
            let mut n = n.lock().unwrap();
            let e = n.entry(r.partition).or_insert(0);
            *e = (*e).max(r.offset + 1);
            async { Ok(()) }
        },
        shutdown.clone(),
    ));
    let deadline = Instant::now() + bound;
    let reached = loop {
        let done = {
            let n = next.lock().unwrap();
            ends.iter()
                .all(|(p, end)| *end == 0 || n.get(p).is_some_and(|o| o >= end))
        };
        if done || Instant::now() >= deadline || run.is_finished() {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    shutdown.cancel();
    let stats = run.await.map_err(|e| ClientError::Config {
        detail: format!("consumer task: {e}"),
    })??;
    Ok((stats, reached))
}
