//! The typed, at-least-once consumer with dead-letter routing.
//!
//! Invariants:
//! - An offset is stored (and so committed) only after its handler succeeded,
//!   or after its dead letter was acknowledged by the brokers.
//! - Records of one partition are handled one at a time, in offset order;
//!   partitions may run concurrently (`max_concurrency`).
//! - A rebalance commits only stored offsets, and work on a revoked partition
//!   that finishes afterwards is not stored.
//! - Shutdown finishes the records being handled, commits, and returns.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, OwnedMessage};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::headers::{self, StandardHeaders};
use crate::model::{error_kind, now_ms, ErrorOrigin, ErrorRecord};
use crate::producer::{SendOptions, TdaProducer};
use crate::settings::ClientSettings;
use crate::topic::{Errors, MessageKey, TdaTopic, Topic};

/// How retriable handler errors are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt; then the record is dead-lettered as
    /// `retries_exhausted`.
    pub max_retries: u32,
    /// First backoff.
    pub initial_backoff: Duration,
    /// Backoff cap (the backoff doubles up to it).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Consumer options.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// The consumer group.
    pub group_id: String,
    /// Partitions handled at the same time (1 = one record at a time).
    pub max_concurrency: usize,
    /// Retry policy for retriable handler errors.
    pub retry: RetryPolicy,
    /// Where poison records go (default `tda_errors`).
    pub dead_letter_topic: String,
    /// How often stored offsets are committed while running.
    pub commit_interval: Duration,
}

impl ConsumerOptions {
    /// Defaults for `group_id`.
    pub fn new(group_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            max_concurrency: 1,
            retry: RetryPolicy::default(),
            dead_letter_topic: Errors::NAME.into(),
            commit_interval: Duration::from_secs(1),
        }
    }

    /// Handle up to `n` partitions concurrently.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }

    /// Dead-letter poison records to `topic`.
    pub fn with_dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = topic.into();
        self
    }

    /// Use `retry` for retriable handler errors.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Commit stored offsets every `interval`.
    pub fn with_commit_interval(mut self, interval: Duration) -> Self {
        self.commit_interval = interval;
        self
    }
}

/// What a handler reports when it could not process a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// Try again later (with backoff).
    Retriable(String),
    /// Never going to work: dead-letter the record.
    Permanent(String),
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Retriable(m) => write!(f, "retriable: {m}"),
            Self::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for HandlerError {}

/// A decoded record handed to the handler.
#[derive(Debug)]
pub struct Received<T: TdaTopic> {
    /// The key (`None` for records without a key).
    pub key: Option<T::Key>,
    /// The typed value.
    pub value: T::Value,
    /// The standard headers.
    pub headers: StandardHeaders,
    /// Topic of the record.
    pub topic: String,
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// What a consumer run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsumerStats {
    /// Records whose handler succeeded.
    pub processed: u64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Handler retries.
    pub retries: u64,
    /// Failed dead-letter writes (each retried, blocking its partition).
    pub dead_letter_failures: u64,
}

/// Live counters of a running consumer (see [`TdaConsumer::stats_handle`]).
#[derive(Debug, Default)]
pub struct ConsumerCounters {
    processed: AtomicU64,
    dead_lettered: AtomicU64,
    retries: AtomicU64,
    dead_letter_failures: AtomicU64,
}

impl ConsumerCounters {
    /// The current values.
    pub fn snapshot(&self) -> ConsumerStats {
        ConsumerStats {
            processed: self.processed.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dead_letter_failures: self.dead_letter_failures.load(Ordering::Relaxed),
        }
    }
}

/// Partition generations: bumped on revocation so that work dispatched
/// before a rebalance is never stored after it.
#[derive(Default)]
struct Generations(Mutex<HashMap<i32, u64>>);

impl Generations {
    fn get(&self, partition: i32) -> u64 {
        *self
            .0
            .lock()
            .expect("generations poisoned")
            .get(&partition)
            .unwrap_or(&0)
    }

    fn bump(&self, partition: i32) {
        *self
            .0
            .lock()
            .expect("generations poisoned")
            .entry(partition)
            .or_default() += 1;
    }
}

/// The consumer context: on revocation, commit what was finished and fence
/// off what was not.
pub struct TdaConsumerContext {
    generations: Arc<Generations>,
}

impl ClientContext for TdaConsumerContext {}

impl ConsumerContext for TdaConsumerContext {
    fn pre_rebalance(&self, base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            for e in tpl.elements() {
                self.generations.bump(e.partition());
            }
            // Only offsets stored after finished work are committed here.
            if let Err(e) = base_consumer.commit_consumer_state(CommitMode::Sync) {
                if !is_no_offset(&e) {
                    tracing::warn!(error = %e, "commit on revocation failed");
                }
            }
        }
    }
}

