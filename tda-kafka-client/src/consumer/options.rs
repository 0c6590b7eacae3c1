//! What a consumer is told (options, retry policies) and what it reports
//! (the record handed to a handler, handler errors, counters).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::headers::StandardHeaders;
use crate::topic::{Errors, TdaTopic};

/// A bounded retry policy: how often and how far apart an operation is
/// tried again before the consumer gives up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt; then the operation is given up
    /// (a handler's record is dead-lettered as `retries_exhausted`; a decode
    /// or dead-letter write makes [`TdaConsumer::run`](super::TdaConsumer::run)
    /// fail).
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
    /// `max_retries` retries, backing off from `initial` doubling up to `max`.
    pub fn new(max_retries: u32, initial: Duration, max: Duration) -> Self {
        Self {
            max_retries,
            initial_backoff: initial,
            max_backoff: max,
        }
    }

    /// The default for decoding while the registry is unavailable: 30
    /// retries from 200 ms up to 10 s apart (about four and a half minutes
    /// of waiting, so a registry restart never dead-letters anything).
    pub fn registry_default() -> Self {
        Self::new(30, Duration::from_millis(200), Duration::from_secs(10))
    }

    /// The default for dead-letter writes: 20 retries from 100 ms up to
    /// 10 s apart (about three minutes).
    pub fn dead_letter_default() -> Self {
        Self::new(20, Duration::from_millis(100), Duration::from_secs(10))
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// Whether `attempt` (0 = the first try) was the last one allowed.
    pub(crate) fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_retries
    }
}

/// Consumer options.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// The consumer group.
    pub group_id: String,
    /// Partitions handled at the same time (1 = one record at a time). Their
    /// handlers' futures run concurrently on the task of
    /// [`run`](super::TdaConsumer::run), so handlers that await (I/O)
    /// overlap; a CPU-heavy handler should spawn its work to use more cores.
    pub max_concurrency: usize,
    /// Retry policy for retriable handler errors.
    pub retry: RetryPolicy,
    /// Retry policy for decoding while the schema registry is unavailable
    /// (never dead-lettered; exhaustion fails [`run`](super::TdaConsumer::run)).
    pub decode_retry: RetryPolicy,
    /// Retry policy for dead-letter writes (exhaustion fails
    /// [`run`](super::TdaConsumer::run); the record stays uncommitted).
    pub dead_letter_retry: RetryPolicy,
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
            decode_retry: RetryPolicy::registry_default(),
            dead_letter_retry: RetryPolicy::dead_letter_default(),
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

    /// Use `retry` while decoding fails for reasons that are not the
    /// record's (the registry is unreachable or answers errors).
    pub fn with_decode_retry(mut self, retry: RetryPolicy) -> Self {
        self.decode_retry = retry;
        self
    }

    /// Use `retry` for dead-letter writes.
    pub fn with_dead_letter_retry(mut self, retry: RetryPolicy) -> Self {
        self.dead_letter_retry = retry;
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
    /// Decode attempts that failed for reasons that are not the record's
    /// (registry unavailable), each retried.
    pub decode_retries: u64,
    /// Transient consumer errors (broker down, ...) that were logged and
    /// waited out.
    pub transient_errors: u64,
}

/// Live counters of a running consumer (see [`TdaConsumer::stats_handle`](super::TdaConsumer::stats_handle)).
#[derive(Debug, Default)]
pub struct ConsumerCounters {
    pub(crate) processed: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dead_letter_failures: AtomicU64,
    pub(crate) decode_retries: AtomicU64,
    pub(crate) transient_errors: AtomicU64,
}

impl ConsumerCounters {
    /// The current values.
    pub fn snapshot(&self) -> ConsumerStats {
        ConsumerStats {
            processed: self.processed.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dead_letter_failures: self.dead_letter_failures.load(Ordering::Relaxed),
            decode_retries: self.decode_retries.load(Ordering::Relaxed),
            transient_errors: self.transient_errors.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
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
        assert!(!p.exhausted(2));
        assert!(p.exhausted(3));
    }
}
