//! The standard headers every TDA record carries.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

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

/// This process's id, asked once (`getpid` is a system call).
fn pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Writes a process-unique message id: time, process id and a sequence number.
fn write_message_id(w: &mut impl fmt::Write) -> fmt::Result {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    write!(w, "{nanos:016x}-{:x}-{seq:x}", pid())
}

/// A process-unique message id: time, process id and a sequence number.
pub fn new_message_id() -> String {
    let mut s = String::with_capacity(48);
    // Writing to a String cannot fail.
    let _ = write_message_id(&mut s);
    s
}

/// A short string formatted on the stack (header values of the hot path).
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The headers of a typed send, equal to [`StandardHeaders::to_kafka`] of a
/// fresh message id and the current time, but built without intermediate
/// strings: the id and the numbers are formatted on the stack.
pub(crate) fn send_headers(
    content_type: &str,
    schema_version: u32,
    correlation_id: Option<&str>,
    extra: &[(String, String)],
) -> OwnedHeaders {
    use fmt::Write as _;
    let mut id = StackStr::<64>::new();
    let mut version = StackStr::<12>::new();
    let mut produced = StackStr::<24>::new();
    // All three fit: 16 + 1 + 8 + 1 + 16 hex digits, a u32, an i64.
    let _ = write_message_id(&mut id);
    let _ = write!(version, "{schema_version}");
    let _ = write!(produced, "{}", crate::model::now_ms());
    let mut h = OwnedHeaders::new_with_capacity(5 + extra.len())
        .insert(Header {
            key: MESSAGE_ID,
            value: Some(id.as_bytes()),
        })
        .insert(Header {
            key: CONTENT_TYPE,
            value: Some(content_type.as_bytes()),
        })
        .insert(Header {
            key: SCHEMA_VERSION,
            value: Some(version.as_bytes()),
        })
        .insert(Header {
            key: PRODUCED_AT,
            value: Some(produced.as_bytes()),
        });
    if let Some(c) = correlation_id {
        h = h.insert(Header {
            key: CORRELATION_ID,
            value: Some(c.as_bytes()),
        });
    }
    for (k, v) in extra {
        h = h.insert(Header {
            key: k.as_str(),
            value: Some(v.as_bytes()),
        });
    }
    h
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

    #[test]
    fn send_headers_match_the_standard_ones() {
        let extra = [(ORIGIN_TOPIC.to_string(), "tda_jobs".to_string())];
        let k = send_headers(CONTENT_TYPE_AVRO, 3, Some("trace-1"), &extra);
        let h = StandardHeaders::from_kafka(Some(&k));
        assert_eq!(h.content_type, CONTENT_TYPE_AVRO);
        assert_eq!(h.schema_version, 3);
        assert_eq!(h.correlation_id.as_deref(), Some("trace-1"));
        assert!((crate::model::now_ms() - h.produced_at_ms).abs() < 60_000);
        assert_eq!(h.message_id.len(), new_message_id().len());
        assert_eq!(header_str(&k, ORIGIN_TOPIC), Some("tda_jobs"));
    }
}
