//! Checks of the consumer-kill and negative-control scenarios: the child
//! consumer's output, offset gaps, a raw acks=1 sender, and a watch on a
//! group's committed offsets.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use tda_kafka_client::workload::{self, ConsumedRecord, History, SendOutcome};
use tda_kafka_client::{ClientSettings, Codec};

use super::SharedHistory;

/// The records the child consumer wrote (`partition offset seq` lines).
pub fn consumed_lines(path: &Path) -> Vec<ConsumedRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| {
            let mut w = l.split(' ');
            Some(ConsumedRecord {
                partition: w.next()?.parse().ok()?,
                offset: w.next()?.parse().ok()?,
                seq: w.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// SIGTERM to `child`, then waits for it (bounded; killed after the bound).
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "the consumer process exited with {status}"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the consumer process did not stop on SIGTERM");
}

/// Offsets below each partition's end that were never consumed.
pub fn offset_gaps(h: &History, ends: &HashMap<i32, i64>) -> u64 {
    let mut seen: HashMap<i32, BTreeSet<i64>> = HashMap::new();
    for r in h.consumed_records() {
        seen.entry(r.partition).or_default().insert(r.offset);
    }
    ends.iter()
        .map(|(p, end)| {
            let s = seen.get(p);
            (0..*end)
                .filter(|o| !s.is_some_and(|s| s.contains(o)))
                .count() as u64
        })
        .sum()
}

/// Sends `seqs` through the raw producer, recording each outcome.
pub async fn raw_send(
    producer: &FutureProducer,
    topic: &str,
    seqs: std::ops::Range<u64>,
    history: &SharedHistory,
) {
    let mut pending = Vec::new();
    for seq in seqs {
        let (key, value) = workload::record(seq);
        let payload = Codec::Json.encode(topic, &value).await.unwrap();
        let fut = producer
            .send_result(FutureRecord::to(topic).key(&key).payload(&payload))
            .map_err(|(e, _)| e)
            .unwrap();
        pending.push((seq, fut));
    }
    for (seq, fut) in pending {
        let outcome = match fut.await {
            Ok(Ok(d)) => SendOutcome::Acknowledged {
                partition: d.partition,
                offset: d.offset,
            },
            _ => SendOutcome::Unknown,
        };
        history.lock().unwrap().sent(seq, outcome);
    }
}

/// Committed offsets of a group, sampled every 200 ms from outside it.
pub struct CommitWatch {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<CommitStats>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a [`CommitWatch`] saw.
#[derive(Debug, Clone, Default)]
pub struct CommitStats {
    /// Samples taken.
    pub samples: u64,
    /// Times a partition's committed offset was lower than before.
    pub backwards: u64,
    /// The latest committed offset per partition.
    pub latest: HashMap<i32, i64>,
}

impl CommitWatch {
    pub fn start(settings: ClientSettings, group: &str, topic: &str, partitions: i32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(CommitStats::default()));
        let (s, st, group, topic) = (
            stop.clone(),
            state.clone(),
            group.to_owned(),
            topic.to_owned(),
        );
        let ps: Vec<i32> = (0..partitions).collect();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(got) = tda_kafka_client::consumer::committed_offsets(
                    &settings,
                    &group,
                    &topic,
                    &ps,
                    Duration::from_secs(5),
                ) {
                    let mut st = st.lock().unwrap();
                    st.samples += 1;
                    for (p, o) in got {
                        if let Some(o) = o {
                            if st.latest.get(&p).is_some_and(|&last| o < last) {
                                st.backwards += 1;
                            }
                            st.latest.insert(p, o);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            stop,
            state,
            thread: Some(thread),
        }
    }

    /// The latest committed offsets.
    pub fn latest(&self) -> HashMap<i32, i64> {
        self.state.lock().unwrap().latest.clone()
    }

    /// Stops sampling and returns what was seen.
    pub fn stop(mut self) -> CommitStats {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.state.lock().unwrap().clone()
    }
}
