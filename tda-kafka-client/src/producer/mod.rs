//! The typed, idempotent producer.

mod delivery;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

pub use self::delivery::PendingDelivery;
use self::delivery::{Deliveries, DeliveryContext};

use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::headers::send_headers;
use crate::model::TdaMessage;
use crate::settings::ClientSettings;
use crate::topic::{MessageKey, TdaTopic, Topic};

/// Every this many enqueued records, the sender serves the delivery reports
/// librdkafka has queued (see [`TdaProducer::enqueue_raw`]).
pub const SERVE_DELIVERIES_EVERY: u64 = 64;

/// Where a record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// Per-send options.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// Correlation (trace) id to put in the `tda-correlation-id` header.
    pub correlation_id: Option<String>,
    /// Additional headers.
    pub extra_headers: Vec<(String, String)>,
}

impl SendOptions {
    /// Options with a correlation id.
    pub fn correlated(id: impl Into<String>) -> Self {
        Self {
            correlation_id: Some(id.into()),
            extra_headers: Vec::new(),
        }
    }
}

/// Producer counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProducerStats {
    /// Records acknowledged by the brokers.
    pub sent: u64,
    /// Records definitely not written ([`ClientError::SendFailed`]).
    pub failed: u64,
    /// Records that may or may not have been written: a delivery reported
    /// [`ClientError::OutcomeUnknown`], or its [`PendingDelivery`] was
    /// dropped before it was awaited (see `dropped`).
    pub outcome_unknown: u64,
    /// Of `outcome_unknown`: pending deliveries dropped without being awaited,
    /// so nobody saw their outcome.
    pub dropped: u64,
    /// Records enqueued whose outcome has not been reported yet.
    pub in_flight: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    outcome_unknown: AtomicU64,
    dropped: AtomicU64,
    in_flight: AtomicU64,
    /// Records librdkafka accepted, ever (paces the delivery serving).
    enqueued: AtomicU64,
}

/// A typed producer for the TDA topics.
///
/// Cloning is cheap and shares the underlying librdkafka producer.
#[derive(Clone)]
pub struct TdaProducer {
    inner: Arc<ThreadedProducer<DeliveryContext>>,
    deliveries: Arc<Deliveries>,
    codec: Codec,
    counters: Arc<Counters>,
    enqueue_timeout: Duration,
}

