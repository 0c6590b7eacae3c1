//! The records fetched but not finished: queued per partition in offset
//! order, at most one of a partition in flight and `max` in flight in all.
//! Records in flight are futures polled by [`run`](super::TdaConsumer::run)
//! itself, on the records borrowed from librdkafka: nothing is copied, sent
//! to another task or woken across threads.

use std::collections::{HashMap, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use rdkafka::message::BorrowedMessage;
use rdkafka::Message;

use super::process::Finished;

/// Records queued per partition before the consumer stops fetching until
/// the partition catches up.
pub(super) const QUEUED_PER_PARTITION: usize = 256;

/// A fetched record and its partition's generation when it was fetched.
type Queued<'a> = (BorrowedMessage<'a>, u64);

/// Per-partition queues and the futures in flight (`F`: one record being
/// handled, see [`super::process::handle`]).
pub(super) struct InFlight<'a, F> {
    /// `max` places for a record in flight, allocated once and reused.
    slots: Vec<Pin<Box<Option<F>>>>,
    /// The partition of each slot's record (`None`: the slot is free).
    owners: Vec<Option<i32>>,
    /// The slot polled first next time (so that no slot starves).
    first: usize,
    queued: HashMap<i32, VecDeque<Queued<'a>>>,
    /// Partitions with queued records and none in flight, oldest first.
    ready: VecDeque<i32>,
}

impl<'a, F: Future<Output = Finished<'a>>> InFlight<'a, F> {
    /// At most `max` records (of as many partitions) in flight.
    pub(super) fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            slots: (0..max).map(|_| Box::pin(None)).collect(),
            owners: vec![None; max],
            first: 0,
            queued: HashMap::new(),
            ready: VecDeque::new(),
        }
    }

    /// Queues `msg` behind the earlier records of its partition.
    pub(super) fn queue(&mut self, msg: BorrowedMessage<'a>, generation: u64) {
        let partition = msg.partition();
        let queue = self.queued.entry(partition).or_default();
        if queue.is_empty() && !self.owners.contains(&Some(partition)) {
            self.ready.push_back(partition);
        }
        queue.push_back((msg, generation));
    }

    /// True when a partition has [`QUEUED_PER_PARTITION`] records waiting.
    pub(super) fn is_full(&self) -> bool {
        self.queued
            .values()
            .any(|q| q.len() >= QUEUED_PER_PARTITION)
    }

    /// Whether a record is being handled.
    pub(super) fn is_running(&self) -> bool {
        self.owners.iter().any(Option::is_some)
    }

    /// Starts the next record of waiting partitions while a slot is free.
    pub(super) fn start(&mut self, mut handle: impl FnMut(BorrowedMessage<'a>, u64) -> F) {
        while let Some(free) = self.owners.iter().position(Option::is_none) {
            let Some(partition) = self.ready.pop_front() else {
                return;
            };
            let Some((msg, generation)) = self
                .queued
                .get_mut(&partition)
                .and_then(VecDeque::pop_front)
            else {
                continue;
            };
            self.owners[free] = Some(partition);
            self.slots[free].set(Some(handle(msg, generation)));
        }
    }

    /// The next record that finished (`None` when none is in flight); its
    /// partition's next record may start.
    pub(super) async fn next_finished(&mut self) -> Option<Finished<'a>> {
        if !self.is_running() {
            return None;
        }
        let (i, finished) = poll_fn(|cx| {
            let n = self.slots.len();
            for k in 0..n {
                let i = (self.first + k) % n;
                if let Some(f) = self.slots[i].as_mut().as_pin_mut() {
                    if let Poll::Ready(finished) = f.poll(cx) {
                        return Poll::Ready((i, finished));
                    }
                }
            }
            Poll::Pending
        })
        .await;
        self.slots[i].set(None);
        self.first = (i + 1) % self.slots.len();
        if let Some(partition) = self.owners[i].take() {
            if self.queued.get(&partition).is_some_and(|q| !q.is_empty()) {
                self.ready.push_back(partition);
            }
        }
        Some(finished)
    }

    /// Drops the records not started (their offsets were never stored, so
    /// they are redelivered).
    pub(super) fn drop_queued(&mut self) {
        self.queued.clear();
        self.ready.clear();
    }
}