fn is_no_offset(e: &KafkaError) -> bool {
    e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}

type Consumer_ = StreamConsumer<TdaConsumerContext>;

/// A record handed to a partition worker, with its partition generation.
type Dispatched = (OwnedMessage, u64);

/// A typed consumer of topic kind `T` in a consumer group.
pub struct TdaConsumer<T: TdaTopic> {
    consumer: Arc<Consumer_>,
    generations: Arc<Generations>,
    topic: Topic<T>,
    codec: Codec,
    dead_letters: TdaProducer,
    service: String,
    options: ConsumerOptions,
    counters: Arc<ConsumerCounters>,
}

impl<T: TdaTopic> std::fmt::Debug for TdaConsumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TdaConsumer")
            .field("topic", &self.topic)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

enum Outcome {
    /// Handled or dead-lettered: store the offset.
    Done,
    /// Shutdown interrupted a retry: leave the offset for redelivery.
    Abandoned,
}

struct Shared<T: TdaTopic, H> {
    consumer: Arc<Consumer_>,
    generations: Arc<Generations>,
    topic: String,
    codec: Codec,
    dead_letters: TdaProducer,
    dead_letter_topic: Topic<Errors>,
    service: String,
    retry: RetryPolicy,
    handler: H,
    permits: Semaphore,
    counters: Arc<ConsumerCounters>,
    shutdown: CancellationToken,
    _kind: std::marker::PhantomData<fn() -> T>,
}

impl<T: TdaTopic> TdaConsumer<T> {
    /// Creates a consumer of `topic` and subscribes it.
    pub fn new(
        settings: &ClientSettings,
        topic: Topic<T>,
        options: ConsumerOptions,
    ) -> Result<Self> {
        let generations = Arc::new(Generations::default());
        let consumer: Consumer_ = settings
            .consumer_config(&options.group_id)
            .create_with_context(TdaConsumerContext {
                generations: generations.clone(),
            })
            .map_err(|source| ClientError::Kafka {
                operation: "create consumer",
                source,
            })?;
        consumer
            .subscribe(&[topic.name()])
            .map_err(|source| ClientError::Kafka {
                operation: "subscribe",
                source,
            })?;
        Ok(Self {
            consumer: Arc::new(consumer),
            generations,
            topic,
            codec: settings.codec().clone(),
            dead_letters: TdaProducer::new(settings)?,
            service: settings.service_name().to_owned(),
            options,
            counters: Arc::default(),
        })
    }

    /// The committed offsets of this consumer's group for `partitions`
    /// (`None` where nothing was committed).
    ///
    /// A `TdaConsumer` is a subscribed group member from [`new`](Self::new)
    /// on: do not create one only to read offsets, since a member that is
    /// never [`run`](Self::run) can be assigned partitions that then nobody
    /// consumes. Use [`committed_offsets`] to read them from outside the group.
    pub fn committed(
        &self,
        partitions: &[i32],
        timeout: Duration,
    ) -> Result<Vec<(i32, Option<i64>)>> {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition(self.topic.name(), *p);
        }
        let got = self
            .consumer
            .committed_offsets(tpl, timeout)
            .map_err(|source| ClientError::Kafka {
                operation: "committed offsets",
                source,
            })?;
        Ok(got
            .elements()
            .iter()
            .map(|e| {
                let o = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.partition(), o)
            })
            .collect())
    }

    /// Live counters, readable while [`run`](Self::run) works.
    pub fn stats_handle(&self) -> Arc<ConsumerCounters> {
        self.counters.clone()
    }

    /// Runs `handler` on every record until `shutdown` is cancelled, then
    /// finishes the records being handled, commits and returns.
    pub async fn run<H, Fut>(self, handler: H, shutdown: CancellationToken) -> Result<ConsumerStats>
    where
        H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
    {
        let shared = Arc::new(Shared::<T, H> {
            consumer: self.consumer.clone(),
            generations: self.generations.clone(),
            topic: self.topic.name().to_owned(),
            codec: self.codec.clone(),
            dead_letters: self.dead_letters.clone(),
            dead_letter_topic: Topic::named(self.options.dead_letter_topic.clone()),
            service: self.service.clone(),
            retry: self.options.retry.clone(),
            handler,
            permits: Semaphore::new(self.options.max_concurrency.max(1)),
            counters: self.counters.clone(),
            shutdown: shutdown.clone(),
            _kind: std::marker::PhantomData,
        });
        let mut workers: HashMap<i32, (mpsc::Sender<Dispatched>, JoinHandle<()>)> = HashMap::new();
        let inline = self.options.max_concurrency <= 1;
        let mut tick = tokio::time::interval(self.options.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => commit(&self.consumer, CommitMode::Async),
                m = self.consumer.recv() => {
                    let msg = match m {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, topic = self.topic.name(), "consumer error");
                            continue;
                        }
                    };
                    let partition = msg.partition();
                    let generation = self.generations.get(partition);
                    let owned = detach(&msg);
                    drop(msg);
                    if inline {
                        // One record at a time: handle it here, no hand-off.
                        match process(&shared, &owned).await {
                            Outcome::Done => {
                                if self.generations.get(partition) == generation {
                                    if let Err(e) = self.consumer.store_offset(
                                        &shared.topic,
                                        partition,
                                        owned.offset(),
                                    ) {
                                        tracing::warn!(error = %e, partition, "offset not stored");
                                    }
                                }
                                continue;
                            }
                            Outcome::Abandoned => break,
                        }
                    }
                    let (tx, _) = workers.entry(partition).or_insert_with(|| {
                        let (tx, rx) = mpsc::channel(256);
                        let handle = tokio::spawn(worker(shared.clone(), partition, rx));
                        (tx, handle)
                    });
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        r = tx.send((owned, generation)) => {
                            if r.is_err() {
                                tracing::warn!(partition, "partition worker stopped");
                            }
                        }
                    }
                }
            }
        }
        // Shutdown: stop feeding the workers, let them finish what they hold.
        let handles: Vec<_> = workers
            .into_values()
            .map(|(tx, h)| {
                drop(tx);
                h
            })
            .collect();
        for h in handles {
            if let Err(e) = h.await {
                tracing::error!(error = %e, "partition worker panicked");
            }
        }
        commit(&self.consumer, CommitMode::Sync);
        Ok(shared.counters.snapshot())
    }
}

