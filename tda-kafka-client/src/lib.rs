//! Typed Kafka clients for the TDA (topological data analysis) topics.
//!
//! - [`model`]: the versioned messages of `tda_jobs`, `tda_results`,
//!   `tda_events`, `tda_uploads` and `tda_errors`.
//! - [`TdaTopic`] / [`Topic`]: each topic bound to its key and value types at
//!   compile time.
//! - [`Codec`]: JSON, or Avro in the Confluent wire format with schemas in a
//!   Confluent-compatible Schema Registry ([`RegistryClient`]).
//! - [`TdaProducer`]: idempotent (acks=all, lz4, bounded in-flight), `send`
//!   returns partition and offset, [`TdaProducer::enqueue`] pipelines; only
//!   a definite rejection is [`ClientError::SendFailed`], anything the broker
//!   may have written is [`ClientError::OutcomeUnknown`].
//! - [`TdaConsumer`]: at-least-once with dead-letter routing to `tda_errors`;
//!   bounded retries, and [`TdaConsumer::run`] returns the error that stopped
//!   it.
//!
//! ```no_run
//! use tda_kafka_client::model::*;
//! use tda_kafka_client::{ClientSettings, Jobs, TdaProducer, Topic};
//!
//! # async fn demo() -> Result<(), tda_kafka_client::ClientError> {
//! let settings = ClientSettings::new("127.0.0.1:19092")
//!     .with_avro("http://127.0.0.1:8081/apis/ccompat/v7")?;
//! let producer = TdaProducer::new(&settings)?;
//! let event = JobEvent::now("job-1", JobLifecycle::Started(JobStarted { worker_id: "w1".into() }));
//! let at = producer.send(&Topic::<Jobs>::new(), &"job-1".to_string(), &event).await?;
//! println!("written to partition {} at offset {}", at.partition, at.offset);
//! # Ok(()) }
//! ```
//!
//! A job event cannot be sent to `tda_results`; this does not compile:
//!
//! ```compile_fail,E0308
//! use tda_kafka_client::model::*;
//! use tda_kafka_client::{Results, TdaProducer, Topic};
//!
//! async fn wrong(producer: &TdaProducer, event: &JobEvent) {
//!     let _ = producer.send(&Topic::<Results>::new(), &"job-1".to_string(), event).await;
//! }
//! ```
//!
//! while the same call on `tda_jobs` does:
//!
//! ```
//! use tda_kafka_client::model::*;
//! use tda_kafka_client::{Jobs, TdaProducer, Topic};
//!
//! async fn right(producer: &TdaProducer, event: &JobEvent) {
//!     let _ = producer.send(&Topic::<Jobs>::new(), &"job-1".to_string(), event).await;
//! }
//! ```

pub mod codec;
pub mod consumer;
pub mod error;
pub mod headers;
pub mod model;
pub mod producer;
pub mod registry;
pub mod settings;
pub mod topic;
pub mod workload;

pub use codec::Codec;
pub use consumer::{
    ConsumerCounters, ConsumerOptions, ConsumerStats, HandlerError, Received, RetryPolicy,
    TdaConsumer,
};
pub use error::{ClientError, DecodeErrorKind, Result};
pub use headers::StandardHeaders;
pub use model::TdaMessage;
pub use producer::{Delivered, PendingDelivery, ProducerStats, SendOptions, TdaProducer};
pub use registry::RegistryClient;
pub use settings::ClientSettings;
pub use topic::{Errors, Events, Jobs, MessageKey, Results, TdaTopic, Topic, Uploads};
