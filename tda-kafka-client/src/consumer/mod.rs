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
//!   handler panics, a fatal consumer error arrives or the final commit
//!   fails, [`TdaConsumer::run`] stops (finishing and committing what was
//!   finished elsewhere) and returns the error: it never returns `Ok` after
//!   dropping records.
//!
//! Modules: `options` (what the caller configures and reads), `context`
//! (rebalances, error classification), `inflight` (records queued per
//! partition and in flight), `process` (one record).

mod context;
mod inflight;
mod options;
mod process;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::producer::TdaProducer;
use crate::settings::ClientSettings;
use crate::topic::{Errors, TdaTopic, Topic};

pub use context::TdaConsumerContext;
use context::{is_fatal_consumer_error, is_no_offset, Generations};
use inflight::InFlight;
pub use options::{
    ConsumerCounters, ConsumerOptions, ConsumerStats, HandlerError, Received, RetryPolicy,
};
use process::handle;

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
        read_committed(&*self.consumer, self.topic.name(), partitions, timeout)
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
    /// unavailable, or a dead-letter write), a handler panics
    /// ([`ClientError::HandlerPanicked`]), librdkafka reports a
    /// fatal consumer error, or the final commit fails. The failed record's
    /// offset is not committed, so it is redelivered to the next run.
    pub async fn run<H, Fut>(self, handler: H, shutdown: CancellationToken) -> Result<ConsumerStats>
    where
        H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
    {
        let shared = Shared::<T, H> {
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
            counters: self.counters.clone(),
            stop: shutdown.child_token(),
            failure: Mutex::new(None),
            _kind: std::marker::PhantomData,
        };
        let mut in_flight = InFlight::new(self.options.max_concurrency);
        let mut tick = tokio::time::interval(self.options.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut transient = 0u32;
        let error_backoff = RetryPolicy::new(0, Duration::from_millis(100), Duration::from_secs(5));
        // After a transient consumer error, fetching waits (handling does not).
        let mut paused: Option<Pin<Box<tokio::time::Sleep>>> = None;
        // One cancellation future for the whole run: a new one per record
        // would register and unregister a waiter (two locks) every time.
        let stopped = shared.stop.cancelled();
        tokio::pin!(stopped);
        loop {
            in_flight.start(|msg, generation| handle(&shared, msg, generation));
            let fetching = paused.is_none() && !in_flight.is_full();
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                Some(finished) = in_flight.next_finished(), if in_flight.is_running() => {
                    shared.settle(finished);
                }
                _ = tick.tick() => commit_async(&self.consumer),
                _ = async { paused.as_mut().expect("paused").await }, if paused.is_some() => {
                    paused = None;
                }
                m = self.consumer.recv(), if fetching => match m {
                    Ok(msg) => {
                        transient = 0;
                        let generation = self.generations.get(msg.partition());
                        in_flight.queue(msg, generation);
                    }
                    Err(e) if is_fatal_consumer_error(&e) => {
                        shared.fail(ClientError::Kafka { operation: "consume", source: e });
                    }
                    Err(e) => {
                        // librdkafka recovers by itself (reconnects, refreshes
                        // metadata); wait a little, keep polling.
                        ConsumerCounters::add(&shared.counters.transient_errors);
                        tracing::warn!(error = %e, topic = self.topic.name(), "transient consumer error");
                        paused = Some(Box::pin(tokio::time::sleep(error_backoff.backoff(transient))));
                        transient = transient.saturating_add(1);
                    }
                },
            }
        }
        // Finish the records being handled (shutdown makes their retries
        // give up); those not started are redelivered.
        in_flight.drop_queued();
        while let Some(finished) = in_flight.next_finished().await {
            shared.settle(finished);
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

/// What the records of one run being handled share.
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
    read_committed(&consumer, topic, partitions, timeout)
}

/// The group's committed offsets of `topic` for `partitions`, as `consumer`
/// reads them (`None` where nothing was committed).
fn read_committed<C: Consumer<X>, X: ConsumerContext>(
    consumer: &C,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Vec<(i32, Option<i64>)>> {
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
