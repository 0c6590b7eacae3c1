//! The standard headers every TDA record carries.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Header: unique id of this record.
pub const MESSAGE_ID: &str = "tda-message-id";
/// Header: correlation (trace) id shared by related records.
pub const CORRELATION_ID: &str = "tda-correlation-id";
/// Header: how the value is encoded, see [`CONTENT_TYPE_JSON`] and [`CONTENT_TYPE_AVRO`].
pub const CONTENT_TYPE: &str = "content-type";
/// Header: [`crate::TdaMessage::SCHEMA_VERSION`] of the value type.
pub const SCHEMA_VERSION: &str = "tda-schema-version";
/// Header: when the producer created the record (ms since the epoch).
pub const PRODUCED_AT: &str = "tda-produced-at";
/// Dead-letter header: topic of the original record.
pub const ORIGIN_TOPIC: &str = "tda-origin-topic";
/// Dead-letter header: partition of the original record.
pub const ORIGIN_PARTITION: &str = "tda-origin-partition";
/// Dead-letter header: offset of the original record.
pub const ORIGIN_OFFSET: &str = "tda-origin-offset";
/// Dead-letter header: the error kind.
pub const ERROR_KIND: &str = "tda-error-kind";
/// Dead-letter header: the error message.
pub const ERROR_MESSAGE: &str = "tda-error";

/// Content type of JSON values.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// Content type of Avro values in the Confluent wire format.
pub const CONTENT_TYPE_AVRO: &str = "application/vnd.confluent.avro";

/// The standard headers of a record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StandardHeaders {
    /// Unique id of this record.
    pub message_id: String,
    /// Correlation (trace) id, if any.
    pub correlation_id: Option<String>,
    /// Encoding of the value.
    pub content_type: String,
    /// Schema version of the value type.
    pub schema_version: u32,
    /// Creation time, ms since the epoch.
    pub produced_at_ms: i64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A process-unique message id: time, process id and a sequence number.
pub fn new_message_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:016x}-{:x}-{seq:x}", std::process::id())
}

impl StandardHeaders {
    /// Lowers the headers into Kafka record headers, plus `extra` ones.
    pub fn to_kafka(&self, extra: &[(&str, &str)]) -> OwnedHeaders {
        let version = self.schema_version.to_string();
        let produced = self.produced_at_ms.to_string();
        let mut h = OwnedHeaders::new_with_capacity(5 + extra.len())
            .insert(Header {
                key: MESSAGE_ID,
                value: Some(self.message_id.as_str()),
            })
            .insert(Header {
                key: CONTENT_TYPE,
                value: Some(self.content_type.as_str()),
            })
            .insert(Header {
                key: SCHEMA_VERSION,
                value: Some(version.as_str()),
            })
            .insert(Header {
                key: PRODUCED_AT,
                value: Some(produced.as_str()),
            });
        if let Some(c) = &self.correlation_id {
            h = h.insert(Header {
                key: CORRELATION_ID,
                value: Some(c.as_str()),
            });
        }
        for (k, v) in extra {
            h = h.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        h
    }

    /// Reads the standard headers of a consumed record; missing ones stay empty.
    pub fn from_kafka<H: Headers>(headers: Option<&H>) -> Self {
        let mut out = Self::default();
        let Some(headers) = headers else { return out };
        for h in headers.iter() {
            let Some(v) = h.value.and_then(|v| std::str::from_utf8(v).ok()) else {
                continue;
            };
            match h.key {
                MESSAGE_ID => out.message_id = v.to_owned(),
                CORRELATION_ID => out.correlation_id = Some(v.to_owned()),
                CONTENT_TYPE => out.content_type = v.to_owned(),
                SCHEMA_VERSION => out.schema_version = v.parse().unwrap_or(0),
                PRODUCED_AT => out.produced_at_ms = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        out
    }
}

/// The value of header `key` as UTF-8, if present.
pub fn header_str<'a, H: Headers>(headers: &'a H, key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_through_kafka_headers() {
        let h = StandardHeaders {
            message_id: new_message_id(),
            correlation_id: Some("trace-1".into()),
            content_type: CONTENT_TYPE_AVRO.into(),
            schema_version: 3,
            produced_at_ms: 1_700_000_000_000,
        };
        let k = h.to_kafka(&[(ORIGIN_TOPIC, "tda_jobs")]);
        assert_eq!(StandardHeaders::from_kafka(Some(&k)), h);
        assert_eq!(header_str(&k, ORIGIN_TOPIC), Some("tda_jobs"));
        assert_ne!(new_message_id(), new_message_id());
    }
}
