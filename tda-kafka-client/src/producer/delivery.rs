//! Delivery outcomes without a heap allocation per record.
//!
//! Every enqueued record gets a slot in one growable table shared by the
//! producer's librdkafka context and the [`PendingDelivery`] handles; its
//! index is the record's delivery opaque. Slots are reused, so a steady
//! stream of sends allocates nothing per record, and many deliveries
//! outstanding at once do not fragment the heap between librdkafka's own
//! record buffers (the cost a oneshot channel per record showed in the
//! `client-throughput` profile).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use super::{Counters, Delivered};
use crate::error::{ClientError, Result};

/// What librdkafka reported for a record, or that it never will.
#[derive(Debug)]
enum Outcome {
    Written(Delivered),
    Failed(KafkaError),
    /// The producer went away before the record's delivery report.
    Abandoned,
}

#[derive(Debug)]
enum Slot {
    Free,
    /// Enqueued; the waker of the task awaiting it, if any.
    Waiting(Option<Waker>),
    /// Reported, not yet taken by its [`PendingDelivery`].
    Reported(Outcome),
    /// Its [`PendingDelivery`] was dropped: the report only frees the slot.
    Orphaned,
}

#[derive(Debug, Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

impl Table {
    fn release(&mut self, index: usize) {
        self.slots[index] = Slot::Free;
        self.free.push(index);
    }
}

/// The slot table, shared by the context and the pending deliveries.
#[derive(Debug, Default)]
pub(super) struct Deliveries {
    table: Mutex<Table>,
}

impl Deliveries {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table consistent (each
        // operation is one assignment), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a record about to be enqueued; given back when the
    /// reservation is dropped before [`Reservation::keep`].
    pub(super) fn reserve(&self) -> Reservation<'_> {
        let mut t = self.lock();
        let index = match t.free.pop() {
            Some(i) => {
                t.slots[i] = Slot::Waiting(None);
                i
            }
            None => {
                t.slots.push(Slot::Waiting(None));
                t.slots.len() - 1
            }
        };
        Reservation {
            deliveries: self,
            index: Some(index),
        }
    }

    fn report(&self, index: usize, outcome: Outcome) {
        let mut t = self.lock();
        let waker = match std::mem::replace(&mut t.slots[index], Slot::Reported(outcome)) {
            Slot::Waiting(w) => w,
            Slot::Orphaned => {
                t.release(index);
                None
            }
            other => unreachable!("delivery report for slot {index} in state {other:?}"),
        };
        drop(t);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Reports every record still waiting as abandoned (the producer is gone).
    fn abandon_all(&self) {
        let mut wakers = Vec::new();
        let mut t = self.lock();
        for i in 0..t.slots.len() {
            match std::mem::replace(&mut t.slots[i], Slot::Free) {
                Slot::Waiting(w) => {
                    t.slots[i] = Slot::Reported(Outcome::Abandoned);
                    wakers.extend(w);
                }
                Slot::Orphaned => t.free.push(i),
                other => t.slots[i] = other,
            }
        }
        drop(t);
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// A reserved slot whose record librdkafka has not accepted yet.
pub(super) struct Reservation<'a> {
    deliveries: &'a Deliveries,
    index: Option<usize>,
}

impl Reservation<'_> {
    pub(super) fn index(&self) -> usize {
        self.index.expect("a reservation holds its slot until kept")
    }

    /// The record was accepted: its delivery report will free the slot.
    pub(super) fn keep(mut self) -> usize {
        self.index.take().expect("a reservation is kept once")
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.index {
            self.deliveries.lock().release(i);
        }
    }
}

/// The librdkafka context of [`super::TdaProducer`]: files delivery reports
/// into the slot table.
pub(super) struct DeliveryContext {
    pub(super) deliveries: Arc<Deliveries>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let outcome = match result {
            Ok(m) => Outcome::Written(Delivered {
                partition: m.partition(),
                offset: m.offset(),
            }),
            Err((e, _)) => Outcome::Failed(e.clone()),
        };
        self.deliveries.report(index, outcome);
    }
}

impl Drop for DeliveryContext {
    fn drop(&mut self) {
        // librdkafka purged and reported what it could when the producer
        // was dropped; nothing will report the rest.
        self.deliveries.abandon_all();
    }
}

/// An enqueued record whose acknowledgement has not arrived yet.
///
/// Resolves to [`Delivered`], to [`ClientError::SendFailed`] when it was
/// definitely not written, or to [`ClientError::OutcomeUnknown`] when it may
/// have been (a timeout, a broker that went away after the request). Dropping
/// it unawaited counts the record as outcome-unknown and `dropped` in
/// [`super::ProducerStats`].
#[must_use = "a pending delivery reports the outcome only when awaited"]
pub struct PendingDelivery {
    pub(super) topic: Arc<str>,
    pub(super) index: usize,
    pub(super) deliveries: Arc<Deliveries>,
    pub(super) counters: Arc<Counters>,
    pub(super) done: bool,
}

