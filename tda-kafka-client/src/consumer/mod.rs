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
//! - Every retry loop is bounded by a [`RetryPolicy`]; when one runs out, a
//!   partition worker dies, a fatal consumer error arrives or the final commit
//!   fails, [`TdaConsumer::run`] stops (finishing and committing what was
//!   finished elsewhere) and returns the error: it never returns `Ok` after
//!   dropping records.
//!
//! Modules: `options` (what the caller configures and reads), `context`
//! (rebalances, error classification), `process` (one record, one worker).

mod context;
mod options;
mod process;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::producer::TdaProducer;
use crate::settings::ClientSettings;
use crate::topic::{Errors, TdaTopic, Topic};

pub use context::TdaConsumerContext;
use context::{is_fatal_consumer_error, is_no_offset, Generations};
pub use options::{
    ConsumerCounters, ConsumerOptions, ConsumerStats, HandlerError, Received, RetryPolicy,
};
use process::{backoff, process, worker, Dispatched, Outcome};

type Consumer_ = StreamConsumer<TdaConsumerContext>;

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
    /// finishes the records being handled, commits and returns the counters.
    ///
    /// Returns an error (after finishing and committing the work that did
    /// finish) when a record cannot be finished within its retry policy
    /// ([`ClientError::RetriesExhausted`]: decoding while the registry is
    /// unavailable, or a dead-letter write), a handler panics or a partition
    /// worker dies ([`ClientError::WorkerFailed`]), librdkafka reports a
    /// fatal consumer error, or the final commit fails. The failed record's
    /// offset is not committed, so it is redelivered to the next run.
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
            decode_retry: self.options.decode_retry.clone(),
            dead_letter_retry: self.options.dead_letter_retry.clone(),
            handler,
            permits: Semaphore::new(self.options.max_concurrency.max(1)),
            counters: self.counters.clone(),
            stop: shutdown.child_token(),
            failure: Mutex::new(None),
            _kind: std::marker::PhantomData,
        });
        let stop = shared.stop.clone();
        let mut workers: HashMap<i32, Worker> = HashMap::new();
        let inline = self.options.max_concurrency <= 1;
        let mut tick = tokio::time::interval(self.options.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut transient = 0u32;
        let error_backoff = RetryPolicy::new(0, Duration::from_millis(100), Duration::from_secs(5));
        // One cancellation future for the whole run: a new one per record
        // would register and unregister a waiter (two locks) every time.
        let stopped = stop.cancelled();
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = tick.tick() => commit_async(&self.consumer),
                m = self.consumer.recv() => {
                    let msg = match m {
                        Ok(m) => {
                            transient = 0;
                            m
                        }
                        Err(e) if is_fatal_consumer_error(&e) => {
                            shared.fail(ClientError::Kafka { operation: "consume", source: e });
                            break;
                        }
                        Err(e) => {
                            // librdkafka recovers by itself (reconnects,
                            // refreshes metadata); wait a little, keep polling.
                            ConsumerCounters::add(&shared.counters.transient_errors);
                            tracing::warn!(error = %e, topic = self.topic.name(), "transient consumer error");
                            if !backoff(&stop, error_backoff.backoff(transient)).await {
                                break;
                            }
                            transient = transient.saturating_add(1);
                            continue;
                        }
                    };
                    let partition = msg.partition();
                    let generation = self.generations.get(partition);
                    if inline {
                        // One record at a time: handle it here, borrowed
                        // from librdkafka: no hand-off, no copy.
                        match process(&shared, &msg).await {
                            Outcome::Done => {
                                shared.store_message(&msg, generation);
                                continue;
                            }
                            Outcome::Abandoned => break,
                            Outcome::Failed(e) => {
                                shared.fail(e);
                                break;
                            }
                        }
                    }
                    let owned: OwnedMessage = msg.detach();
                    drop(msg);
                    let (tx, _) = workers.entry(partition).or_insert_with(|| {
                        let (tx, rx) = mpsc::channel(256);
                        let handle = tokio::spawn(worker(shared.clone(), partition, rx));
                        (tx, handle)
                    });
                    let sent = tokio::select! {
                        _ = &mut stopped => break,
                        r = tx.send((owned, generation)) => r,
                    };
                    if sent.is_err() {
                        // The worker ended on its own; it reported why
                        // (Shared::fail) unless its task died outright.
                        if let Some((_, handle)) = workers.remove(&partition) {
                            if let Err(e) = handle.await {
                                shared.fail(join_error(&shared.topic, partition, e));
                            }
                        }
                        if stop.is_cancelled() {
                            // A worker stops cleanly only on shutdown (or
                            // after recording its failure, which cancels
                            // too): a send that lost the race with the
                            // shutdown is not a failure of its own.
                            break;
                        }
                        shared.fail(ClientError::WorkerFailed {
                            topic: shared.topic.clone(),
                            partition,
                            detail: "the partition worker stopped".into(),
                        });
                        break;
                    }
                }
            }
        }
        // Stop feeding the workers, let them finish what they hold.
        for (partition, (tx, handle)) in workers {
            drop(tx);
            if let Err(e) = handle.await {
                shared.fail(join_error(&shared.topic, partition, e));
            }
        }
        let failure = shared.failure.lock().expect("failure slot poisoned").take();
        let committed = match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Err(e) if !is_no_offset(&e) => Err(ClientError::Kafka {
                operation: "final commit",
                source: e,
            }),
            _ => Ok(()),
        };
        match (failure, committed) {
            (Some(e), Err(c)) => {
                tracing::error!(error = %c, "final commit failed too");
                Err(e)
            }
            (Some(e), Ok(())) => Err(e),
            (None, Err(c)) => Err(c),
            (None, Ok(())) => Ok(shared.counters.snapshot()),
        }
    }
}

