//! Handling one record: decode (retrying while the registry is unavailable),
//! run the handler (retrying retriable errors), dead-letter poison.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;
use rdkafka::consumer::Consumer;
use rdkafka::message::BorrowedMessage;
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

use super::options::{ConsumerCounters, HandlerError, Received};
use super::Shared;
use crate::codec::Codec;
use crate::error::{ClientError, Result};
use crate::headers::{self, StandardHeaders};
use crate::model::{error_kind, now_ms, ErrorOrigin, ErrorRecord};
use crate::producer::SendOptions;
use crate::topic::{MessageKey, TdaTopic};

/// What became of one record.
pub(super) enum Outcome {
    /// Handled or dead-lettered: store the offset.
    Done,
    /// Shutdown interrupted a retry: leave the offset for redelivery.
    Abandoned,
    /// Its partition was revoked before it started: skipped, not stored.
    Revoked,
    /// It cannot be finished (a retry policy ran out, the handler panicked):
    /// leave the offset and end the run with this error.
    Failed(ClientError),
}

/// The text of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

/// A record that is no longer in flight, with what became of it.
pub(super) struct Finished<'a> {
    pub(super) msg: BorrowedMessage<'a>,
    pub(super) generation: u64,
    pub(super) outcome: Outcome,
}

/// Handles `msg` unless its partition was revoked since it was fetched.
pub(super) async fn handle<'a, T, H, Fut>(
    shared: &Shared<T, H>,
    msg: BorrowedMessage<'a>,
    generation: u64,
) -> Finished<'a>
where
    T: TdaTopic,
    H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
{
    let outcome = if shared.generations.get(msg.partition()) == generation {
        process(shared, &msg).await
    } else {
        // The new owner of the partition handles it.
        Outcome::Revoked
    };
    Finished {
        msg,
        generation,
        outcome,
    }
}

/// Sleeps for `d` unless shutdown comes first (then returns false).
pub(super) async fn backoff(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

async fn decode<T: TdaTopic>(codec: &Codec, msg: &BorrowedMessage<'_>) -> Result<Received<T>> {
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

fn exhausted(
    msg: &BorrowedMessage<'_>,
    what: &'static str,
    attempts: u32,
    e: ClientError,
) -> Outcome {
    Outcome::Failed(ClientError::RetriesExhausted {
        what,
        topic: msg.topic().to_owned(),
        partition: msg.partition(),
        offset: msg.offset(),
        attempts,
        source: Box::new(e),
    })
}

/// Handles one record.
async fn process<T, H, Fut>(shared: &Shared<T, H>, msg: &BorrowedMessage<'_>) -> Outcome
where
    T: TdaTopic,
    H: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
{
    let mut attempt = 0u32;
    let mut decode_attempt = 0u32;
    loop {
        let received = match decode::<T>(&shared.codec, msg).await {
            Ok(r) => r,
            Err(e) => match e.poison_kind() {
                Some(kind) => return dead_letter(shared, msg, kind.as_str(), &e.to_string()).await,
                None => {
                    // e.g. the registry is unreachable: not the record's
                    // fault, so never dead-lettered; bounded, then the run fails.
                    if shared.decode_retry.exhausted(decode_attempt) {
                        return exhausted(msg, "decoding", decode_attempt + 1, e);
                    }
                    tracing::warn!(
                        error = %e,
                        topic = msg.topic(),
                        partition = msg.partition(),
                        offset = msg.offset(),
                        attempt = decode_attempt + 1,
                        "decode failed (not the record's fault), retrying"
                    );
                    ConsumerCounters::add(&shared.counters.decode_retries);
                    if !backoff(&shared.stop, shared.decode_retry.backoff(decode_attempt)).await {
                        return Outcome::Abandoned;
                    }
                    decode_attempt += 1;
                    continue;
                }
            },
        };
        let offset = received.offset;
        let handled = AssertUnwindSafe(async { (shared.handler)(received).await })
            .catch_unwind()
            .await;
        match handled {
            Err(panic) => {
                return Outcome::Failed(ClientError::HandlerPanicked {
                    topic: msg.topic().to_owned(),
                    partition: msg.partition(),
                    detail: format!(
                        "the handler panicked at offset {offset}: {}",
                        panic_message(&*panic)
                    ),
                });
            }
            Ok(Ok(())) => {
                ConsumerCounters::add(&shared.counters.processed);
                return Outcome::Done;
            }
            Ok(Err(HandlerError::Permanent(m))) => {
                return dead_letter(shared, msg, error_kind::HANDLER_PERMANENT, &m).await
            }
            Ok(Err(HandlerError::Retriable(m))) => {
                if shared.retry.exhausted(attempt) {
                    let m = format!("after {} attempts: {m}", attempt + 1);
                    return dead_letter(shared, msg, error_kind::RETRIES_EXHAUSTED, &m).await;
                }
                ConsumerCounters::add(&shared.counters.retries);
                if !backoff(&shared.stop, shared.retry.backoff(attempt)).await {
                    return Outcome::Abandoned;
                }
                attempt += 1;
            }
        }
    }
}

/// Writes the record to the dead-letter topic; retries (bounded by the
/// dead-letter policy) until it is acknowledged, since the offset must not
/// be committed before.
async fn dead_letter<T: TdaTopic, H>(
    shared: &Shared<T, H>,
    msg: &BorrowedMessage<'_>,
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
                ConsumerCounters::add(&shared.counters.dead_lettered);
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
                ConsumerCounters::add(&shared.counters.dead_letter_failures);
                let e = ClientError::DeadLetter {
                    topic: shared.dead_letter_topic.name().to_owned(),
                    source: Box::new(e),
                };
                if shared.dead_letter_retry.exhausted(attempt) {
                    return exhausted(msg, "dead-letter write", attempt + 1, e);
                }
                tracing::error!(error = %e, "dead-letter write failed; offset not committed");
                if !backoff(&shared.stop, shared.dead_letter_retry.backoff(attempt)).await {
                    return Outcome::Abandoned;
                }
                attempt += 1;
            }
        }
    }
}

impl<T: TdaTopic, H> Shared<T, H> {
    /// Settles a finished record: stores the offset of a done one (unless
    /// its partition was revoked since it was fetched: a record finished
    /// then is redelivered to the new owner), fails the run on a failed one.
    pub(super) fn settle(&self, finished: Finished<'_>) {
        match finished.outcome {
            Outcome::Done => self.store(&finished.msg, finished.generation),
            Outcome::Failed(e) => self.fail(e),
            Outcome::Abandoned | Outcome::Revoked => {}
        }
    }

    fn store(&self, msg: &BorrowedMessage<'_>, generation: u64) {
        if self.generations.get(msg.partition()) == generation {
            if let Err(e) = self.consumer.store_offset_from_message(msg) {
                tracing::warn!(error = %e, partition = msg.partition(), offset = msg.offset(), "offset not stored");
            }
        }
    }
}