impl std::fmt::Debug for PendingDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDelivery")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Future for PendingDelivery {
    type Output = Result<Delivered>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "PendingDelivery polled after it resolved");
        let outcome = {
            let mut t = self.deliveries.lock();
            match &mut t.slots[self.index] {
                Slot::Waiting(w) => {
                    match w {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *w = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                Slot::Reported(_) => {
                    let Slot::Reported(o) = std::mem::replace(&mut t.slots[self.index], Slot::Free)
                    else {
                        unreachable!()
                    };
                    t.free.push(self.index);
                    o
                }
                other => unreachable!("pending delivery in slot state {other:?}"),
            }
        };
        let out = match outcome {
            Outcome::Written(d) => Ok(d),
            Outcome::Failed(e) => Err(delivery_error(&self.topic, e)),
            Outcome::Abandoned => Err(ClientError::OutcomeUnknown {
                topic: self.topic.to_string(),
                reason: "the producer was dropped before the acknowledgement".into(),
            }),
        };
        self.done = true;
        let c = &self.counters;
        c.in_flight.fetch_sub(1, Ordering::Relaxed);
        match &out {
            Ok(_) => c.sent.fetch_add(1, Ordering::Relaxed),
            Err(e) if e.is_outcome_unknown() => c.outcome_unknown.fetch_add(1, Ordering::Relaxed),
            Err(_) => c.failed.fetch_add(1, Ordering::Relaxed),
        };
        Poll::Ready(out)
    }
}

impl Drop for PendingDelivery {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        {
            let mut t = self.deliveries.lock();
            match t.slots[self.index] {
                Slot::Reported(_) => t.release(self.index),
                _ => t.slots[self.index] = Slot::Orphaned,
            }
        }
        // Nobody will see the outcome any more: librdkafka may still write
        // the record, so it is outcome-unknown, and counted.
        let c = &self.counters;
        c.in_flight.fetch_sub(1, Ordering::Relaxed);
        c.outcome_unknown.fetch_add(1, Ordering::Relaxed);
        c.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            topic = %self.topic,
            "a pending delivery was dropped before its outcome arrived; counted as outcome-unknown"
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    #[derive(Default)]
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn pending(deliveries: &Arc<Deliveries>, counters: &Arc<Counters>) -> PendingDelivery {
        counters.in_flight.fetch_add(1, Ordering::Relaxed);
        PendingDelivery {
            topic: Arc::from("t"),
            index: deliveries.reserve().keep(),
            deliveries: deliveries.clone(),
            counters: counters.clone(),
            done: false,
        }
    }

    fn poll(p: &mut PendingDelivery, flag: &Arc<Flag>) -> Poll<Result<Delivered>> {
        let waker = Waker::from(flag.clone());
        Pin::new(p).poll(&mut Context::from_waker(&waker))
    }

    const AT: Delivered = Delivered {
        partition: 1,
        offset: 7,
    };

    #[test]
    fn a_report_wakes_the_awaiting_task_and_the_slot_is_reused() {
        let (d, c) = (
            Arc::new(Deliveries::default()),
            Arc::new(Counters::default()),
        );
        let flag = Arc::new(Flag::default());
        let mut first = pending(&d, &c);
        assert!(poll(&mut first, &flag).is_pending());
        d.report(first.index, Outcome::Written(AT));
        assert!(
            flag.0.load(Ordering::SeqCst),
            "the report must wake the task"
        );
        assert!(matches!(poll(&mut first, &flag), Poll::Ready(Ok(at)) if at == AT));
        // Reported before it is awaited, in the freed slot.
        let mut second = pending(&d, &c);
        assert_eq!(second.index, first.index);
        d.report(
            second.index,
            Outcome::Failed(KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageSizeTooLarge,
            )),
        );
        assert!(matches!(
            poll(&mut second, &flag),
            Poll::Ready(Err(ClientError::SendFailed { .. }))
        ));
        let s = (
            c.sent.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
        );
        assert_eq!(s, (1, 1));
        assert_eq!(c.in_flight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_dropped_handle_frees_its_slot_when_the_report_arrives() {
        let (d, c) = (
            Arc::new(Deliveries::default()),
            Arc::new(Counters::default()),
        );
        let dropped = pending(&d, &c);
        let index = dropped.index;
        drop(dropped);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(c.outcome_unknown.load(Ordering::Relaxed), 1);
        // Still in librdkafka's hands: the slot is not reused yet.
        assert_ne!(d.reserve().index(), index);
        d.report(index, Outcome::Written(AT));
        assert_eq!(d.reserve().index(), index);
        // A reservation dropped unkept (the record was not accepted) gives
        // its slot back at once.
        let unkept = d.reserve().index();
        assert_eq!(d.reserve().index(), unkept);
    }

    #[test]
    fn records_still_waiting_when_the_producer_goes_are_outcome_unknown() {
        let (d, c) = (
            Arc::new(Deliveries::default()),
            Arc::new(Counters::default()),
        );
        let flag = Arc::new(Flag::default());
        let mut waiting = pending(&d, &c);
        assert!(poll(&mut waiting, &flag).is_pending());
        drop(DeliveryContext {
            deliveries: d.clone(),
        });
        assert!(flag.0.load(Ordering::SeqCst));
        match poll(&mut waiting, &flag) {
            Poll::Ready(Err(e)) => assert!(e.is_outcome_unknown(), "{e}"),
            other => panic!("expected outcome-unknown, got {other:?}"),
        }
    }

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