/// The committed offsets of `group` on `topic` for `partitions` (`None`
/// where nothing was committed), read without joining the group.
pub fn committed_offsets(
    settings: &ClientSettings,
    group: &str,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Vec<(i32, Option<i64>)>> {
    let consumer: BaseConsumer =
        settings
            .consumer_config(group)
            .create()
            .map_err(|source| ClientError::Kafka {
                operation: "create consumer",
                source,
            })?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition(topic, *p);
    }
    let got = consumer
        .committed_offsets(tpl, timeout)
        .map_err(|source| ClientError::Kafka {
            operation: "committed offsets",
            source,
        })?;
    Ok(got
        .elements()
        .iter()
        .map(|e| {
            let o = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (e.partition(), o)
        })
        .collect())
}

fn detach(m: &BorrowedMessage<'_>) -> OwnedMessage {
    m.detach()
}

fn commit(consumer: &Consumer_, mode: CommitMode) {
    if let Err(e) = consumer.commit_consumer_state(mode) {
        if !is_no_offset(&e) {
            tracing::warn!(error = %e, "commit failed");
        }
    }
}

async fn worker<T, H, Fut>(
    shared: Arc<Shared<T, H>>,
    partition: i32,
    mut rx: mpsc::Receiver<Dispatched>,
) where
    T: TdaTopic,
    H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
{
    // Finished offsets are stored in batches: when the queue runs dry, every
    // STORE_BATCH records and before the worker stops. Storing only ever
    // follows finished work; a record finished but not yet stored when its
    // partition is revoked is redelivered (at-least-once).
    const STORE_BATCH: u32 = 256;
    let store = |last: Option<(i64, u64)>| {
        if let Some((offset, generation)) = last {
            if shared.generations.get(partition) == generation {
                if let Err(e) = shared
                    .consumer
                    .store_offset(&shared.topic, partition, offset)
                {
                    tracing::warn!(error = %e, partition, offset, "offset not stored");
                }
            }
        }
    };
    let mut last_done: Option<(i64, u64)> = None;
    let mut unstored = 0u32;
    loop {
        let next = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(mpsc::error::TryRecvError::Empty) => {
                store(last_done.take());
                unstored = 0;
                rx.recv().await
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        let Some((msg, generation)) = next else { break };
        if shared.shutdown.is_cancelled() {
            break;
        }
        if shared.generations.get(partition) != generation {
            // Revoked since it was fetched; the new owner will handle it.
            continue;
        }
        let permit = match shared.permits.acquire().await {
            Ok(p) => p,
            Err(_) => break,
        };
        let outcome = process(&shared, &msg).await;
        drop(permit);
        match outcome {
            Outcome::Done => {
                last_done = Some((msg.offset(), generation));
                unstored += 1;
                if unstored >= STORE_BATCH {
                    store(last_done.take());
                    unstored = 0;
                }
            }
            Outcome::Abandoned => break,
        }
    }
    store(last_done.take());
}

/// Sleeps for `d` unless shutdown comes first (then returns false).
async fn backoff(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

async fn decode<T: TdaTopic>(codec: &Codec, msg: &OwnedMessage) -> Result<Received<T>> {
    let key = msg.key().map(T::Key::from_key_bytes).transpose()?;
    let value = codec
        .decode::<T::Value>(msg.payload().unwrap_or_default())
        .await?;
    Ok(Received {
        key,
        value,
        headers: StandardHeaders::from_kafka(msg.headers()),
        topic: msg.topic().to_owned(),
        partition: msg.partition(),
        offset: msg.offset(),
    })
}

async fn process<T, H, Fut>(shared: &Shared<T, H>, msg: &OwnedMessage) -> Outcome
where
    T: TdaTopic,
    H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
{
    let mut attempt = 0u32;
    loop {
        let received = match decode::<T>(&shared.codec, msg).await {
            Ok(r) => r,
            Err(e) => match e.poison_kind() {
                Some(kind) => return dead_letter(shared, msg, kind.as_str(), &e.to_string()).await,
                None => {
                    // e.g. the registry is unreachable: not the record's fault.
                    tracing::warn!(error = %e, "decode failed, retrying");
                    shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                    if !backoff(&shared.shutdown, shared.retry.backoff(attempt)).await {
                        return Outcome::Abandoned;
                    }
                    attempt = attempt.saturating_add(1);
                    continue;
                }
            },
        };
        match (shared.handler)(received).await {
            Ok(()) => {
                shared.counters.processed.fetch_add(1, Ordering::Relaxed);
                return Outcome::Done;
            }
            Err(HandlerError::Permanent(m)) => {
                return dead_letter(shared, msg, error_kind::HANDLER_PERMANENT, &m).await
            }
            Err(HandlerError::Retriable(m)) => {
                if attempt >= shared.retry.max_retries {
                    let m = format!("after {} attempts: {m}", attempt + 1);
                    return dead_letter(shared, msg, error_kind::RETRIES_EXHAUSTED, &m).await;
                }
                shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                if !backoff(&shared.shutdown, shared.retry.backoff(attempt)).await {
                    return Outcome::Abandoned;
                }
                attempt += 1;
            }
        }
    }
}

/// Writes the record to the dead-letter topic; retries until it is
/// acknowledged (the offset must not be committed before) or shutdown.
async fn dead_letter<T: TdaTopic, H>(
    shared: &Shared<T, H>,
    msg: &OwnedMessage,
    kind: &str,
    message: &str,
) -> Outcome {
    let record = ErrorRecord {
        source_service: shared.service.clone(),
        error_kind: kind.to_owned(),
        message: message.to_owned(),
        origin: Some(ErrorOrigin {
            topic: msg.topic().to_owned(),
            partition: msg.partition(),
            offset: msg.offset(),
        }),
        original_payload: msg.payload().map(<[u8]>::to_vec),
        occurred_at_ms: now_ms(),
    };
    let key = msg
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .unwrap_or_default();
    let mut options = SendOptions::default();
    if let Some(c) = msg
        .headers()
        .and_then(|h| headers::header_str(h, headers::CORRELATION_ID))
    {
        options.correlation_id = Some(c.to_owned());
    }
    options.extra_headers = vec![
        (headers::ORIGIN_TOPIC.into(), msg.topic().to_owned()),
        (
            headers::ORIGIN_PARTITION.into(),
            msg.partition().to_string(),
        ),
        (headers::ORIGIN_OFFSET.into(), msg.offset().to_string()),
        (headers::ERROR_KIND.into(), kind.to_owned()),
        (headers::ERROR_MESSAGE.into(), message.to_owned()),
    ];
    let mut attempt = 0;
    loop {
        match shared
            .dead_letters
            .send_with(&shared.dead_letter_topic, &key, &record, &options)
            .await
        {
            Ok(_) => {
                shared
                    .counters
                    .dead_lettered
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    topic = msg.topic(),
                    partition = msg.partition(),
                    offset = msg.offset(),
                    kind,
                    "record dead-lettered"
                );
                return Outcome::Done;
            }
            Err(e) => {
                shared
                    .counters
                    .dead_letter_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "dead-letter write failed; offset not committed");
                if !backoff(&shared.shutdown, shared.retry.backoff(attempt)).await {
                    return Outcome::Abandoned;
                }
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
    }
}