impl std::fmt::Debug for TdaProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TdaProducer")
            .field("codec", &self.codec)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl TdaProducer {
    /// Creates a producer (acks=all, idempotent, lz4, bounded in-flight).
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        let deliveries = Arc::new(Deliveries::default());
        let context = DeliveryContext {
            deliveries: deliveries.clone(),
        };
        let inner: ThreadedProducer<DeliveryContext> = settings
            .producer_config()
            .create_with_context(context)
            .map_err(|source| ClientError::Kafka {
                operation: "create producer",
                source,
            })?;
        Ok(Self {
            inner: Arc::new(inner),
            deliveries,
            codec: settings.codec().clone(),
            counters: Arc::default(),
            enqueue_timeout: settings.delivery_timeout(),
        })
    }

    /// The value encoding.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Sends one record and waits for the brokers' acknowledgement.
    pub async fn send<T: TdaTopic>(
        &self,
        topic: &Topic<T>,
        key: &T::Key,
        value: &T::Value,
    ) -> Result<Delivered> {
        self.enqueue(topic, key, value, &SendOptions::default())
            .await?
            .await
    }

    /// Like [`send`](Self::send) with a correlation id and extra headers.
    pub async fn send_with<T: TdaTopic>(
        &self,
        topic: &Topic<T>,
        key: &T::Key,
        value: &T::Value,
        options: &SendOptions,
    ) -> Result<Delivered> {
        self.enqueue(topic, key, value, options).await?.await
    }

    /// The pipelined path: encodes and enqueues the record, and returns as soon
    /// as librdkafka has accepted it. Await the returned [`PendingDelivery`]
    /// (later, e.g. after enqueuing many) for the acknowledgement.
    pub async fn enqueue<T: TdaTopic>(
        &self,
        topic: &Topic<T>,
        key: &T::Key,
        value: &T::Value,
        options: &SendOptions,
    ) -> Result<PendingDelivery> {
        let payload = self.codec.encode(topic.name(), value).await?;
        let headers = send_headers(
            self.codec.content_type(),
            <T::Value as TdaMessage>::SCHEMA_VERSION,
            options.correlation_id.as_deref(),
            &options.extra_headers,
        );
        let key = key.to_key_bytes();
        self.enqueue_to(topic.shared_name(), Some(&key), &payload, headers)
            .await
    }

    /// Sends many records of one topic, pipelined, and returns every outcome
    /// in input order.
    pub async fn send_batch<T: TdaTopic>(
        &self,
        topic: &Topic<T>,
        records: &[(T::Key, T::Value)],
    ) -> Vec<Result<Delivered>> {
        let mut pending = Vec::with_capacity(records.len());
        for (k, v) in records {
            pending.push(self.enqueue(topic, k, v, &SendOptions::default()).await);
        }
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(match p {
                Ok(p) => p.await,
                Err(e) => Err(e),
            });
        }
        out
    }

    /// Enqueues pre-encoded bytes (used for dead letters and by tests).
    pub async fn enqueue_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<PendingDelivery> {
        self.enqueue_to(&Arc::from(topic), key, payload, headers)
            .await
    }

    async fn enqueue_to(
        &self,
        topic: &Arc<str>,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<PendingDelivery> {
        // Given back if the record is not accepted, including when this
        // future is dropped while it waits for queue space.
        let slot = self.deliveries.reserve();
        let index = slot.index();
        let mut record = BaseRecord::with_opaque_to(topic, index)
            .payload(payload)
            .headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        let deadline = Instant::now() + self.enqueue_timeout;
        loop {
            match self.inner.send(record) {
                Ok(()) => {
                    self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
                    let n = self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                    if n.is_multiple_of(SERVE_DELIVERIES_EVERY) {
                        // Serve queued delivery reports on the sending
                        // thread (never blocks): librdkafka then frees the
                        // acknowledged records on the thread that allocated
                        // them, instead of contending for the allocator with
                        // the polling thread. That thread still serves them
                        // when nobody sends.
                        self.inner.poll(Duration::ZERO);
                    }
                    return Ok(PendingDelivery {
                        topic: topic.clone(),
                        index: slot.keep(),
                        deliveries: self.deliveries.clone(),
                        counters: self.counters.clone(),
                        done: false,
                    });
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    // The local queue is full: wait for deliveries to drain it.
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((source, _)) => {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(ClientError::SendFailed {
                        topic: topic.to_string(),
                        source,
                    });
                }
            }
        }
    }

    /// The counters: sent, failed, outcome unknown (and dropped), in flight.
    /// Every enqueued record ends in exactly one of sent, failed and
    /// outcome unknown.
    pub fn stats(&self) -> ProducerStats {
        ProducerStats {
            sent: self.counters.sent.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            outcome_unknown: self.counters.outcome_unknown.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            in_flight: self.counters.in_flight.load(Ordering::Relaxed),
        }
    }

    /// Records and requests librdkafka still holds (its out-queue length).
    pub fn queue_len(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// Waits until every enqueued record has been acknowledged or failed.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.flush(timeout))
            .await
            .map_err(|e| ClientError::Config {
                detail: format!("flush task: {e}"),
            })?
            .map_err(|source| ClientError::Kafka {
                operation: "flush",
                source,
            })
    }

    /// Flushes and drops the producer, returning the final counters.
    pub async fn close(self, timeout: Duration) -> Result<ProducerStats> {
        self.flush(timeout).await?;
        Ok(self.stats())
    }
}
