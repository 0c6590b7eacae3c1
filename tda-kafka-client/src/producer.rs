//! The typed, idempotent producer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::headers::send_headers;
use crate::model::TdaMessage;
use crate::settings::ClientSettings;
use crate::topic::{MessageKey, TdaTopic, Topic};

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
}

/// A typed producer for the TDA topics.
///
/// Cloning is cheap and shares the underlying librdkafka producer.
#[derive(Clone)]
pub struct TdaProducer {
    inner: FutureProducer,
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
        let inner: FutureProducer =
            settings
                .producer_config()
                .create()
                .map_err(|source| ClientError::Kafka {
                    operation: "create producer",
                    source,
                })?;
        Ok(Self {
            inner,
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
        self.enqueue_raw(topic.name(), Some(&key), &payload, headers)
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
        let mut record = FutureRecord::to(topic).payload(payload).headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        let deadline = Instant::now() + self.enqueue_timeout;
        loop {
            match self.inner.send_result(record) {
                Ok(fut) => {
                    self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
                    return Ok(PendingDelivery {
                        topic: topic.to_owned(),
                        fut,
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
                        topic: topic.to_owned(),
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

/// An enqueued record whose acknowledgement has not arrived yet.
///
/// Resolves to [`Delivered`], to [`ClientError::SendFailed`] when it was
/// definitely not written, or to [`ClientError::OutcomeUnknown`] when it may
/// have been (a timeout, a broker that went away after the request). Dropping
/// it unawaited counts the record as outcome-unknown and `dropped` in
/// [`ProducerStats`].
#[must_use = "a pending delivery reports the outcome only when awaited"]
pub struct PendingDelivery {
    topic: String,
    fut: DeliveryFuture,
    counters: Arc<Counters>,
    done: bool,
}

impl std::fmt::Debug for PendingDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDelivery")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// Whether librdkafka's final delivery error means the record was
/// definitely **not** written: the broker rejected the request for a reason
/// that does not depend on timing (too large, invalid, not authorized, no
/// such topic), or it never left the local queue. Every other error
/// (timeouts, a transport failure after the request went out, leader
/// changes, idempotence sequence errors, fatal errors) leaves the outcome
/// unknown: the broker may have appended it.
pub(crate) fn definitely_not_written(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::MessageSizeTooLarge
            | C::InvalidMessageSize
            | C::InvalidMessage
            | C::InvalidRecord
            | C::InvalidTimestamp
            | C::InvalidRequiredAcks
            | C::InvalidTopic
            | C::UnknownTopic
            | C::UnknownPartition
            | C::UnknownTopicOrPartition
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::UnsupportedForMessageFormat
            | C::PolicyViolation
            | C::PurgeQueue
            | C::InvalidArgument
            | C::QueueFull
    )
}

/// Classifies a failed delivery: only a definite "not written" is
/// [`ClientError::SendFailed`]; everything else is outcome-unknown.
pub(crate) fn delivery_error(topic: &str, source: KafkaError) -> ClientError {
    match source.rdkafka_error_code() {
        Some(code) if definitely_not_written(code) => ClientError::SendFailed {
            topic: topic.to_owned(),
            source,
        },
        _ => ClientError::OutcomeUnknown {
            topic: topic.to_owned(),
            reason: source.to_string(),
        },
    }
}

impl Future for PendingDelivery {
    type Output = Result<Delivered>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = match Pin::new(&mut self.fut).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Ok(d))) => Ok(Delivered {
                partition: d.partition,
                offset: d.offset,
            }),
            Poll::Ready(Ok(Err((e, _msg)))) => Err(delivery_error(&self.topic, e)),
            Poll::Ready(Err(_canceled)) => Err(ClientError::OutcomeUnknown {
                topic: self.topic.clone(),
                reason: "the producer was dropped before the acknowledgement".into(),
            }),
        };
        self.done = true;
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        match &out {
            Ok(_) => self.counters.sent.fetch_add(1, Ordering::Relaxed),
            Err(e) if e.is_outcome_unknown() => self
                .counters
                .outcome_unknown
                .fetch_add(1, Ordering::Relaxed),
            Err(_) => self.counters.failed.fetch_add(1, Ordering::Relaxed),
        };
        Poll::Ready(out)
    }
}

impl Drop for PendingDelivery {
    fn drop(&mut self) {
        if !self.done {
            // Nobody will see the outcome any more: librdkafka may still
            // write the record, so it is outcome-unknown, and counted.
            self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            self.counters
                .outcome_unknown
                .fetch_add(1, Ordering::Relaxed);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                topic = %self.topic,
                "a pending delivery was dropped before its outcome arrived; counted as outcome-unknown"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_definite_rejections_are_failures() {
        use RDKafkaErrorCode as C;
        for code in [
            C::MessageTimedOut,
            C::RequestTimedOut,
            C::BrokerTransportFailure,
            C::NetworkException,
            C::NotLeaderForPartition,
            C::NotEnoughReplicasAfterAppend,
            C::OutOfOrderSequenceNumber,
            C::PurgeInflight,
            C::Fatal,
            C::AllBrokersDown,
        ] {
            let e = delivery_error("t", KafkaError::MessageProduction(code));
            assert!(e.is_outcome_unknown(), "{code:?}: {e}");
        }
        for code in [
            C::MessageSizeTooLarge,
            C::TopicAuthorizationFailed,
            C::UnknownTopicOrPartition,
            C::InvalidRecord,
            C::PurgeQueue,
        ] {
            let e = delivery_error("t", KafkaError::MessageProduction(code));
            assert!(matches!(e, ClientError::SendFailed { .. }), "{code:?}: {e}");
        }
    }

    #[test]
    fn timeouts_are_outcome_unknown_not_failures() {
        let e = delivery_error(
            "tda_jobs",
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut),
        );
        assert!(e.is_outcome_unknown(), "{e}");
        assert!(e.to_string().contains("may have been written"));
        let e = delivery_error(
            "tda_jobs",
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
        );
        assert!(!e.is_outcome_unknown());
        assert!(matches!(e, ClientError::SendFailed { .. }));
    }
}
