//! Value encodings: JSON or Avro (Confluent wire format).

use std::sync::Arc;

use crate::error::{ClientError, DecodeErrorKind, Result};
use crate::headers::{CONTENT_TYPE_AVRO, CONTENT_TYPE_JSON};
use crate::model::TdaMessage;
use crate::registry::RegistryClient;

/// How values are encoded on the wire.
#[derive(Debug, Clone)]
pub enum Codec {
    /// `serde_json`; no registry.
    Json,
    /// Avro in the Confluent wire format, schemas in a registry.
    Avro(Arc<RegistryClient>),
}

impl Codec {
    /// The `content-type` header value of this encoding.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Json => CONTENT_TYPE_JSON,
            Self::Avro(_) => CONTENT_TYPE_AVRO,
        }
    }

    /// The registry client, for Avro.
    pub fn registry(&self) -> Option<&Arc<RegistryClient>> {
        match self {
            Self::Json => None,
            Self::Avro(r) => Some(r),
        }
    }

    /// Encodes `value` for `topic`.
    pub async fn encode<M: TdaMessage>(&self, topic: &str, value: &M) -> Result<Vec<u8>> {
        match self {
            Self::Json => serde_json::to_vec(value).map_err(|e| ClientError::Encode {
                topic: topic.into(),
                detail: e.to_string(),
            }),
            Self::Avro(r) => r.encode(topic, value).await,
        }
    }

    /// Decodes bytes into `M`. Errors that are not retriable are poison.
    pub async fn decode<M: TdaMessage>(&self, bytes: &[u8]) -> Result<M> {
        match self {
            Self::Json => serde_json::from_slice(bytes).map_err(|e| ClientError::Decode {
                kind: DecodeErrorKind::Undecodable,
                detail: format!("json: {e}"),
            }),
            Self::Avro(r) => r.decode(bytes).await,
        }
    }
}
