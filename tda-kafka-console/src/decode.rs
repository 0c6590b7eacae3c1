//! How a record's bytes are shown: Avro (Confluent wire format) decoded with
//! the writer schema from the registry, JSON pretty-printed, UTF-8 text as
//! is, anything else as hex.

use std::sync::Arc;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::Schema;
use serde_json::Value;
use tda_kafka_client::registry::split_frame;

use crate::server::AppState;
use crate::{ConsoleError, Result};

/// A value as the browser shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shown {
    /// No bytes (tombstone).
    Null,
    /// Avro decoded to JSON with the writer schema `schema_id`.
    Avro {
        /// Registry id of the writer schema.
        schema_id: u32,
        /// Pretty JSON.
        text: String,
    },
    /// An Avro frame that could not be decoded.
    AvroError {
        /// Registry id named in the frame.
        schema_id: u32,
        /// Why.
        error: String,
        /// The bytes as hex.
        hex: String,
    },
    /// Pretty JSON.
    Json(String),
    /// UTF-8 text.
    Text(String),
    /// Bytes as hex.
    Hex(String),
}

impl Shown {
    /// A short name of the encoding.
    pub(crate) fn kind(&self) -> String {
        match self {
            Self::Null => "null".into(),
            Self::Avro { schema_id, .. } => format!("avro (schema {schema_id})"),
            Self::AvroError { schema_id, .. } => format!("avro (schema {schema_id}, undecodable)"),
            Self::Json(_) => "json".into(),
            Self::Text(_) => "text".into(),
            Self::Hex(_) => "bytes (hex)".into(),
        }
    }

    /// The text shown (and searched).
    pub(crate) fn text(&self) -> &str {
        match self {
            Self::Null => "",
            Self::Avro { text, .. } | Self::Json(text) | Self::Text(text) | Self::Hex(text) => text,
            Self::AvroError { hex, .. } => hex,
        }
    }
}

/// Hex of `bytes`, space every 4 bytes, cut at 4 KiB.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().min(4096) * 2 + bytes.len() / 4);
    for (i, b) in bytes.iter().take(4096).enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    if bytes.len() > 4096 {
        out.push_str(&format!(" … ({} bytes)", bytes.len()));
    }
    out
}

/// Bytes that are not Avro: JSON pretty, else text, else hex.
pub(crate) fn show_plain(bytes: &[u8]) -> Shown {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        if v.is_object() || v.is_array() {
            return Shown::Json(serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && !c.is_whitespace()) => Shown::Text(s.into()),
        _ => Shown::Hex(hex(bytes)),
    }
}

/// Shows a value: an Avro frame (magic byte 0) is decoded when a registry
/// is configured; everything else goes through [`show_plain`].
pub(crate) async fn show(state: &AppState, bytes: Option<&[u8]>) -> Shown {
    let Some(bytes) = bytes else {
        return Shown::Null;
    };
    let framed = bytes.len() > 5 && bytes[0] == 0 && state.opts.registry_url.is_some();
    if !framed {
        return show_plain(bytes);
    }
    let Ok((id, datum)) = split_frame(bytes) else {
        return show_plain(bytes);
    };
    match decode_avro(state, id, datum).await {
        Ok(v) => Shown::Avro {
            schema_id: id,
            text: serde_json::to_string_pretty(&v).unwrap_or_default(),
        },
        Err(e) => Shown::AvroError {
            schema_id: id,
            error: e.to_string(),
            hex: hex(bytes),
        },
    }
}

/// The writer schema `id`, fetched once from the registry.
pub(crate) async fn schema_by_id(state: &AppState, id: u32) -> Result<Arc<Schema>> {
    if let Some(s) = state
        .schemas
        .read()
        .map_err(|_| ConsoleError::input("schema cache poisoned"))?
        .get(&id)
    {
        return Ok(s.clone());
    }
    let v = state.registry()?.schema_by_id(i64::from(id)).await?;
    let text = v.get("schema").and_then(Value::as_str).ok_or_else(|| {
        ConsoleError::input(format!("registry answer for schema {id} has no schema"))
    })?;
    let schema = Arc::new(
        Schema::parse_str(text)
            .map_err(|e| ConsoleError::input(format!("schema {id} does not parse: {e}")))?,
    );
    if let Ok(mut cache) = state.schemas.write() {
        cache.insert(id, schema.clone());
    }
    Ok(schema)
}

async fn decode_avro(state: &AppState, id: u32, datum: &[u8]) -> Result<Value> {
    let schema = schema_by_id(state, id).await?;
    let reader = GenericDatumReader::builder(&schema)
        .build()
        .map_err(|e| ConsoleError::input(format!("reader for schema {id}: {e}")))?;
    let mut cursor = datum;
    let value = reader
        .read_value(&mut cursor)
        .map_err(|e| ConsoleError::input(format!("avro datum (schema {id}): {e}")))?;
    Value::try_from(value).map_err(|e| ConsoleError::input(format!("avro value to JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_classified() {
        assert!(matches!(show_plain(br#"{"a":1}"#), Shown::Json(t) if t.contains("\"a\": 1")));
        assert_eq!(show_plain(b"hello"), Shown::Text("hello".into()));
        assert_eq!(
            show_plain(&[0xff, 0, 1, 2, 3]),
            Shown::Hex("ff000102 03".into())
        );
        assert_eq!(Shown::Null.text(), "");
    }
}
