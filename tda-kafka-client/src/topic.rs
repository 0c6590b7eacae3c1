//! Compile-time binding of topics to their key and value types.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::model::{ErrorRecord, JobEvent, JobResult, SystemEvent, TdaMessage, UploadEvent};
use crate::ClientError;

/// A record key. Keys are UTF-8 strings on the wire (not Avro), so any
/// client can read them and partitioning stays stable across formats.
pub trait MessageKey: Send + Sync + Sized + 'static {
    /// The key as bytes.
    fn to_key_bytes(&self) -> Vec<u8>;
    /// Parses a key read from Kafka.
    fn from_key_bytes(bytes: &[u8]) -> Result<Self, ClientError>;
}

impl MessageKey for String {
    fn to_key_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn from_key_bytes(bytes: &[u8]) -> Result<Self, ClientError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::Decode {
            kind: crate::DecodeErrorKind::Undecodable,
            detail: format!("key is not UTF-8: {e}"),
        })
    }
}

/// A TDA topic: its default name and the types of its keys and values.
///
/// The producer and consumer are generic over this trait, so a value can only
/// be sent to a topic whose `Value` it is.
pub trait TdaTopic: Send + Sync + 'static {
    /// The topic's name in the TDA architecture.
    const NAME: &'static str;
    /// The record key.
    type Key: MessageKey;
    /// The record value.
    type Value: TdaMessage;
}

/// `tda_jobs`: job lifecycle events keyed by job id.
#[derive(Debug, Clone, Copy)]
pub struct Jobs;
/// `tda_results`: results keyed by job id (compacted).
#[derive(Debug, Clone, Copy)]
pub struct Results;
/// `tda_events`: system events keyed by source.
#[derive(Debug, Clone, Copy)]
pub struct Events;
/// `tda_uploads`: upload events keyed by upload id.
#[derive(Debug, Clone, Copy)]
pub struct Uploads;
/// `tda_errors`: error records and dead letters.
#[derive(Debug, Clone, Copy)]
pub struct Errors;

impl TdaTopic for Jobs {
    const NAME: &'static str = "tda_jobs";
    type Key = String;
    type Value = JobEvent;
}
impl TdaTopic for Results {
    const NAME: &'static str = "tda_results";
    type Key = String;
    type Value = JobResult;
}
impl TdaTopic for Events {
    const NAME: &'static str = "tda_events";
    type Key = String;
    type Value = SystemEvent;
}
impl TdaTopic for Uploads {
    const NAME: &'static str = "tda_uploads";
    type Key = String;
    type Value = UploadEvent;
}
impl TdaTopic for Errors {
    const NAME: &'static str = "tda_errors";
    type Key = String;
    type Value = ErrorRecord;
}

/// A concrete topic of kind `T`: [`TdaTopic::NAME`] by default, or another
/// name with the same types (a per-environment prefix, a test topic).
pub struct Topic<T: TdaTopic> {
    /// Shared, so that every pending delivery of this topic refers to it
    /// without a per-record copy.
    name: Arc<str>,
    _kind: PhantomData<fn() -> T>,
}

impl<T: TdaTopic> Topic<T> {
    /// The topic `T::NAME`.
    pub fn new() -> Self {
        Self {
            name: Arc::from(T::NAME),
            _kind: PhantomData,
        }
    }

    /// A topic named `name` carrying `T`'s key and value types.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Arc::from(name.into()),
            _kind: PhantomData,
        }
    }

    /// The topic name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The topic name, shared.
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }
}

impl<T: TdaTopic> Default for Topic<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TdaTopic> Clone for Topic<T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            _kind: PhantomData,
        }
    }
}

impl<T: TdaTopic> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Topic").field(&self.name).finish()
    }
}
