//! `tda_events`: system events and notifications.

use std::collections::HashMap;

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::tda_message;

/// Severity of a [`SystemEvent`].
///
/// Variants:
/// - `Debug`: Diagnostic detail.
/// - `Info`: Normal operation.
/// - `Warning`: Something to look at.
/// - `Error`: A failure.
/// - `Critical`: Needs a human now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[allow(missing_docs)] // AvroSchema forbids docs on unit variants; see the list above
#[avro(namespace = "io.tda.kafka.v1")]
pub enum EventSeverity {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

/// A message on `tda_events` (key: the event source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct SystemEvent {
    /// Unique id of the event.
    pub event_id: String,
    /// Dotted event type, e.g. `worker.started`.
    pub event_type: String,
    /// The service that emitted the event.
    pub source: String,
    /// How important it is.
    pub severity: EventSeverity,
    /// Human-readable text.
    pub message: String,
    /// Free-form attributes.
    #[serde(default)]
    pub attributes: HashMap<String, String>,
    /// When it happened.
    pub occurred_at_ms: i64,
}

tda_message!(SystemEvent, SystemEvent, 1);