/// What the dispatcher and the partition workers of one run share.
pub(crate) struct Shared<T: TdaTopic, H> {
    consumer: Arc<Consumer_>,
    generations: Arc<Generations>,
    topic: String,
    codec: Codec,
    dead_letters: TdaProducer,
    dead_letter_topic: Topic<Errors>,
    service: String,
    retry: RetryPolicy,
    decode_retry: RetryPolicy,
    dead_letter_retry: RetryPolicy,
    handler: H,
    permits: Semaphore,
    counters: Arc<ConsumerCounters>,
    /// Cancelled on the caller's shutdown or on the first failure.
    stop: CancellationToken,
    /// The first error that ended the run.
    failure: Mutex<Option<ClientError>>,
    _kind: std::marker::PhantomData<fn() -> T>,
}

impl<T: TdaTopic, H> Shared<T, H> {
    /// Records the error that ends the run (the first one wins) and stops.
    pub(super) fn fail(&self, e: ClientError) {
        tracing::error!(error = %e, topic = %self.topic, "consumer stopping");
        self.failure
            .lock()
            .expect("failure slot poisoned")
            .get_or_insert(e);
        self.stop.cancel();
    }
}

/// A partition worker's channel and task.
type Worker = (mpsc::Sender<Dispatched>, JoinHandle<()>);

/// A worker task that ended abnormally (cancelled or a panic that escaped
/// its own guard).
fn join_error(topic: &str, partition: i32, e: tokio::task::JoinError) -> ClientError {
    ClientError::WorkerFailed {
        topic: topic.to_owned(),
        partition,
        detail: format!("the partition worker task ended: {e}"),
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

/// The periodic commit: a failure is logged, the next tick tries again
/// (the final commit of [`TdaConsumer::run`] is checked).
fn commit_async(consumer: &Consumer_) {
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Async) {
        if !is_no_offset(&e) {
            tracing::warn!(error = %e, "periodic commit failed; retried at the next interval");
        }
    }
}
